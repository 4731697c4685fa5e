#!/usr/bin/env python3
"""Checks that the Rust the project claims is one its locked crates build on.

The newest `rust-version` among the crates in Cargo.lock (read from cargo's
registry, so run it after a build has fetched them) must be at most the
workspace's `rust-version` and the Rust of `deploy/Dockerfile`'s build image.
"""
import glob
import os
import re
import sys


def version(text):
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


lock = open("Cargo.lock", encoding="utf-8").read()
packages = re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"\nsource = "registry', lock)
roots = glob.glob(os.path.expanduser("~/.cargo/registry/src/*/"))
newest, needs = (0,), None
for name, ver in packages:
    for root in roots:
        manifest = os.path.join(root, f"{name}-{ver}", "Cargo.toml")
        if os.path.exists(manifest):
            found = re.search(r'^rust-version\s*=\s*"([^"]+)"', open(manifest, encoding="utf-8").read(), re.M)
            if found and version(found.group(1)) > newest:
                newest, needs = version(found.group(1)), f"{name} {ver}"
            break
claimed = re.search(r'^rust-version\s*=\s*"([^"]+)"', open("Cargo.toml", encoding="utf-8").read(), re.M)
image = re.search(r"^FROM rust:(\d+\.\d+(?:\.\d+)?)", open("deploy/Dockerfile", encoding="utf-8").read(), re.M)
if not claimed or not image:
    sys.exit("no rust-version in Cargo.toml or no `FROM rust:X.Y` in deploy/Dockerfile")
shown = ".".join(map(str, newest))
print(f"newest rust-version among locked crates: {shown} ({needs}); Cargo.toml says {claimed.group(1)}, the Dockerfile builds with {image.group(1)}")
bad = [what for what, v in (("Cargo.toml's rust-version", claimed.group(1)), ("deploy/Dockerfile's rust image", image.group(1))) if version(v) < newest]
for what in bad:
    print(f"{what} is older than {shown}, which {needs} needs", file=sys.stderr)
sys.exit(1 if bad else 0)
