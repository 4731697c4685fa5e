//! Embeds the built dashboard (`web/dist`, committed, rebuilt and checked by
//! CI) so `cargo run` serves it on a machine without Node. Generates a table
//! of every file with its bytes (`include_bytes!`), content type and ETag.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// FNV-1a, 64 bits: an ETag that changes when the bytes do.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let dist = manifest.join("../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut found = Vec::new();
    files(&dist, &mut found);
    found.sort();
    let mut table = String::from("&[\n");
    for path in &found {
        // Directories are watched for added and removed files; files for edits.
        println!("cargo:rerun-if-changed={}", path.display());
        let relative = path
            .strip_prefix(&dist)
            .expect("inside dist")
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = fs::read(path).expect("reading a dist file");
        let absolute = path.canonicalize().expect("canonical path");
        writeln!(
            table,
            "    ({relative:?}, include_bytes!({absolute:?}), \"\\\"{:016x}\\\"\"),",
            fnv(&bytes)
        )
        .expect("writing to a string");
    }
    for dir in found.iter().filter_map(|p| p.parent()) {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    table.push(']');
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("dashboard.rs");
    fs::write(
        out,
        format!("/// `(path in dist, bytes, ETag)` of every file of the built dashboard.\npub static FILES: &[(&str, &[u8], &str)] = {table};\n"),
    )
    .expect("writing the dashboard table");
}
