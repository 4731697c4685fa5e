//! The connector's snapshots as the agent sees them: which are kept, and
//! pruning the older ones and the leftovers of interrupted runs.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Keeps the `keep` newest snapshots in `dir` (the connector's folders,
/// named by sequence) and removes older ones, and the work folders
/// (`.N.tmp-PID`, `.work-N-PID`) of connector runs that never finished.
/// Call it only while no connector runs. Returns how many folders went.
pub fn prune_snapshots(dir: &Path, keep: usize) -> anyhow::Result<usize> {
    let (mut snapshots, leftovers) = snapshot_folders(dir)?;
    snapshots.sort_by_key(|(sequence, _)| std::cmp::Reverse(*sequence));
    let old = snapshots
        .into_iter()
        .skip(keep.max(1))
        .map(|(_, path)| path);
    let mut removed = 0;
    for path in old.chain(leftovers) {
        std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        removed += 1;
    }
    Ok(removed)
}

/// The sequences of the complete snapshots in `dir`, oldest first.
pub fn kept_snapshots(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let (snapshots, _) = snapshot_folders(dir)?;
    let mut kept: Vec<u64> = snapshots
        .into_iter()
        .filter(|(_, path)| path.join("snapshot.json").is_file())
        .map(|(sequence, _)| sequence)
        .collect();
    kept.sort_unstable();
    Ok(kept)
}

/// A snapshot folder: its sequence and path.
type SnapshotFolder = (u64, PathBuf);

/// The snapshot folders in `dir` (named by sequence), and the work folders
/// of connector runs (`.N.tmp-PID`, `.work-N-PID`).
fn snapshot_folders(dir: &Path) -> anyhow::Result<(Vec<SnapshotFolder>, Vec<PathBuf>)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", dir.display())),
    };
    let mut snapshots = Vec::new();
    let mut work = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(sequence) = name.parse::<u64>() {
            snapshots.push((sequence, entry.path()));
        } else if name.starts_with(".work-") || (name.starts_with('.') && name.contains(".tmp-")) {
            work.push(entry.path());
        }
    }
    Ok((snapshots, work))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_snapshots_and_no_leftovers_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = dir.path().join("snapshots");
        assert_eq!(prune_snapshots(&snapshots, 2).unwrap(), 0, "no folder yet");
        for name in ["1", "2", "9", "10", ".11.tmp-42", ".work-11-42", "notes"] {
            std::fs::create_dir_all(snapshots.join(name)).unwrap();
        }
        std::fs::write(snapshots.join("10/snapshot.json"), "{}").unwrap();
        std::fs::write(snapshots.join("3"), "a file, not a snapshot").unwrap();
        assert_eq!(prune_snapshots(&snapshots, 2).unwrap(), 4);
        let mut left: Vec<String> = std::fs::read_dir(&snapshots)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // By number, not by name: 10 is newer than 9.
        assert_eq!(left, ["10", "3", "9", "notes"]);
        assert!(snapshots.join("10/snapshot.json").is_file());
        assert_eq!(prune_snapshots(&snapshots, 2).unwrap(), 0);
        // Only complete snapshots count as kept.
        assert_eq!(kept_snapshots(&snapshots).unwrap(), [10]);
        std::fs::write(snapshots.join("9/snapshot.json"), "{}").unwrap();
        assert_eq!(kept_snapshots(&snapshots).unwrap(), [9, 10]);
        assert!(kept_snapshots(&dir.path().join("none")).unwrap().is_empty());
    }
}
