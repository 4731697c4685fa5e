//! Reads a plugin or theme zip's central directory and refuses any entry
//! that would land outside the zip's one top-level folder.
//!
//! Written out rather than taken from a zip crate because the check must see
//! what PHP's extractors (PclZip, ZipArchive) will see: every entry as listed,
//! duplicates included, and each local header's own name, which a crafted zip
//! can make differ from the central directory's.

use std::collections::HashSet;
use std::fmt;

/// What a zip that passed holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipFolder {
    /// The one top-level folder every entry is in (the plugin or theme's slug).
    pub folder: String,
    /// Entries, directories included.
    pub entries: usize,
    /// Sum of the entries' declared uncompressed sizes.
    pub unpacked_bytes: u64,
}

/// Why a zip is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZipRefusal {
    /// Not a zip, truncated, or a form PHP's extractors do not read.
    Malformed(String),
    /// An entry whose name would escape, or is not inside the folder.
    UnsafeEntry { name: String, why: &'static str },
    /// A symbolic link entry.
    Link(String),
    /// Entries in more than one top-level folder.
    SeveralFolders(String, String),
    /// Unpacks to more than the limit.
    TooLarge { size: u64, limit: u64 },
}

impl fmt::Display for ZipRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "not a readable zip: {why}"),
            Self::UnsafeEntry { name, why } => write!(f, "entry {name:?} {why}"),
            Self::Link(name) => write!(f, "entry {name:?} is a symbolic link"),
            Self::SeveralFolders(a, b) => {
                write!(f, "entries are in two top-level folders, {a:?} and {b:?}")
            }
            Self::TooLarge { size, limit } => {
                write!(
                    f,
                    "entries unpack to {size} bytes, over the {limit}-byte limit"
                )
            }
        }
    }
}

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
const MAX_ENTRIES: usize = 100_000;
const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;
/// macOS archivers add this folder beside the real one; WordPress skips it.
const MACOS_METADATA: &str = "__MACOSX";

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn malformed(why: impl Into<String>) -> ZipRefusal {
    ZipRefusal::Malformed(why.into())
}

/// Finds the end-of-central-directory record: the last one whose comment
/// ends exactly at the end of the file.
fn end_record(bytes: &[u8]) -> Result<usize, ZipRefusal> {
    if bytes.len() < EOCD_LEN {
        return Err(malformed("too short"));
    }
    let last = bytes.len() - EOCD_LEN;
    let first = last.saturating_sub(u16::MAX as usize);
    (first..=last)
        .rev()
        .find(|&at| {
            u32_at(bytes, at) == Some(EOCD_SIGNATURE)
                && u16_at(bytes, at + 20).map(|c| at + EOCD_LEN + c as usize) == Some(bytes.len())
        })
        .ok_or_else(|| malformed("no end of central directory"))
}

/// Checks a zip's bytes; `limit` bounds the total unpacked size.
pub fn check(bytes: &[u8], limit: u64) -> Result<ZipFolder, ZipRefusal> {
    let eocd = end_record(bytes)?;
    let field = |at: usize| u16_at(bytes, eocd + at).unwrap_or(0);
    let (disk, cd_disk, on_disk, total) = (field(4), field(6), field(8), field(10));
    let cd_size = u32_at(bytes, eocd + 12).unwrap_or(0);
    let cd_offset = u32_at(bytes, eocd + 16).unwrap_or(0);
    if disk != 0 || cd_disk != 0 || on_disk != total {
        return Err(malformed("split across several disks"));
    }
    if total == u16::MAX || cd_size == u32::MAX || cd_offset == u32::MAX {
        return Err(malformed("zip64 archives are not supported"));
    }
    let (cd_start, cd_end) = (cd_offset as usize, cd_offset as usize + cd_size as usize);
    if cd_end > eocd {
        return Err(malformed("central directory overlaps its end record"));
    }

    let mut at = cd_start;
    let mut names = HashSet::new();
    let mut folder: Option<String> = None;
    let mut unpacked: u64 = 0;
    while at < cd_end {
        if names.len() >= MAX_ENTRIES {
            return Err(malformed(format!("more than {MAX_ENTRIES} entries")));
        }
        let header = bytes
            .get(at..at + CENTRAL_LEN)
            .filter(|h| u32_at(h, 0) == Some(CENTRAL_SIGNATURE))
            .ok_or_else(|| malformed("bad central directory entry"))?;
        let flags = u16_at(header, 8).unwrap_or(0);
        let size = u32_at(header, 24).unwrap_or(0);
        let name_len = u16_at(header, 28).unwrap_or(0) as usize;
        let extra_len = u16_at(header, 30).unwrap_or(0) as usize;
        let comment_len = u16_at(header, 32).unwrap_or(0) as usize;
        let external = u32_at(header, 38).unwrap_or(0);
        let local = u32_at(header, 42).unwrap_or(0) as usize;
        let raw_name = bytes
            .get(at + CENTRAL_LEN..at + CENTRAL_LEN + name_len)
            .ok_or_else(|| malformed("truncated central directory"))?;
        let name = std::str::from_utf8(raw_name)
            .map_err(|_| malformed("an entry name is not UTF-8"))?
            .to_owned();
        at += CENTRAL_LEN + name_len + extra_len + comment_len;
        if at > cd_end {
            return Err(malformed("central directory entry runs past its end"));
        }
        if size == u32::MAX {
            return Err(malformed("zip64 entries are not supported"));
        }
        if flags & 1 != 0 {
            return Err(ZipRefusal::UnsafeEntry {
                name,
                why: "is encrypted",
            });
        }
        // The local header's name is what some extractors use: it must agree.
        let local_header = bytes
            .get(local..local + LOCAL_LEN)
            .filter(|h| u32_at(h, 0) == Some(LOCAL_SIGNATURE) && local < cd_start)
            .ok_or_else(|| malformed(format!("entry {name:?} has no local header")))?;
        let local_name_len = u16_at(local_header, 26).unwrap_or(0) as usize;
        if bytes.get(local + LOCAL_LEN..local + LOCAL_LEN + local_name_len) != Some(raw_name) {
            return Err(ZipRefusal::UnsafeEntry {
                name,
                why: "has a different name in its local header",
            });
        }
        if (external >> 16) & S_IFMT == S_IFLNK {
            return Err(ZipRefusal::Link(name));
        }
        let top = check_name(&name)?;
        if !names.insert(name.clone()) {
            return Err(ZipRefusal::UnsafeEntry {
                name,
                why: "appears twice",
            });
        }
        unpacked = unpacked.saturating_add(size as u64);
        if unpacked > limit {
            return Err(ZipRefusal::TooLarge {
                size: unpacked,
                limit,
            });
        }
        if top == MACOS_METADATA {
            continue;
        }
        match &folder {
            None => folder = Some(top.to_owned()),
            Some(first) if first != top => {
                return Err(ZipRefusal::SeveralFolders(first.clone(), top.to_owned()))
            }
            Some(_) => {}
        }
    }
    if names.len() != total as usize {
        return Err(malformed(format!(
            "the end record counts {total} entries, the directory holds {}",
            names.len()
        )));
    }
    let folder = folder.ok_or_else(|| malformed("no entries"))?;
    Ok(ZipFolder {
        folder,
        entries: names.len(),
        unpacked_bytes: unpacked,
    })
}

/// Checks one entry name and returns its top-level folder.
fn check_name(name: &str) -> Result<&str, ZipRefusal> {
    let unsafe_entry = |why| ZipRefusal::UnsafeEntry {
        name: name.to_owned(),
        why,
    };
    if name.starts_with('/') {
        return Err(unsafe_entry("is an absolute path"));
    }
    if name.contains('\\') || name.contains(':') || name.chars().any(char::is_control) {
        return Err(unsafe_entry(
            "holds a backslash, colon or control character",
        ));
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    let parts: Vec<&str> = trimmed.split('/').collect();
    if parts.contains(&"..") {
        return Err(unsafe_entry("climbs out with \"..\""));
    }
    if parts.iter().any(|p| p.is_empty() || *p == ".") {
        return Err(unsafe_entry("has an empty or \".\" path part"));
    }
    let top = parts[0];
    if parts.len() == 1 && !name.ends_with('/') {
        return Err(unsafe_entry("is a file outside any folder"));
    }
    let plain = top
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !plain || top.starts_with('.') {
        return Err(unsafe_entry(
            "is in a folder whose name is not a plain slug",
        ));
    }
    Ok(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored (uncompressed) zip, written by hand so tests can make the
    /// malformed ones real archivers refuse to write.
    struct Entry<'a> {
        name: &'a str,
        local_name: Option<&'a str>,
        data: &'a [u8],
        mode: u32,
        flags: u16,
    }

    fn entry<'a>(name: &'a str, data: &'a [u8]) -> Entry<'a> {
        Entry {
            name,
            local_name: None,
            data,
            mode: 0o100_644,
            flags: 0,
        }
    }

    fn zip(entries: &[Entry]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for e in entries {
            let offset = out.len() as u32;
            let local_name = e.local_name.unwrap_or(e.name);
            out.extend_from_slice(&LOCAL_SIGNATURE.to_le_bytes());
            out.extend_from_slice(&[20, 0]);
            out.extend_from_slice(&e.flags.to_le_bytes());
            out.extend_from_slice(&[0; 10]); // method, time, date, crc (unchecked here)
            out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(local_name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(local_name.as_bytes());
            out.extend_from_slice(e.data);

            central.extend_from_slice(&CENTRAL_SIGNATURE.to_le_bytes());
            central.extend_from_slice(&[20, 3, 20, 0]);
            central.extend_from_slice(&e.flags.to_le_bytes());
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
        out.extend_from_slice(&EOCD_SIGNATURE.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn a_plugin_in_one_folder_passes() {
        let bytes = zip(&[
            entry("hello-gsw/", b""),
            entry("hello-gsw/hello.php", b"<?php // Plugin Name: Hello"),
            entry("hello-gsw/inc/a.php", b"<?php"),
            entry("__MACOSX/hello-gsw/._hello.php", b"x"),
        ]);
        let checked = check(&bytes, 1 << 20).unwrap();
        assert_eq!(checked.folder, "hello-gsw");
        assert_eq!(checked.entries, 4);
        assert_eq!(checked.unpacked_bytes, 27 + 5 + 1);
    }

    #[test]
    fn escaping_entries_are_refused() {
        for name in [
            "hello/../../wp-config.php",
            "../evil.php",
            "/tmp/evil.php",
            "hello\\..\\..\\evil.php",
            "C:/evil.php",
            "hello//x.php",
            "hello/./x.php",
            "evil.php",
            ".hidden/x.php",
            "hello/x\0.php",
        ] {
            let bytes = zip(&[entry("hello/a.php", b"<?php"), entry(name, b"<?php")]);
            let refusal = check(&bytes, 1 << 20).unwrap_err();
            assert!(
                matches!(refusal, ZipRefusal::UnsafeEntry { .. }),
                "{name:?}: {refusal}"
            );
        }
    }

    #[test]
    fn links_folders_sizes_and_disguises_are_refused() {
        let mut link = entry("hello/wp-config.php", b"../../wp-config.php");
        link.mode = 0o120_777;
        assert!(matches!(
            check(&zip(&[entry("hello/a.php", b""), link]), 1 << 20),
            Err(ZipRefusal::Link(_))
        ));
        assert!(matches!(
            check(
                &zip(&[entry("hello/a.php", b""), entry("other/b.php", b"")]),
                1 << 20
            ),
            Err(ZipRefusal::SeveralFolders(..))
        ));
        assert!(matches!(
            check(&zip(&[entry("hello/a.php", &[0; 100])]), 99),
            Err(ZipRefusal::TooLarge { .. })
        ));
        let mut disguised = entry("hello/a.php", b"");
        disguised.local_name = Some("../a.php");
        assert!(matches!(
            check(&zip(&[disguised]), 1 << 20),
            Err(ZipRefusal::UnsafeEntry { .. })
        ));
        let mut encrypted = entry("hello/a.php", b"");
        encrypted.flags = 1;
        assert!(check(&zip(&[encrypted]), 1 << 20).is_err());
        assert!(matches!(
            check(
                &zip(&[entry("hello/a.php", b""), entry("hello/a.php", b"")]),
                1 << 20
            ),
            Err(ZipRefusal::UnsafeEntry { .. })
        ));
        for junk in [&b""[..], b"PK\x05\x06", b"not a zip at all, just text"] {
            assert!(matches!(
                check(junk, 1 << 20),
                Err(ZipRefusal::Malformed(_))
            ));
        }
        let mut truncated = zip(&[entry("hello/a.php", b"<?php")]);
        truncated.drain(10..20);
        assert!(check(&truncated, 1 << 20).is_err());
    }
}
