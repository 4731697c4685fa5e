//! Downloaded photos on disk, addressed by their SHA-256: `<sha256>.img`.
//! A file whose bytes no longer hash to its name is dropped (and fetched
//! again by its caller). The folder is kept under a byte limit, the least
//! recently used photos going first. Each node keeps its own.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::sha256_hex;

/// The photo cache in one folder.
#[derive(Debug, Clone)]
pub struct PhotoCache {
    dir: PathBuf,
    max_bytes: u64,
}

impl PhotoCache {
    /// A cache in `dir` (made when first written) holding at most `max_bytes`.
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self { dir, max_bytes }
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        let plain = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        plain.then(|| {
            self.dir
                .join(format!("{}.img", sha256.to_ascii_lowercase()))
        })
    }

    /// The bytes whose hash is `sha256`, if they are here and unchanged.
    pub async fn get(&self, sha256: &str) -> Option<Vec<u8>> {
        let path = self.path(sha256)?;
        let sha256 = sha256.to_ascii_lowercase();
        tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path).ok()?;
            if sha256_hex(&bytes) != sha256 {
                tracing::warn!(path = %path.display(), "a cached photo changed on disk; dropped");
                let _ = std::fs::remove_file(&path);
                return None;
            }
            // Its time is when it was last used, for trimming.
            if let Ok(file) = std::fs::File::options().write(true).open(&path) {
                let _ = file.set_modified(SystemTime::now());
            }
            Some(bytes)
        })
        .await
        .ok()
        .flatten()
    }

    /// Stores bytes under their hash (written beside, then renamed into
    /// place), then trims the cache. Bytes larger than the whole limit are not kept.
    pub async fn put(&self, sha256: &str, bytes: &[u8]) -> io::Result<()> {
        let Some(path) = self.path(sha256) else {
            return Err(io::Error::other("not a SHA-256"));
        };
        if bytes.len() as u64 > self.max_bytes || path.exists() {
            return Ok(());
        }
        let this = self.clone();
        let bytes = bytes.to_vec();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&this.dir)?;
            let mut partial = path.as_os_str().to_owned();
            partial.push(format!(".partial-{}", std::process::id()));
            std::fs::write(&partial, &bytes)?;
            std::fs::rename(&partial, &path)?;
            this.trim();
            Ok(())
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Removes the least recently used photos until the rest fit the limit.
    fn trim(&self) {
        let mut files = entries(&self.dir);
        let mut total: u64 = files.iter().map(|(_, size, _)| size).sum();
        files.sort_by_key(|(_, _, modified)| *modified);
        for (path, size, _) in files {
            if total <= self.max_bytes {
                break;
            }
            let _ = std::fs::remove_file(&path);
            total -= size;
        }
    }
}

/// (path, size, modified) of the photos in `dir`.
fn entries(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(|entry| {
        let entry = entry.ok()?;
        let path = entry.path();
        if path.extension()? != "img" {
            return None;
        }
        let meta = entry.metadata().ok()?;
        Some((
            path,
            meta.len(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        ))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn photos_come_back_by_hash_and_changed_ones_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PhotoCache::new(dir.path().to_owned(), 250);
        let (a, b, c) = (vec![1u8; 100], vec![2u8; 100], vec![3u8; 100]);
        cache.put(&sha256_hex(&a), &a).await.unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        cache.put(&sha256_hex(&b), &b).await.unwrap();
        assert_eq!(cache.get(&sha256_hex(&a)).await, Some(a.clone()));
        std::thread::sleep(std::time::Duration::from_millis(20));
        cache.put(&sha256_hex(&c), &c).await.unwrap();
        assert_eq!(
            cache.get(&sha256_hex(&b)).await,
            None,
            "least recently used"
        );
        assert!(cache.get(&sha256_hex(&a)).await.is_some());
        std::fs::write(dir.path().join(format!("{}.img", sha256_hex(&c))), b"x").unwrap();
        assert_eq!(cache.get(&sha256_hex(&c)).await, None);
        assert_eq!(cache.get("../etc/passwd").await, None);
    }
}
