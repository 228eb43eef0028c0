//! Finding LFS pointers in history: the pointers a push must upload, and those a prune weighs.
//!
//! A walk starts at some commits and stops at everything a set of other commits reaches, so a push
//! of one new checkpoint looks at that commit's changes only: each commit is compared with its
//! parents and only the blobs it adds or changes are read (a root commit, or one whose parents a
//! shallow clone lacks, counts its whole tree). With nothing hidden, every pointer of every tree in
//! the history is therefore seen, once, where it first appears. Blob sizes come from object
//! headers, so multi-GB plain blobs are never read just to rule them out.

use std::collections::HashSet;
use std::ops::ControlFlow;

use git2::{Delta, Oid, Repository};

use super::{Pointer, POINTER_SIZE_LIMIT};
use crate::error::Result;

/// A pointer found in history, with a path it appeared at (for messages).
#[derive(Debug, Clone)]
pub struct PointerAtPath {
    pub pointer: Pointer,
    pub path: String,
}

/// Pointers in commits reachable from `tip` and from none of `known`.
pub fn pointers_to_push(repo: &Repository, tip: Oid, known: &[Oid]) -> Result<Vec<PointerAtPath>> {
    let mut found = Vec::new();
    for_each_pointer(repo, &[tip], known, |pointer| {
        found.push(pointer);
        ControlFlow::Continue(())
    })?;
    Ok(found)
}

/// Call `visit` once per distinct non-empty pointer added or changed by a commit reachable from
/// `tips` and from none of `hidden`, until it says [`ControlFlow::Break`].
pub fn for_each_pointer(
    repo: &Repository,
    tips: &[Oid],
    hidden: &[Oid],
    mut visit: impl FnMut(PointerAtPath) -> ControlFlow<()>,
) -> Result<()> {
    let mut walk = repo.revwalk()?;
    for tip in tips {
        walk.push(*tip)?;
    }
    for id in hidden {
        // A remote-tracking ref may point at a commit a shallow clone does not have.
        let _ = walk.hide(*id);
    }
    let odb = repo.odb()?;
    let mut seen_blobs = HashSet::new();
    let mut seen_pointers = HashSet::new();
    for commit_id in walk {
        let commit = repo.find_commit(commit_id?)?;
        let tree = commit.tree()?;
        let parent_trees: Vec<Option<git2::Tree>> = if commit.parent_count() == 0 {
            vec![None]
        } else {
            commit.parents().map(|parent| parent.tree().ok()).collect()
        };
        for parent_tree in parent_trees {
            let diff = repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None)?;
            for delta in diff.deltas() {
                if !matches!(
                    delta.status(),
                    Delta::Added
                        | Delta::Modified
                        | Delta::Copied
                        | Delta::Renamed
                        | Delta::Typechange
                ) {
                    continue;
                }
                let file = delta.new_file();
                if !seen_blobs.insert(file.id()) {
                    continue;
                }
                let Ok((size, kind)) = odb.read_header(file.id()) else {
                    continue;
                };
                if kind != git2::ObjectType::Blob || size >= POINTER_SIZE_LIMIT {
                    continue;
                }
                let blob = repo.find_blob(file.id())?;
                let Some(parsed) = Pointer::parse(blob.content()) else {
                    continue;
                };
                if parsed.pointer.size == 0 || !seen_pointers.insert(parsed.pointer.oid) {
                    continue;
                }
                let path = file
                    .path()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let found = PointerAtPath {
                    pointer: parsed.pointer,
                    path,
                };
                if visit(found).is_break() {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}
