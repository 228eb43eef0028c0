//! Finding the LFS objects a push must upload: the pointers in commits the remote lacks.
//!
//! The walk starts at the commit being pushed and stops at everything the remote-tracking refs
//! already reach, so a push of one new checkpoint looks at that commit's changes only. Blob sizes
//! come from object headers, so multi-GB plain blobs are never read just to rule them out.

use std::collections::HashSet;

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
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    for id in known {
        // A remote-tracking ref may point at a commit a shallow clone does not have.
        let _ = walk.hide(*id);
    }
    let odb = repo.odb()?;
    let mut seen_blobs = HashSet::new();
    let mut found = Vec::new();
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
                    Delta::Added | Delta::Modified | Delta::Copied | Delta::Renamed
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
                found.push(PointerAtPath {
                    pointer: parsed.pointer,
                    path,
                });
            }
        }
    }
    Ok(found)
}
