//! What the agent keeps on disk between receiving a bundle and reporting it
//! applied: the spool of verified bundles, the journal of applied ones, and
//! the highest sequence applied.
//!
//! Order of writes, so a crash at any point loses nothing and applies
//! nothing twice: spool the bundle (then acknowledge) → apply → journal the
//! result → raise `last_applied` → delete the spooled bundle.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use gsw_protocol::frame::ItemResult;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::disk;

/// Journal entries kept for re-reporting after reconnects.
const JOURNAL_KEEP: usize = 200;

/// The outcome of one spooled bundle, kept to report it again if needed:
/// applied with per-item results, or refused when it was due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRecord {
    pub deployment_id: Uuid,
    pub sequence: u64,
    pub results: Vec<ItemResult>,
    /// Set when the bundle failed its second check before applying
    /// (it expired in the spool, say): `(code, reason)`; nothing was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<(String, String)>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    last_applied: u64,
}

/// A bundle waiting in the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spooled {
    pub sequence: u64,
    pub deployment_id: Uuid,
    pub path: PathBuf,
}

/// The agent's durable state in its state folder.
pub struct Spool {
    root: PathBuf,
}

impl Spool {
    /// Opens (creating) the spool in a state folder.
    pub fn open(state_dir: &Path) -> anyhow::Result<Self> {
        for dir in ["spool", "journal"] {
            disk::private_dir(&state_dir.join(dir))?;
        }
        Ok(Self {
            root: state_dir.to_owned(),
        })
    }

    fn spool_dir(&self) -> PathBuf {
        self.root.join("spool")
    }

    fn journal_dir(&self) -> PathBuf {
        self.root.join("journal")
    }

    /// Highest sequence applied.
    pub fn last_applied(&self) -> anyhow::Result<u64> {
        match fs::read(self.root.join("state.json")) {
            Ok(bytes) => Ok(serde_json::from_slice::<State>(&bytes)
                .context("state.json is not valid")?
                .last_applied),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(err) => Err(err).context("reading state.json"),
        }
    }

    fn set_last_applied(&self, sequence: u64) -> anyhow::Result<()> {
        let json = serde_json::to_vec(&State {
            last_applied: sequence,
        })?;
        disk::write_atomic(&self.root.join("state.json"), &json, 0o600)
    }

    /// Stores a verified bundle durably. Only after this returns may it be acknowledged.
    pub fn put(&self, deployment_id: Uuid, sequence: u64, bundle: &[u8]) -> anyhow::Result<()> {
        let path = self
            .spool_dir()
            .join(format!("{sequence:020}-{deployment_id}.bundle"));
        disk::write_atomic(&path, bundle, 0o600)
    }

    /// Whether this deployment is already in the spool.
    pub fn contains(&self, deployment_id: Uuid) -> anyhow::Result<bool> {
        Ok(self
            .pending()?
            .iter()
            .any(|s| s.deployment_id == deployment_id))
    }

    /// Spooled bundles, lowest sequence first.
    pub fn pending(&self) -> anyhow::Result<Vec<Spooled>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(self.spool_dir())? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(stem) = name.strip_suffix(".bundle") else {
                continue;
            };
            let Some((sequence, id)) = stem.split_once('-') else {
                continue;
            };
            if let (Ok(sequence), Ok(deployment_id)) = (sequence.parse(), id.parse()) {
                found.push(Spooled {
                    sequence,
                    deployment_id,
                    path,
                });
            }
        }
        found.sort_by_key(|s| s.sequence);
        Ok(found)
    }

    /// Records an applied bundle: journal, then `last_applied`, then the spool entry goes.
    pub fn finish(&self, spooled: &Spooled, record: &AppliedRecord) -> anyhow::Result<()> {
        let json = serde_json::to_vec(record)?;
        disk::write_atomic(
            &self
                .journal_dir()
                .join(format!("{}.json", record.deployment_id)),
            &json,
            0o600,
        )?;
        if record.refused.is_none() && record.sequence > self.last_applied()? {
            self.set_last_applied(record.sequence)?;
        }
        self.discard(spooled)
    }

    /// Removes a spooled bundle (applied, or refused on re-verification).
    pub fn discard(&self, spooled: &Spooled) -> anyhow::Result<()> {
        match fs::remove_file(&spooled.path) {
            Ok(()) => disk::sync_dir(&self.spool_dir()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err).context("removing a spooled bundle"),
        }
    }

    /// The journal entry of a deployment, if it was applied here.
    pub fn applied(&self, deployment_id: Uuid) -> anyhow::Result<Option<AppliedRecord>> {
        match fs::read(self.journal_dir().join(format!("{deployment_id}.json"))) {
            Ok(bytes) => Ok(Some(
                serde_json::from_slice(&bytes).context("journal entry is not valid")?,
            )),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).context("reading the journal"),
        }
    }

    /// Recent journal entries, oldest first; older ones are pruned.
    pub fn journal(&self) -> anyhow::Result<Vec<AppliedRecord>> {
        let mut records = Vec::new();
        for entry in fs::read_dir(self.journal_dir())? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                if let Ok(record) = serde_json::from_slice::<AppliedRecord>(&fs::read(&path)?) {
                    records.push((record, path));
                }
            }
        }
        records.sort_by_key(|(r, _)| r.sequence);
        let excess = records.len().saturating_sub(JOURNAL_KEEP);
        for (_, path) in records.drain(..excess) {
            let _ = fs::remove_file(path);
        }
        Ok(records.into_iter().map(|(r, _)| r).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_journal_and_state_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        spool.put(b, 12, b"second").unwrap();
        spool.put(a, 3, b"first").unwrap();
        assert!(spool.contains(a).unwrap());

        let spool = Spool::open(dir.path()).unwrap();
        let pending = spool.pending().unwrap();
        assert_eq!(
            pending.iter().map(|s| s.sequence).collect::<Vec<_>>(),
            [3, 12]
        );
        assert_eq!(fs::read(&pending[0].path).unwrap(), b"first");

        let record = AppliedRecord {
            deployment_id: a,
            sequence: 3,
            results: vec![],
            refused: None,
        };
        spool.finish(&pending[0], &record).unwrap();
        assert_eq!(spool.last_applied().unwrap(), 3);
        assert_eq!(spool.applied(a).unwrap(), Some(record));
        assert_eq!(spool.pending().unwrap().len(), 1);
        assert!(!spool.contains(a).unwrap());
        // Finishing an older sequence never lowers last_applied.
        let old = AppliedRecord {
            deployment_id: b,
            sequence: 1,
            results: vec![],
            refused: None,
        };
        spool.finish(&spool.pending().unwrap()[0], &old).unwrap();
        assert_eq!(spool.last_applied().unwrap(), 3);
        assert_eq!(spool.journal().unwrap().len(), 2);

        // A bundle refused from the spool is journalled, never raises last_applied.
        let c = Uuid::now_v7();
        spool.put(c, 40, b"stale").unwrap();
        let refused = AppliedRecord {
            deployment_id: c,
            sequence: 40,
            results: vec![],
            refused: Some(("expired".into(), "bundle expired".into())),
        };
        spool
            .finish(&spool.pending().unwrap()[0], &refused)
            .unwrap();
        assert_eq!(spool.last_applied().unwrap(), 3);
        assert_eq!(spool.applied(c).unwrap(), Some(refused));
        assert!(spool.pending().unwrap().is_empty());
    }
}
