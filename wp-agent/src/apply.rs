//! Applying a verified bundle: inside WordPress through the connector
//! plugin (`crate::wordpress`), or into a plain folder (for hosts without
//! WordPress, dry runs and tests) through the same interface.

use std::path::{Path, PathBuf};

use gsw_protocol::bundle::{check_path, VerifiedBundle};
use gsw_protocol::frame::{ItemResult, ItemStatus};
use gsw_protocol::site::{Drift, Inventory};

use crate::disk;

/// What applying a bundle came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied, with one result per item (some may have failed).
    Applied(Vec<ItemResult>),
    /// Refused before anything changed.
    Refused { code: String, reason: String },
}

/// Applies verified bundles somewhere and says what happened to each item.
pub trait Applier: Send + Sync {
    /// Applies every item of `bundle`, which is also on disk at `file`;
    /// never panics, reports failures per item.
    fn apply(&self, bundle: &VerifiedBundle<'_>, file: &Path) -> Outcome;

    /// What is installed, where the target can tell.
    fn inventory(&self) -> Option<anyhow::Result<Inventory>> {
        None
    }

    /// Deployed content changed since, where the target can tell.
    fn drift(&self) -> Option<anyhow::Result<Drift>> {
        None
    }
}

/// Writes each item to `<root>/<kind>/<path>`.
pub struct FolderApplier {
    root: PathBuf,
}

impl FolderApplier {
    /// An applier writing under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn apply_item(&self, kind: &str, path: &str, bytes: &[u8]) -> Result<ItemStatus, String> {
        // Verification already refused escaping paths; check again where it matters.
        check_path(path).map_err(|e| e.to_string())?;
        let target = self.root.join(kind).join(path);
        if !target.starts_with(self.root.join(kind)) {
            return Err("path escapes its folder".into());
        }
        if std::fs::read(&target).is_ok_and(|current| current == bytes) {
            return Ok(ItemStatus::Unchanged);
        }
        let parent = target.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        disk::write_atomic(&target, bytes, 0o644).map_err(|e| format!("{e:#}"))?;
        Ok(ItemStatus::Applied)
    }
}

impl Applier for FolderApplier {
    fn apply(&self, bundle: &VerifiedBundle<'_>, _file: &Path) -> Outcome {
        let results = bundle
            .items()
            .map(|(entry, bytes)| {
                let (status, message) =
                    match self.apply_item(entry.kind.as_str(), &entry.path, bytes) {
                        Ok(status) => (status, None),
                        Err(message) => (ItemStatus::Failed, Some(message)),
                    };
                ItemResult {
                    kind: entry.kind,
                    path: entry.path.clone(),
                    status,
                    message,
                }
            })
            .collect();
        Outcome::Applied(results)
    }
}
