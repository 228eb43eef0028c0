//! `Repository.lfs_pull`: download LFS files a clone left as pointers (`clone(lfs=False)`, an
//! include list, `GIT_LFS_SKIP_SMUDGE`, `lfs.fetchexclude`), like `git lfs pull`: the include and
//! exclude lists default to `lfs.fetchinclude` / `lfs.fetchexclude`, `GIT_LFS_SKIP_SMUDGE` does
//! not apply, and the endpoint is the one git-lfs settings choose.

use std::path::PathBuf;

use super::lock::lock_index;
use super::target_dir::mark_complete;
use super::upstream::remote_spec;
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::Result;
use crate::hub::{ensure_online, ensure_token_transport_is_safe};
use crate::lfs::checkout::smudge_work_tree;
use crate::lfs::config::{LfsConfig, Operation};
use crate::lfs::endpoint::LfsEndpoint;
use crate::lfs::transfer::{TransferConfig, TransferSummary};
use crate::progress::{Monitor, Phase};

pub struct LfsPullRequest {
    pub local_dir: PathBuf,
    pub token: TokenRequest,
    pub remote_name: String,
    /// Replaces `lfs.fetchinclude` when given.
    pub include: Option<Vec<String>>,
    /// Replaces `lfs.fetchexclude` when given.
    pub exclude: Option<Vec<String>>,
    pub concurrency: usize,
}

pub fn lfs_pull(request: LfsPullRequest, monitor: &Monitor) -> Result<TransferSummary> {
    let (repo, interrupted_clone) = super::open_work_tree_even_if_interrupted(&request.local_dir)?;
    // Writing the smudged files' index entries: no other writer of the index meanwhile.
    let _index = lock_index(&repo)?;
    let spec = remote_spec(&repo, &request.remote_name)?;
    let token = resolve_token(request.token, spec.url_token, &ProcessEnv);
    ensure_online(&spec.url)?;
    ensure_token_transport_is_safe(&spec.url, token.is_some())?;
    let settings = LfsConfig::load(&repo)?;
    let filter = settings.fetch_filter(request.include, request.exclude);
    let endpoint = LfsEndpoint::resolve(
        &settings,
        &request.remote_name,
        &spec.url,
        token,
        Operation::Download,
        monitor,
    )?;
    let config = TransferConfig {
        concurrency: request.concurrency.max(1),
        ..TransferConfig::default()
    };
    let summary = smudge_work_tree(
        &repo,
        &endpoint.url,
        endpoint.token,
        &filter,
        &config,
        monitor,
    )?;
    if interrupted_clone && repo.head().is_ok() {
        // Its history was complete and its LFS files now are: the killed clone is finished.
        mark_complete(repo.path())?;
    }
    monitor.report(Phase::Done, 1, 1, summary.bytes);
    Ok(summary)
}
