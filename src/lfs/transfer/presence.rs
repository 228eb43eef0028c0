//! Asking the server which objects it has, without moving any: what `git lfs prune
//! --verify-remote` does before it deletes a local copy.
//!
//! One download batch request per 100 objects. An object counts as present only when the answer
//! offers a download action for it; a per-object error (404 "Object does not exist", 410 ...) or
//! an answer without an action counts as absent. A failed request fails the whole check, so a
//! caller never takes "could not ask" for "the server has it".

use std::collections::HashSet;

use super::batch::{request_batch, Operation, Outcome, BATCH_SIZE};
use super::{LfsRemote, Tracker, TransferConfig};
use crate::lfs::error::LfsError;
use crate::lfs::pointer::{Oid256, Pointer};
use crate::progress::{Monitor, Phase};

/// The oids of `pointers` the server confirms it has.
pub fn present_on_server(
    remote: &LfsRemote,
    pointers: &[Pointer],
    config: &TransferConfig,
    monitor: &Monitor,
) -> Result<HashSet<Oid256>, LfsError> {
    let tracker = Tracker::new(monitor, Phase::LfsVerify, pointers.len() as u64);
    let policy = config.policy()?;
    let mut present = HashSet::new();
    for chunk in pointers.chunks(BATCH_SIZE) {
        tracker.check()?;
        let answer = request_batch(
            remote,
            &policy,
            &tracker,
            Operation::Download,
            chunk,
            config.ref_name.as_deref(),
        )?;
        for object in answer.objects {
            if matches!(
                object.outcome,
                Outcome::Actions {
                    transfer: Some(_),
                    ..
                }
            ) {
                present.insert(object.pointer.oid);
            }
            tracker.object_skipped();
        }
    }
    Ok(present)
}
