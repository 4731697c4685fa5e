//! The layout the Debian package installs (`deploy/debian`), and what an
//! agent just enrolled tells its user to run next: a command that works as
//! printed, whichever way the agent was installed.

use std::path::{Path, PathBuf};

use crate::config::{AgentConfig, ApplyTarget};

/// The systemd service the package installs.
pub const SERVICE: &str = "gsw-agent";
/// Where the package puts the agent.
pub const PACKAGED_BINARY: &str = "/usr/bin/wp-agent";
/// The state folder: the default of `--state-dir`, and the one the
/// packaged service runs with.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/gsw-agent";
/// The packaged unit, in either of the folders Debian installs units to.
const UNIT_FILES: [&str; 2] = [
    "/lib/systemd/system/gsw-agent.service",
    "/usr/lib/systemd/system/gsw-agent.service",
];
/// The one folder besides the state folder the packaged unit may write
/// (`ReadWritePaths=-/var/www`); anywhere else needs a drop-in.
pub const UNIT_WRITABLE: &str = "/var/www";
/// The drop-in that lets the service write a WordPress elsewhere.
pub const WORDPRESS_DROP_IN: &str = "/etc/systemd/system/gsw-agent.service.d/wordpress.conf";

/// How this `wp-agent` was installed, as far as the next command cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// This is the packaged binary and its systemd unit is installed.
    pub packaged: bool,
    /// How to name this binary in a command: `wp-agent` when that is what
    /// the `PATH` finds, else its full path.
    pub program: String,
}

impl Installation {
    /// Looks at the running binary, the `PATH` and the packaged unit.
    pub fn detect() -> Self {
        let exe = std::env::current_exe().and_then(|e| e.canonicalize()).ok();
        let on_path = std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join("wp-agent"))
                    .find(|candidate| candidate.is_file())
            })
            .and_then(|found| found.canonicalize().ok());
        let program = match &exe {
            Some(exe) if on_path.as_ref() == Some(exe) => "wp-agent".to_owned(),
            Some(exe) => shell_word(&exe.display().to_string()),
            None => "wp-agent".to_owned(),
        };
        let packaged = exe.as_deref() == Path::new(PACKAGED_BINARY).canonicalize().ok().as_deref()
            && UNIT_FILES.iter().any(|unit| Path::new(unit).is_file());
        Self { packaged, program }
    }
}

/// Refuses to enroll a packaged agent into the packaged state folder as
/// another user than the folder's owner (gsw-agent): root would write an
/// identity the service cannot read, and install the connector as root.
pub fn check_enrolling_user(install: &Installation, state_dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !install.packaged || state_dir != Path::new(DEFAULT_STATE_DIR) {
        return Ok(());
    }
    let (Ok(folder), Ok(me)) = (
        std::fs::metadata(state_dir),
        std::fs::metadata("/proc/self"),
    ) else {
        return Ok(());
    };
    anyhow::ensure!(
        folder.uid() == me.uid(),
        "{DEFAULT_STATE_DIR} belongs to the {SERVICE} user, which the service runs as: enroll as that user, `sudo -u {SERVICE} wp-agent enroll …`"
    );
    Ok(())
}

/// What to tell the user after enrolling into `state_dir` (absolute): the
/// systemd service for a packaged agent in the packaged state folder (after
/// a drop-in when it must write outside the unit's folders), otherwise the
/// exact `run` command, with `--state-dir` unless it is the default.
pub fn next_steps(install: &Installation, state_dir: &Path, config: &AgentConfig) -> String {
    let default_state = state_dir == Path::new(DEFAULT_STATE_DIR);
    if install.packaged && default_state {
        let mut steps = String::new();
        if let Some(path) = needs_drop_in(config, state_dir) {
            let mut lines = vec![
                "[Service]".to_owned(),
                format!("ReadWritePaths={}", unit_value(&path)),
            ];
            if under_home(&path) {
                lines.push("ProtectHome=read-only".to_owned());
            }
            let lines: Vec<String> = lines.iter().map(|l| shell_word(l)).collect();
            let dir = Path::new(WORDPRESS_DROP_IN)
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            steps.push_str(&format!(
                "The {SERVICE} service may write only to {DEFAULT_STATE_DIR} and under {UNIT_WRITABLE}; let it write {} first:\n  sudo mkdir -p {dir}\n  printf '%s\\n' {} | sudo tee {WORDPRESS_DROP_IN} >/dev/null\n",
                path.display(),
                lines.join(" "),
            ));
        }
        steps.push_str(&format!(
            "Start it with: sudo systemctl enable --now {SERVICE}"
        ));
        return steps;
    }
    let mut command = install.program.clone();
    if !default_state {
        command.push_str(" --state-dir ");
        command.push_str(&shell_word(&state_dir.display().to_string()));
    }
    command.push_str(" run");
    format!("Start it with: {command}")
}

/// The folder the agent writes besides its state folder, when the packaged
/// unit does not already let it.
fn needs_drop_in(config: &AgentConfig, state_dir: &Path) -> Option<PathBuf> {
    let written = match config.target {
        ApplyTarget::Wordpress => &config.wp_path,
        ApplyTarget::Folder => &config.apply_dir,
    };
    let allowed = written.starts_with(state_dir) || written.starts_with(UNIT_WRITABLE);
    (!allowed).then(|| written.clone())
}

fn under_home(path: &Path) -> bool {
    ["/home", "/root", "/run/user"]
        .iter()
        .any(|home| path.starts_with(home))
}

/// A path as one value of a unit's `ReadWritePaths=`: `%` doubled (systemd
/// reads it as a specifier), and in double quotes with `\` and `"` escaped
/// when it holds anything else than plain path characters.
fn unit_value(path: &Path) -> String {
    let text = path.display().to_string().replace('%', "%%");
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,%".contains(c))
    {
        return text;
    }
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `word` as one shell word: as it is when it holds nothing a shell reads
/// specially, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn config(target: ApplyTarget, wp_path: &str, apply_dir: &str) -> AgentConfig {
        AgentConfig {
            server: "https://gsw.example.com".into(),
            agent_id: Uuid::nil(),
            site_id: Uuid::nil(),
            secret_key: String::new(),
            bundle_signing_key: String::new(),
            connect_path: String::new(),
            wp_path: wp_path.into(),
            target,
            apply_dir: apply_dir.into(),
            php: None,
            php_extension: None,
            apply_timeout_secs: 600,
            keep_snapshots: 30,
            ca_cert: None,
            max_bundle_bytes: 1,
            insecure: false,
        }
    }

    fn packaged() -> Installation {
        Installation {
            packaged: true,
            program: "wp-agent".into(),
        }
    }

    #[test]
    fn a_packaged_agent_in_the_packaged_state_folder_is_started_by_systemd() {
        let wordpress = config(ApplyTarget::Wordpress, "/var/www/html", "/x");
        let said = next_steps(&packaged(), Path::new(DEFAULT_STATE_DIR), &wordpress);
        assert_eq!(said, "Start it with: sudo systemctl enable --now gsw-agent");
        let folder = config(ApplyTarget::Folder, "", "/var/lib/gsw-agent/site");
        let said = next_steps(&packaged(), Path::new(DEFAULT_STATE_DIR), &folder);
        assert_eq!(said, "Start it with: sudo systemctl enable --now gsw-agent");
    }

    #[test]
    fn a_wordpress_the_unit_may_not_write_gets_a_drop_in_first() {
        let wordpress = config(ApplyTarget::Wordpress, "/srv/my site", "/x");
        let said = next_steps(&packaged(), Path::new(DEFAULT_STATE_DIR), &wordpress);
        assert!(
            said.contains("sudo mkdir -p /etc/systemd/system/gsw-agent.service.d\n"),
            "{said}"
        );
        assert!(
            said.contains(r#"printf '%s\n' '[Service]' 'ReadWritePaths="/srv/my site"' | sudo tee /etc/systemd/system/gsw-agent.service.d/wordpress.conf >/dev/null"#),
            "{said}"
        );
        assert!(said.ends_with("Start it with: sudo systemctl enable --now gsw-agent"));
        let home = config(ApplyTarget::Wordpress, "/home/ada/public_html", "/x");
        let said = next_steps(&packaged(), Path::new(DEFAULT_STATE_DIR), &home);
        assert!(
            said.contains(
                "'[Service]' ReadWritePaths=/home/ada/public_html ProtectHome=read-only |"
            ),
            "{said}"
        );
        // A look-alike of the writable folder is not inside it.
        let lookalike = config(ApplyTarget::Wordpress, "/var/www2/html", "/x");
        let said = next_steps(&packaged(), Path::new(DEFAULT_STATE_DIR), &lookalike);
        assert!(said.contains("ReadWritePaths=/var/www2/html"), "{said}");
    }

    #[test]
    fn elsewhere_the_run_command_names_the_state_folder_unless_default() {
        let folder = config(ApplyTarget::Folder, "", "/tmp/s/site");
        let unpackaged = Installation {
            packaged: false,
            program: "/opt/my tools/wp-agent".into(),
        };
        assert_eq!(
            next_steps(&unpackaged, Path::new(DEFAULT_STATE_DIR), &folder),
            "Start it with: /opt/my tools/wp-agent run"
        );
        assert_eq!(
            next_steps(&packaged(), Path::new("/tmp/s"), &folder),
            "Start it with: wp-agent --state-dir /tmp/s run"
        );
        assert_eq!(
            next_steps(&packaged(), Path::new("/tmp/it's here"), &folder),
            "Start it with: wp-agent --state-dir '/tmp/it'\\''s here' run"
        );
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/var/lib/gsw-agent"), "/var/lib/gsw-agent");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word(""), "''");
    }
}
