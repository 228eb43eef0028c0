//! The checkouts that share one LFS store, and whether a work-tree file still holds an object.
//!
//! The store lives in the common git directory, so the main work tree and every linked worktree
//! (`git worktree add`) draw on it, each with a HEAD and an index of its own. Whatever one of them
//! needs must stay in the store, so the prune and the upload path look at all of them, not only at
//! the one they were called in. A linked worktree whose directory is gone (on a disk that is not
//! mounted, or deleted without `git worktree prune`) still has its HEAD and index in the common
//! git directory: it is read from there, and, with no files to look at, none of its files can be
//! shown to hold anything.
//!
//! Whether a file holds an object is git's own clean rule: the file's stat data matches its index
//! entry, and the entry is not racily clean (written in the same clock tick as the index, when stat
//! data proves nothing). The entry was written from the very file that was hashed (commit) or
//! written out (checkout), so a match means the file still holds what the entry's pointer names.

use std::fs;
use std::path::{Path, PathBuf};

use git2::{Index, IndexEntry, Oid, Repository};

use super::refresh::{index_written, racy, stat_matches};
use super::{sha256_file, Pointer, POINTER_SIZE_LIMIT};
use crate::error::{HfGitError, Result};
use crate::platform::path_from_bytes;

/// One checkout of the repository: where its own git files and its work tree are.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// Its git directory: the common one for the main work tree, `worktrees/<name>` in it for a
    /// linked worktree. Its `HEAD`, `index` and index lock live here.
    pub git_dir: PathBuf,
    /// The work tree, or `None` for a bare main repository or a linked worktree that is gone.
    pub workdir: Option<PathBuf>,
}

/// What one checkout has checked out and staged, read at one moment.
pub struct CheckoutState {
    pub checkout: Checkout,
    /// The commit HEAD names, or `None` on an unborn branch.
    pub head: Option<Oid>,
    /// The index, or `None` when there is none yet.
    pub index: Option<Index>,
    index_written: Option<(i64, i64)>,
}

/// Every checkout of the repository `repo` belongs to, the main one first. Nothing is read but
/// where they are, so a caller can lock them before reading them with [`Checkout::load`].
pub fn checkouts(repo: &Repository) -> Result<Vec<Checkout>> {
    let common = repo.commondir().to_path_buf();
    let main = Repository::open(&common)?;
    let mut found = vec![Checkout {
        git_dir: common.clone(),
        workdir: main.workdir().map(Path::to_path_buf),
    }];
    // Every directory under `worktrees/` is one linked worktree (its name may be any bytes);
    // its `gitdir` file names the `.git` file inside the work tree, as git writes it.
    let linked = common.join("worktrees");
    let mut names: Vec<PathBuf> = match fs::read_dir(&linked) {
        Ok(entries) => entries.flatten().map(|entry| entry.path()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    for git_dir in names {
        if !git_dir.join("HEAD").is_file() {
            continue;
        }
        let workdir = fs::read(git_dir.join("gitdir"))
            .ok()
            .map(|text| path_from_bytes(text.trim_ascii_end()).into_owned())
            .map(|dot_git| {
                if dot_git.is_relative() {
                    git_dir.join(dot_git)
                } else {
                    dot_git
                }
            })
            .filter(|dot_git| dot_git.exists())
            .and_then(|dot_git| dot_git.parent().map(Path::to_path_buf));
        found.push(Checkout { git_dir, workdir });
    }
    Ok(found)
}

impl Checkout {
    /// Read this checkout's HEAD and index (refs resolve in `repo`, any checkout of the same
    /// repository: they share their refs).
    pub fn load(&self, repo: &Repository) -> Result<CheckoutState> {
        let head_file = self.git_dir.join("HEAD");
        let head_text = fs::read_to_string(&head_file)
            .map_err(|err| HfGitError::io_at("reading", &head_file, err))?;
        let head = match head_text.trim().strip_prefix("ref:") {
            Some(name) => repo.refname_to_id(name.trim()).ok(),
            None => Some(Oid::from_str(head_text.trim()).map_err(|_| {
                HfGitError::Git(format!(
                    "{} names no commit: {:?}",
                    head_file.display(),
                    head_text.trim()
                ))
            })?),
        };
        let index_path = self.git_dir.join("index");
        let index = if index_path.exists() {
            Some(Index::open(&index_path)?)
        } else {
            None
        };
        Ok(CheckoutState {
            checkout: self.clone(),
            head,
            index,
            index_written: index_written(&index_path),
        })
    }
}

impl CheckoutState {
    /// Whether the work-tree file of `entry`, whose blob is `pointer`, holds the pointer's
    /// content: present, a regular file of the content's length, stat data as the entry records
    /// and the entry not racily clean. A file shorter than a pointer could be the pointer text
    /// itself, so it is hashed instead. Anything that cannot be shown counts as not holding it.
    pub fn holds(&self, entry: &IndexEntry, pointer: &Pointer) -> bool {
        let Some(workdir) = &self.checkout.workdir else {
            return false;
        };
        let stage = (entry.flags >> 12) & 0x3;
        let path = workdir.join(path_from_bytes(&entry.path));
        let Ok(meta) = fs::symlink_metadata(&path) else {
            return false;
        };
        let clean = stage == 0
            && meta.is_file()
            && meta.len() == pointer.size
            && stat_matches(entry, &meta)
            && !racy(entry, self.index_written);
        if !clean {
            return false;
        }
        if pointer.size < POINTER_SIZE_LIMIT as u64 {
            return sha256_file(&path).is_ok_and(|found| found == (pointer.oid, pointer.size));
        }
        true
    }

    /// The work-tree path of `entry`, if this checkout has a work tree.
    pub fn path_of(&self, entry: &IndexEntry) -> Option<PathBuf> {
        let workdir = self.checkout.workdir.as_ref()?;
        Some(workdir.join(path_from_bytes(&entry.path)))
    }
}

/// The pointer a blob holds, if it is a non-empty pointer.
pub fn pointer_in_blob(repo: &Repository, odb: &git2::Odb<'_>, blob: Oid) -> Option<Pointer> {
    match odb.read_header(blob) {
        Ok((size, git2::ObjectType::Blob)) if size < POINTER_SIZE_LIMIT => {}
        _ => return None,
    }
    let blob = repo.find_blob(blob).ok()?;
    Pointer::parse(blob.content())
        .map(|parsed| parsed.pointer)
        .filter(|pointer| pointer.size > 0)
}
