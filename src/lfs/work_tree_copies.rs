//! Getting a pruned object back from the work tree when a push needs to upload it.
//!
//! A prune removes the store's copy of a pushed object whose work-tree file is intact (see
//! [`super::prune`]). A later push to a remote that lacks the object (a second remote, or the same
//! one after its history was rewritten) must still upload it, and the work tree has the bytes. So
//! when the server asks for an object the store lacks, the work-tree files whose index entry
//! points at it are cleaned into the store again, as a commit would (a clone where the file system
//! shares blocks), and kept only if they hash to the pointer: a file edited since is never sent
//! under the old oid.

use std::collections::HashMap;
use std::path::PathBuf;

use git2::Repository;

use super::checkouts::{checkouts, pointer_in_blob};
use super::pointer::Oid256;
use super::{LfsError, LfsStore, Pointer};
use crate::error::Result;

/// Where an upload finds an object missing from the store; see [`ObjectSource`].
pub trait ObjectSource: Send + Sync {
    /// Put `pointer`'s object into the store if this source has it: `Ok(true)` once it is there.
    fn restore(&self, pointer: &Pointer) -> Result<bool, LfsError>;
}

/// The work-tree files of every checkout, by the oid their index entry's pointer names.
pub struct WorkTreeCopies {
    store: LfsStore,
    files: HashMap<Oid256, Vec<PathBuf>>,
}

impl WorkTreeCopies {
    /// The files of every checkout of `repo` whose index entry is a pointer to one of `wanted`
    /// and whose length is the object's.
    pub fn find(repo: &Repository, store: &LfsStore, wanted: &[Pointer]) -> Result<Self> {
        let wanted: HashMap<Oid256, u64> = wanted.iter().map(|p| (p.oid, p.size)).collect();
        let odb = repo.odb()?;
        let mut files: HashMap<Oid256, Vec<PathBuf>> = HashMap::new();
        for checkout in checkouts(repo)? {
            let state = checkout.load(repo)?;
            let Some(index) = &state.index else {
                continue;
            };
            for entry in index.iter() {
                let Some(pointer) = pointer_in_blob(repo, &odb, entry.id) else {
                    continue;
                };
                let Some(path) = state.path_of(&entry) else {
                    continue;
                };
                if wanted.get(&pointer.oid) == Some(&pointer.size) {
                    files.entry(pointer.oid).or_default().push(path);
                }
            }
        }
        Ok(Self {
            store: store.clone(),
            files,
        })
    }
}

impl ObjectSource for WorkTreeCopies {
    fn restore(&self, pointer: &Pointer) -> Result<bool, LfsError> {
        for file in self.files.get(&pointer.oid).into_iter().flatten() {
            if self.store.restore_from(file, pointer)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
