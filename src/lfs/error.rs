//! The failures that only Git LFS code can produce.
//!
//! Kept apart from [`crate::HfGitError`] for now so the LFS building blocks can land without touching
//! the crate's one error enum while others edit it. Each variant maps onto an existing
//! `HfGitError` kind or a new one; see [`LfsError`] for the plan.

use std::path::PathBuf;

use super::pointer::{Oid256, Pointer};

/// Shorthand for the LFS modules.
pub type LfsResult<T> = std::result::Result<T, LfsError>;

/// Something went wrong while reading pointers or moving objects in and out of `.git/lfs/`.
///
/// The lead will fold this into [`crate::HfGitError`] (either one `Lfs(#[from] LfsError)` variant or
/// one variant per case below; `Io` maps onto the existing `HfGitError::Io`, `InvalidOid` onto
/// `InvalidInput`). Until then there is deliberately no `From<LfsError> for HfGitError` here, so the
/// folding cannot collide with a conversion defined in this file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LfsError {
    /// Text that should be a SHA-256 object id is not 64 lowercase hex digits.
    #[error("Invalid LFS object id {value:?}: expected 64 lowercase hexadecimal digits")]
    InvalidOid { value: String },

    /// The file was written to while it was being hashed, so its content has no single oid.
    #[error("File changed while it was being hashed: {}. Wait until nothing is writing to it, then try again.", path.display())]
    FileChanged { path: PathBuf },

    /// A downloaded (or otherwise received) object does not hash to what its pointer promised.
    #[error("LFS object sha256:{} failed verification: expected {} bytes, got {actual_size} bytes hashing to sha256:{actual_oid}. The bad copy was deleted; download it again.", expected.oid, expected.size)]
    ObjectMismatch {
        expected: Pointer,
        actual_oid: Oid256,
        actual_size: u64,
    },

    /// A local file-system failure under `.git/lfs/` or on the file being cleaned.
    #[error("I/O error while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl LfsError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
