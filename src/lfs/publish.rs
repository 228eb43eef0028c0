//! The LFS half of a push: upload every object the pushed commits point at, before any ref moves.
//!
//! This is git-lfs's pre-push hook done in-process. The Hub refuses a push whose pointers name
//! objects it does not have, so uploads come first; objects the server already has are skipped by
//! the batch API, which makes a re-run after a failure upload only what is still missing. An
//! object that a prune removed from the store while the work tree kept it is cleaned from the
//! work-tree file again if the server asks for it (see [`super::work_tree_copies`]).

use git2::{Oid, Repository};
use secrecy::SecretString;
use url::Url;

use super::config::{LfsConfig, Operation};
use super::endpoint::LfsEndpoint;
use super::prune::remote_tracking_tips;
use super::scan::pointers_to_push;
use super::transfer::{upload_restoring, LfsRemote, TransferConfig, TransferSummary, UploadItem};
use super::work_tree_copies::{ObjectSource, WorkTreeCopies};
use super::LfsStore;
use crate::error::Result;
use crate::progress::Monitor;

/// Upload the LFS objects of commits from `tip` that `remote_name`'s tracking refs do not reach,
/// to the LFS endpoint git-lfs's settings choose for uploads to `remote_url` (see
/// [`LfsEndpoint::resolve`]); the settings are read only when there is something to upload.
pub fn upload_pushed_objects(
    repo: &Repository,
    tip: Oid,
    remote_name: &str,
    remote_url: &Url,
    token: Option<SecretString>,
    config: &TransferConfig,
    monitor: &Monitor,
) -> Result<TransferSummary> {
    let known = remote_tracking_tips(repo, remote_name)?;
    let pointers = pointers_to_push(repo, tip, &known)?;
    if pointers.is_empty() {
        return Ok(TransferSummary::default());
    }
    // Objects missing from the store go to the batch request too: the server may have them.
    let store = LfsStore::for_repository(repo);
    let missing: Vec<_> = pointers
        .iter()
        .map(|found| found.pointer)
        .filter(|pointer| !store.contains(&pointer.oid, pointer.size))
        .collect();
    let copies = if missing.is_empty() {
        None
    } else {
        Some(WorkTreeCopies::find(repo, &store, &missing)?)
    };
    let items = pointers
        .into_iter()
        .map(|found| UploadItem {
            source: store.object_path(&found.pointer.oid),
            pointer: found.pointer,
            path: found.path,
        })
        .collect();
    let endpoint = LfsEndpoint::resolve(
        &LfsConfig::load(repo)?,
        remote_name,
        remote_url,
        token,
        Operation::Upload,
        monitor,
    )?;
    let remote = LfsRemote::for_repo(&endpoint.url, endpoint.token, repo)?;
    let restorer = copies.as_ref().map(|copies| copies as &dyn ObjectSource);
    Ok(upload_restoring(&remote, items, restorer, config, monitor)?)
}
