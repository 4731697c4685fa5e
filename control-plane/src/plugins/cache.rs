//! Downloaded plugin zips on disk, by slug and version: `<slug>@<version>.zip`
//! beside `<slug>@<version>.sha256`, its hash when it was stored. A zip
//! whose bytes no longer match is dropped. The folder is kept under a byte
//! limit, the least recently used zips going first. Each node of a control
//! plane keeps its own; a zip is only ever fetched again, never lost.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::PluginZip;

/// The zip cache in one folder.
#[derive(Debug, Clone)]
pub struct ZipCache {
    dir: PathBuf,
    max_bytes: u64,
}

impl ZipCache {
    /// A cache in `dir` (made when first written) holding at most `max_bytes` of zips.
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self { dir, max_bytes }
    }

    /// The cached zip of this slug and version, if its bytes still match its hash.
    pub async fn get(&self, slug: &str, version: &str) -> Option<PluginZip> {
        let this = self.clone();
        let (slug, version) = (slug.to_owned(), version.to_owned());
        tokio::task::spawn_blocking(move || this.read(&slug, &version))
            .await
            .ok()
            .flatten()
    }

    /// The most recently stored or used version of a plugin.
    pub async fn newest(&self, slug: &str) -> Option<PluginZip> {
        let this = self.clone();
        let slug = slug.to_owned();
        tokio::task::spawn_blocking(move || {
            let prefix = format!("{slug}@");
            let newest = entries(&this.dir)
                .into_iter()
                .filter_map(|(name, _, modified)| {
                    let version = name.strip_prefix(&prefix)?.strip_suffix(".zip")?;
                    Some((modified, version.to_owned()))
                })
                .max()?;
            this.read(&slug, &newest.1)
        })
        .await
        .ok()
        .flatten()
    }

    /// Stores a zip (written beside, then renamed into place), then trims the
    /// cache to its limit. A zip larger than the whole limit is not kept.
    pub async fn put(&self, zip: &PluginZip) -> io::Result<()> {
        if zip.bytes.len() as u64 > self.max_bytes {
            return Ok(());
        }
        let this = self.clone();
        let zip = zip.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&this.dir)?;
            let hash = this.path(&zip.slug, &zip.version, "sha256");
            write_atomically(&hash, zip.sha256.as_bytes())?;
            write_atomically(&this.path(&zip.slug, &zip.version, "zip"), &zip.bytes)?;
            this.trim();
            Ok(())
        })
        .await
        .map_err(io::Error::other)?
    }

    /// `<slug>@<version>.<ext>` (a version has dots, so no `with_extension`).
    fn path(&self, slug: &str, version: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{slug}@{version}.{ext}"))
    }

    fn read(&self, slug: &str, version: &str) -> Option<PluginZip> {
        let zip = self.path(slug, version, "zip");
        let bytes = std::fs::read(&zip).ok()?;
        let stored = std::fs::read_to_string(self.path(slug, version, "sha256")).ok()?;
        let found = PluginZip::new(slug, version, bytes);
        if found.sha256 != stored.trim() {
            tracing::warn!(path = %zip.display(), "a cached plugin zip changed on disk; dropped");
            let _ = std::fs::remove_file(&zip);
            return None;
        }
        // Its time is when it was last used, for trimming.
        if let Ok(file) = std::fs::File::options().write(true).open(&zip) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(found)
    }

    /// Removes the least recently used zips until the rest fit the limit.
    fn trim(&self) {
        let mut zips: Vec<_> = entries(&self.dir)
            .into_iter()
            .filter(|(name, _, _)| name.ends_with(".zip"))
            .collect();
        let mut total: u64 = zips.iter().map(|(_, size, _)| size).sum();
        zips.sort_by_key(|(_, _, modified)| *modified);
        for (name, size, _) in zips {
            if total <= self.max_bytes {
                break;
            }
            let zip = self.dir.join(&name);
            let _ = std::fs::remove_file(&zip);
            let _ = std::fs::remove_file(zip.with_extension("sha256"));
            total -= size;
        }
    }
}

/// (name, size, modified) of the files in `dir`.
fn entries(dir: &Path) -> Vec<(String, u64, SystemTime)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(|entry| {
        let entry = entry.ok()?;
        let meta = entry.metadata().ok()?;
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        Some((entry.file_name().into_string().ok()?, meta.len(), modified))
    })
    .collect()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(format!(".partial-{}", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip(slug: &str, version: &str, size: usize) -> PluginZip {
        PluginZip::new(slug, version, vec![7; size])
    }

    #[tokio::test]
    async fn zips_come_back_by_version_and_the_oldest_go_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ZipCache::new(dir.path().to_owned(), 250);
        cache.put(&zip("a", "1.0", 100)).await.unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        cache.put(&zip("a", "1.1", 100)).await.unwrap();
        let got = cache.get("a", "1.0").await.expect("cached");
        assert_eq!(got.sha256, zip("a", "1.0", 100).sha256);
        assert_eq!(cache.newest("a").await.unwrap().version, "1.0", "just used");
        std::thread::sleep(std::time::Duration::from_millis(20));
        cache.put(&zip("b", "2", 100)).await.unwrap();
        assert!(cache.get("a", "1.1").await.is_none(), "least recently used");
        assert!(cache.get("a", "1.0").await.is_some());
        assert!(cache.get("b", "2").await.is_some());
        // Too big for the whole cache: not kept, nothing else lost.
        cache.put(&zip("c", "1", 300)).await.unwrap();
        assert!(cache.get("c", "1").await.is_none());
        assert!(cache.get("b", "2").await.is_some());
    }

    #[tokio::test]
    async fn a_zip_changed_on_disk_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ZipCache::new(dir.path().to_owned(), 1000);
        cache.put(&zip("a", "1", 10)).await.unwrap();
        std::fs::write(dir.path().join("a@1.zip"), b"other").unwrap();
        assert!(cache.get("a", "1").await.is_none());
        assert!(cache.newest("a").await.is_none());
    }
}
