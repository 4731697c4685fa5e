//! Durable writes: a file is either wholly old or wholly new, even across a crash.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Writes `bytes` to `path` through a temporary file, fsync and rename, then
/// fsyncs the folder so the rename itself survives a power cut.
///
/// The temporary file has a random name and is created new (`O_EXCL`, which
/// also refuses a symlink there): a name planted in the folder beforehand is
/// never opened, let alone followed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = path.parent().context("path has no parent folder")?;
    let name = path
        .file_name()
        .context("path has no file name")?
        .to_string_lossy();
    let (tmp, mut file) = create_new_temp(dir, &name, mode)?;
    let written = write_and_rename(&mut file, &tmp, path, bytes);
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir)
}

fn create_new_temp(dir: &Path, name: &str, mode: u32) -> anyhow::Result<(PathBuf, File)> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut last = None;
    for _ in 0..8 {
        let tmp = dir.join(format!(".{name}.tmp-{:016x}", rand::random::<u64>()));
        match options.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => last = Some(err),
            Err(err) => {
                return Err(err).with_context(|| format!("creating {}", tmp.display()));
            }
        }
    }
    Err(last.map_or_else(|| anyhow::anyhow!("no temporary name"), anyhow::Error::from))
        .with_context(|| format!("creating a temporary file in {}", dir.display()))
}

fn write_and_rename(file: &mut File, tmp: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    file.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.sync_all()?;
    fs::rename(tmp, path).with_context(|| format!("renaming into {}", path.display()))
}

/// Fsyncs a folder, making renames and deletions in it durable.
pub fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// Creates a folder (and parents) readable only by its owner.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        // Where the agent used to put its temporary file: a guessable name.
        let planted = dir
            .path()
            .join(format!(".agent.json.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let target = dir.path().join("agent.json");
        write_atomic(&target, b"{}", 0o600).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&target).unwrap(), b"{}");
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-") && !n.ends_with(&std::process::id().to_string()))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }
}
