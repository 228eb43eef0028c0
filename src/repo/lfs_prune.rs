//! `Repository.lfs_prune`: remove the local copies of LFS objects that the remote has and nothing
//! local needs, by the rules of [`crate::lfs::prune`].
//!
//! A commit copies its files into the store before the commit exists (see [`super::commit`]), so
//! a prune that ran between the two could see an object nothing points at yet. Each commit holds
//! its checkout's index lock from before it cleans the first file until HEAD has moved, so the
//! prune holds the index lock of every checkout (the store is shared by all of them) for its whole
//! run, and the push lock, so that no push is uploading from the store meanwhile. It only unlinks
//! object files, one at a time: a prune killed midway has removed some of what it could, nothing
//! else, and never touches `lfs/tmp`.

use std::path::PathBuf;

use super::lock::{lock_index_in, lock_pushes};
use super::upstream::remote_spec;
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::Result;
use crate::hub::ensure_token_transport_is_safe;
use crate::lfs::checkouts::checkouts;
use crate::lfs::config::{LfsConfig, Operation};
use crate::lfs::endpoint::LfsEndpoint;
use crate::lfs::prune::{plan, remove, StoredObject};
use crate::lfs::transfer::{present_on_server, LfsRemote, TransferConfig};
use crate::lfs::{LfsStore, Pointer};
use crate::progress::{Monitor, Phase};

pub struct LfsPruneRequest {
    pub local_dir: PathBuf,
    /// Whose remote-tracking refs say what the remote has.
    pub remote_name: String,
    /// Decide and report, remove nothing.
    pub dry_run: bool,
    /// Also ask the remote's LFS server, and keep what it does not confirm.
    pub verify_remote: bool,
    /// For `verify_remote` only.
    pub token: TokenRequest,
}

/// What a prune removed (or, in a dry run, would remove) and what it kept.
#[derive(Debug, Clone, Default)]
pub struct PruneOutcome {
    pub removed: Vec<Pointer>,
    pub kept: Vec<Pointer>,
    /// Of `kept`: objects the rules allowed to remove but the server did not confirm.
    pub unverified: Vec<Pointer>,
    pub dry_run: bool,
}

pub fn lfs_prune(request: LfsPruneRequest, monitor: &Monitor) -> Result<PruneOutcome> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let spec = remote_spec(&repo, &request.remote_name)?;
    let _pushes = lock_pushes(&repo, monitor)?;
    let all = checkouts(&repo)?;
    let _indexes = all
        .iter()
        .map(|checkout| lock_index_in(&checkout.git_dir))
        .collect::<Result<Vec<_>>>()?;
    let states = all
        .iter()
        .map(|checkout| checkout.load(&repo))
        .collect::<Result<Vec<_>>>()?;
    let store = LfsStore::for_repository(&repo);
    let planned = plan(&repo, &store, &request.remote_name, &states)?;
    let mut kept = planned.kept;
    let mut removable = planned.removable;
    let mut unverified = Vec::new();

    if request.verify_remote && !removable.is_empty() {
        let token = resolve_token(request.token, spec.url_token, &ProcessEnv);
        ensure_token_transport_is_safe(&spec.url, token.is_some())?;
        let endpoint = LfsEndpoint::resolve(
            &LfsConfig::load(&repo)?,
            &request.remote_name,
            &spec.url,
            token,
            Operation::Download,
            monitor,
        )?;
        let remote = LfsRemote::new(&endpoint.url, endpoint.token)?;
        let pointers: Vec<Pointer> = removable.iter().map(|object| object.pointer).collect();
        let present = present_on_server(&remote, &pointers, &TransferConfig::default(), monitor)?;
        let (confirmed, missing): (Vec<StoredObject>, Vec<StoredObject>) = removable
            .into_iter()
            .partition(|object| present.contains(&object.pointer.oid));
        removable = confirmed;
        unverified = missing.iter().map(|object| object.pointer).collect();
        kept.extend(missing);
    }

    if !request.dry_run {
        remove(&removable)?;
    }
    monitor.report(Phase::Done, 1, 1, 0);
    Ok(PruneOutcome {
        removed: removable.iter().map(|object| object.pointer).collect(),
        kept: kept.iter().map(|object| object.pointer).collect(),
        unverified,
        dry_run: request.dry_run,
    })
}
