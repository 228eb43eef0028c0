//! `Repository.lfs_pull`: download LFS files a clone left as pointers (`clone(lfs=False)`, or an
//! include list), like `git lfs pull`.

use std::path::PathBuf;

use super::upstream::remote_spec;
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::Result;
use crate::hub::ensure_token_transport_is_safe;
use crate::lfs::checkout::smudge_work_tree;
use crate::lfs::path_filter::PathFilter;
use crate::lfs::transfer::{TransferConfig, TransferSummary};
use crate::progress::{Monitor, Phase};

pub struct LfsPullRequest {
    pub local_dir: PathBuf,
    pub token: TokenRequest,
    pub remote_name: String,
    pub include: Option<Vec<String>>,
    pub exclude: Vec<String>,
    pub concurrency: usize,
}

pub fn lfs_pull(request: LfsPullRequest, monitor: &Monitor) -> Result<TransferSummary> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let spec = remote_spec(&repo, &request.remote_name)?;
    let token = resolve_token(request.token, spec.url_token, &ProcessEnv);
    ensure_token_transport_is_safe(&spec.url, token.is_some())?;
    let filter = PathFilter::new(request.include.as_deref(), &request.exclude);
    let config = TransferConfig {
        concurrency: request.concurrency.max(1),
        ..TransferConfig::default()
    };
    let summary = smudge_work_tree(&repo, &spec.url, token, &filter, &config, monitor)?;
    monitor.report(Phase::Done, 1, 1, summary.bytes);
    Ok(summary)
}
