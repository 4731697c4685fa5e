//! Property tests for the plugin and theme zip checker (`zipcheck::check`):
//! any bytes are refused or read without a panic, a zip whose entries all
//! stay in one folder passes, and one escaping, linked, disguised or
//! oversized entry among them always makes it fail.
//!
//! `PROPTEST_CASES` sets the case count for long runs (`docs/benchmarks.md`).

use std::collections::BTreeMap;
use std::io::Write;

use gsw_php_ext::zipcheck::{check, ZipRefusal};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        // Filtered-out inputs must not end a long run.
        max_local_rejects: cases.saturating_mul(4).max(65_536),
        ..Config::default()
    }
}

/// One entry of a hand-written stored zip, so a test can write what real
/// archivers refuse to: escaping names, links, a local header that lies.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    local_name: Option<String>,
    data: Vec<u8>,
    mode: u32,
}

impl Entry {
    fn file(name: impl Into<String>, data: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            local_name: None,
            data,
            mode: 0o100_644,
        }
    }
}

fn write_zip(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let local_name = e.local_name.as_deref().unwrap_or(&e.name);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0]); // version, flags
        out.extend_from_slice(&[0; 10]); // method, time, date, crc (unchecked)
        out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(local_name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(local_name.as_bytes());
        out.extend_from_slice(&e.data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 3, 20, 0, 0, 0]); // made by (Unix), needed, flags
        central.extend_from_slice(&[0; 10]);
        central.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 8]); // extra, comment, disk, internal
        central.extend_from_slice(&(e.mode << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(e.name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A plugin or theme: its slug and files (relative to the slug's folder).
#[derive(Debug, Clone)]
struct Plugin {
    slug: String,
    files: BTreeMap<String, Vec<u8>>,
}

impl Plugin {
    fn entries(&self) -> Vec<Entry> {
        self.files
            .iter()
            .map(|(path, data)| Entry::file(format!("{}/{path}", self.slug), data.clone()))
            .collect()
    }

    fn unpacked(&self) -> u64 {
        self.files.values().map(|d| d.len() as u64).sum()
    }

    /// The same plugin as the `zip` crate writes it, a folder entry first.
    fn real_zip(&self) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.add_directory(format!("{}/", self.slug), options)
            .unwrap();
        for (path, data) in &self.files {
            zip.start_file(format!("{}/{path}", self.slug), options)
                .unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }
}

fn plugin() -> impl Strategy<Value = Plugin> {
    let part = "[a-z0-9_-][a-zA-Z0-9_.-]{0,7}";
    let path = prop::collection::vec(part, 1..4).prop_map(|parts| parts.join("/"));
    (
        "[a-z0-9][a-z0-9_.-]{0,11}",
        prop::collection::btree_map(path, prop::collection::vec(any::<u8>(), 0..200), 1..8),
    )
        .prop_map(|(slug, files)| Plugin { slug, files })
        // A file and a folder of the same name cannot both be in a zip.
        .prop_filter("no file is also a folder", |p| {
            p.files
                .keys()
                .all(|a| !p.files.keys().any(|b| b.starts_with(&format!("{a}/"))))
        })
}

/// A name that leaves the plugin's folder, or is absolute, or smuggles a
/// separator or drive in.
fn escaping_name(slug: String) -> impl Strategy<Value = String> {
    let file = "[a-z]{1,8}\\.php";
    (file, 0..9usize).prop_map(move |(file, how)| match how {
        0 => format!("{slug}/../{file}"),
        1 => format!("../{file}"),
        2 => format!("{slug}/inc/../../{file}"),
        3 => format!("{slug}/.."),
        4 => format!("/{slug}/{file}"),
        5 => format!("/{file}"),
        6 => format!("{slug}\\..\\..\\{file}"),
        7 => format!("C:/{slug}/{file}"),
        _ => format!("{slug}/{file}\0.txt"),
    })
}

/// What makes a zip unsafe, added to an otherwise good one.
#[derive(Debug, Clone)]
enum Flaw {
    Escaping(String),
    Link(String),
    Disguised(String),
    OtherFolder(String),
    Oversized,
}

fn flawed_plugin() -> impl Strategy<Value = (Plugin, Flaw, prop::sample::Index)> {
    plugin().prop_flat_map(|p| {
        let slug = p.slug.clone();
        let flaw = prop_oneof![
            escaping_name(slug.clone()).prop_map(Flaw::Escaping),
            "[a-z]{1,8}".prop_map(Flaw::Link),
            escaping_name(slug.clone()).prop_map(Flaw::Disguised),
            "[a-z0-9][a-z0-9_-]{0,11}"
                .prop_filter("another folder", move |other| *other != slug)
                .prop_map(Flaw::OtherFolder),
            Just(Flaw::Oversized),
        ];
        (Just(p), flaw, any::<prop::sample::Index>())
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024), limit in any::<u64>()) {
        let _ = check(&bytes, limit);
    }

    #[test]
    fn arbitrary_bytes_behind_an_end_record_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..512),
        fields in prop::array::uniform4(prop_oneof![0u16..8, any::<u16>()]),
        cd in (0u32..600, 0u32..600),
        limit in any::<u64>(),
    ) {
        // An end record that points into the body, so the directory is read.
        let mut bytes = body;
        bytes.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&fields[0].to_le_bytes());
        bytes.extend_from_slice(&fields[0].to_le_bytes());
        bytes.extend_from_slice(&cd.1.to_le_bytes());
        bytes.extend_from_slice(&cd.0.to_le_bytes());
        bytes.extend_from_slice(&0u16.to_le_bytes());
        let _ = check(&bytes, limit);
    }

    #[test]
    fn a_plugin_in_one_folder_passes(p in plugin()) {
        for (bytes, entries) in [
            (write_zip(&p.entries()), p.files.len()),
            (p.real_zip(), p.files.len() + 1),
        ] {
            let checked = check(&bytes, p.unpacked())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&checked.folder, &p.slug);
            prop_assert_eq!(checked.entries, entries);
            prop_assert_eq!(checked.unpacked_bytes, p.unpacked());
        }
    }

    #[test]
    fn one_unsafe_entry_refuses_the_zip((p, flaw, at) in flawed_plugin()) {
        let mut entries = p.entries();
        let mut limit = p.unpacked() + 1000;
        let extra = match &flaw {
            Flaw::Escaping(name) => Some(Entry::file(name.clone(), b"<?php".to_vec())),
            Flaw::Link(name) => Some(Entry {
                mode: 0o120_777,
                ..Entry::file(format!("{}/{name}", p.slug), b"../../../wp-config.php".to_vec())
            }),
            Flaw::Disguised(local) => Some(Entry {
                local_name: Some(local.clone()),
                ..Entry::file(format!("{}/harmless.php", p.slug), b"<?php".to_vec())
            }),
            Flaw::OtherFolder(other) => Some(Entry::file(format!("{other}/x.php"), vec![])),
            Flaw::Oversized => {
                limit = p.unpacked().saturating_sub(1);
                entries.push(Entry::file(format!("{}/big.bin", p.slug), vec![0; 64]));
                None
            }
        };
        if let Some(extra) = extra {
            entries.insert(at.index(entries.len() + 1), extra);
        }
        let outcome = check(&write_zip(&entries), limit);
        let refused_as_it_should = match (&flaw, &outcome) {
            (Flaw::Escaping(_) | Flaw::Disguised(_), Err(ZipRefusal::UnsafeEntry { .. })) => true,
            (Flaw::Link(_), Err(ZipRefusal::Link(_))) => true,
            (Flaw::OtherFolder(_), Err(ZipRefusal::SeveralFolders(..))) => true,
            (Flaw::Oversized, Err(ZipRefusal::TooLarge { .. })) => true,
            // Every other entry is good, so the flaw is what must be named.
            _ => false,
        };
        prop_assert!(refused_as_it_should, "{flaw:?}: {outcome:?}");
    }

    #[test]
    fn a_damaged_zip_never_panics_nor_leaves_its_folder(
        p in plugin(),
        at in any::<prop::sample::Index>(),
        flip in 1..=u8::MAX,
        cut in any::<bool>(),
    ) {
        let mut bytes = write_zip(&p.entries());
        let i = at.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] ^= flip;
        }
        if let Ok(checked) = check(&bytes, u64::MAX) {
            prop_assert_eq!(checked.folder, p.slug);
        }
    }
}
