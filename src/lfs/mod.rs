//! Git LFS without the `git-lfs` binary: the local half.
//!
//! Hub repositories keep every large file (weights, archives, event logs) in LFS, so hfgit has to do
//! what the `git-lfs` filter would do around each commit and checkout, and do it so that the result
//! is indistinguishable from git-lfs's: the same pointer bytes, the same choice of files, the same
//! `.git/lfs/` layout. These modules are the pieces that need no network:
//!
//! - [`pointer`]: encode and recognise pointer files, byte for byte as git-lfs does;
//! - [`attributes`]: decide from `.gitattributes` which paths are LFS-tracked, with git's rules;
//! - [`store`]: hash files into `.git/lfs/objects/` and take verified downloads into it, sharing
//!   blocks with the work-tree file where the file system can ([`reflink`]);
//! - [`prune`]: which stored objects the remote has and nothing local needs, over every checkout
//!   ([`checkouts`]); [`work_tree_copies`] gets such an object back when a push needs it;
//! - [`clean`]: what the clean filter makes of one file (a pointer file passes through);
//! - [`stage`]: staging with LFS during a commit (what the clean filter does);
//! - [`config`]: git-lfs's own settings (`lfs.fetchinclude`, `lfs.url`, `GIT_LFS_SKIP_SMUDGE`,
//!   ...) from git config and `.lfsconfig`, and [`endpoint`]: the LFS server they choose;
//! - [`error`]: the LFS-specific failures, carried by [`crate::HfGitError::Lfs`].
//!
//! The batch API client and the transfers build on these.

pub mod attribute_source;
pub mod attributes;
pub mod checkout;
pub mod checkouts;
pub mod clean;
pub mod config;
pub mod endpoint;
pub mod error;
mod glob;
pub mod path_filter;
pub mod pointer;
pub mod prune;
pub mod publish;
pub mod racy;
mod reflink;
pub mod refresh;
pub mod scan;
pub mod stage;
pub mod store;
pub mod transfer;
pub mod work_tree_copies;

pub use attributes::{track_line, AttributeRules};
pub use error::{LfsError, LfsResult};
pub use pointer::{
    looks_like_pointer, Oid256, ParsedPointer, Pointer, PointerExtension, POINTER_SIZE_LIMIT,
    SPEC_URL,
};
pub(crate) use store::process_is_alive;
pub use store::{sha256_file, LfsStore};
