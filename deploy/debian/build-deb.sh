#!/usr/bin/env bash
# Builds the gsw-agent Debian package: wp-agent, the gsw PHP extension built
# against one PHP (the one `php-config` names), and the hardened systemd unit.
#
#   deploy/debian/build-deb.sh [--profile release|dev] [--out DIR]
#
# Another PHP: install its php<X.Y>-cli and php<X.Y>-dev, then
#   PHP_CONFIG=php-config8.3 deploy/debian/build-deb.sh
# The package then depends on that PHP (php8.3-cli, php8.3-mysql and its
# extension API) and the agent runs it, whatever `php` is.
#
# Needs cargo, dpkg-dev (dpkg-shlibdeps), binutils, libclang-dev and the PHP's
# -dev package; downloads nothing but crates. Prints the .deb's path last.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/deploy/debian"
profile=release
out="$root/target/debian"

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="${2:?--profile needs release or dev}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "build-deb.sh: unknown argument $1" >&2; usage ;;
  esac
done
case "$profile" in
  release) profile_dir=release ;;
  dev) profile_dir=debug ;;
  *) echo "build-deb.sh: --profile is release or dev, not $profile" >&2; exit 2 ;;
esac

for tool in cargo dpkg-deb dpkg-shlibdeps strip; do
  command -v "$tool" >/dev/null || {
    echo "build-deb.sh: $tool is missing (apt-get install dpkg-dev binutils; cargo from rustup)" >&2
    exit 1
  }
done

# The PHP the extension is built for. PHP_CONFIG and PHP reach ext-php-rs's
# build only when given, so a default build shares cargo's cache with the tests.
php_config="${PHP_CONFIG:-php-config}"
if ! command -v "$php_config" >/dev/null; then
  echo "build-deb.sh: $php_config is missing: install php<version>-dev, or set PHP_CONFIG" >&2
  exit 1
fi
php_binary="$("$php_config" --php-binary)"
php_version="$("$php_config" --version)"
php_minor="$(printf '%s' "$php_version" | cut -d. -f1,2)"
php_api="$("$php_config" --phpapi)"
extension_dir="$("$php_config" --extension-dir)"
if [ ! -x "$php_binary" ]; then
  echo "build-deb.sh: $php_config names $php_binary, which is not installed: install php$php_minor-cli" >&2
  exit 1
fi
if [ -n "${PHP_CONFIG:-}" ]; then
  PHP_CONFIG="$(command -v "$php_config")"
  export PHP_CONFIG
  export PHP="${PHP:-$php_binary}"
fi

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)"
[ -n "$version" ] || { echo "build-deb.sh: no version in Cargo.toml" >&2; exit 1; }
deb_version="$version-1+php$php_minor"
arch="$(dpkg --print-architecture)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

echo "building wp-agent $version and the gsw extension for PHP $php_version ($profile)" >&2
(cd "$root" && cargo build --locked --profile "$profile" -p wp-agent -p gsw-php-ext)
agent_bin="$target_dir/$profile_dir/wp-agent"
extension="$target_dir/$profile_dir/libgsw_php_ext.so"

# The extension must load into the PHP it is packaged for.
if ! "$php_binary" -n -d "extension=$extension" \
  -r 'exit(function_exists("gsw_bundle_open") ? 0 : 1);'; then
  echo "build-deb.sh: $extension does not load into $php_binary" >&2
  exit 1
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/gsw-agent"
install -D -m 0755 "$agent_bin" "$pkg/usr/bin/wp-agent"
# In PHP's extension folder as gsw.so, where wp-agent looks (not enabled
# for the web server: only the agent's own PHP loads it, with -d extension=).
install -D -m 0644 "$extension" "$pkg$extension_dir/gsw.so"
# The PHP the agent runs (wp-agent looks for <prefix>/lib/gsw-agent/php).
install -d "$pkg/usr/lib/gsw-agent"
ln -s "$php_binary" "$pkg/usr/lib/gsw-agent/php"
strip --strip-debug "$pkg/usr/bin/wp-agent" "$pkg$extension_dir/gsw.so"
install -D -m 0644 "$here/gsw-agent.service" "$pkg/lib/systemd/system/gsw-agent.service"
install -D -m 0644 "$here/gsw-agent.default" "$pkg/etc/default/gsw-agent"
install -d "$pkg/usr/share/doc/gsw-agent"
cat >"$pkg/usr/share/doc/gsw-agent/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: gsWstudio
Source: $(sed -n 's/^repository = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)

Files: *
License: AGPL-3.0-only
 On Debian systems, the GNU Affero General Public License version 3 is at
 https://www.gnu.org/licenses/agpl-3.0.txt
EOF

# Shared libraries the two binaries need, as Debian names their packages.
mkdir -p "$stage/debian"
printf 'Source: gsw-agent\n\nPackage: gsw-agent\nArchitecture: any\n' >"$stage/debian/control"
shlibs="$(cd "$stage" && dpkg-shlibdeps -O --warnings=0 \
  -e"gsw-agent/usr/bin/wp-agent" -e"gsw-agent$extension_dir/gsw.so" 2>/dev/null \
  | sed -n 's/^shlibs:Depends=//p')"

mkdir -p "$pkg/DEBIAN"
cat >"$pkg/DEBIAN/control" <<EOF
Package: gsw-agent
Version: $deb_version
Architecture: $arch
Maintainer: gsWstudio maintainers <maintainers@example.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: adduser, php$php_minor-cli, php$php_minor-mysql, phpapi-$php_api${shlibs:+, $shlibs}
Section: web
Priority: optional
Homepage: https://example.invalid/gswstudio
Description: gsWstudio agent for WordPress hosts
 wp-agent dials out to a gsWstudio control plane over one WebSocket and
 applies the signed bundles it sends (pages, themes, plugins, settings)
 inside WordPress, through the gsw PHP extension (built for PHP $php_minor)
 and the gsw-connector plugin it installs.
 .
 It runs as the gsw-agent user under a hardened systemd unit. Enroll it with
 sudo -u gsw-agent wp-agent enroll, then systemctl enable --now gsw-agent.
EOF
echo /etc/default/gsw-agent >"$pkg/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/$script" "$pkg/DEBIAN/$script"
done

mkdir -p "$out"
deb="$out/gsw-agent_${deb_version}_$arch.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
