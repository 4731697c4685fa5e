//! Drafts as the store keeps them.

use crate::error::{ApiResult, AppError};
use crate::generation::draft::SiteDraft;

/// A draft as the store keeps it (JSON), read back; one that no longer reads
/// is an internal error.
pub fn stored_draft(value: serde_json::Value) -> ApiResult<SiteDraft> {
    serde_json::from_value(value)
        .map_err(|e| AppError::Internal(anyhow::Error::from(e).context("reading a stored draft")))
}
