//! The clone destination: refused up front if it holds anything, removed again if the clone fails,
//! and marked while the clone runs.
//!
//! A failed or interrupted clone removes what it wrote, but `kill -9` (an OOM kill, a preempted
//! job) gives it no chance to. What is left then looks like a repository: it opens, `status()` is
//! clean, `pull()` is "up to date", while LFS files are still pointer text or the history is half
//! fetched. So the clone marks its git directory before fetching anything and removes the mark as
//! its last step; every operation refuses a marked repository with [`HfGitError::CloneInterrupted`],
//! and a new clone into the same directory starts over, keeping the verified LFS objects the
//! killed one had downloaded.

use std::fs;
use std::path::{Path, PathBuf};

use super::clone_lock::{lock_clone_target, CloneLock};
use crate::error::{HfGitError, Result};

/// Owns a clone's destination until [`keep`](CloneTarget::keep) is called; dropping it without
/// keeping removes what the clone wrote (the directory itself too, if the clone created it).
pub struct CloneTarget {
    path: PathBuf,
    created: bool,
    kept: bool,
    /// Where a killed clone's LFS objects wait to be taken back.
    resumed: Option<PathBuf>,
    /// Held until the clone is kept or removed: dropped after `Drop::drop` below has run.
    _lock: Option<CloneLock>,
}

/// A clone killed in its first milliseconds, before it could mark itself: nothing but a `.git`
/// that holds no object and no ref, so nothing of value.
fn is_bare_skeleton(path: &Path) -> bool {
    let only_git_dir = fs::read_dir(path)
        .is_ok_and(|entries| entries.flatten().all(|entry| entry.file_name() == ".git"));
    let git_dir = path.join(".git");
    only_git_dir
        && git_dir.is_dir()
        && !holds_a_file(&git_dir.join("objects"))
        && !holds_a_file(&git_dir.join("refs"))
        && !git_dir.join("packed-refs").exists()
}

fn holds_a_file(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let path = entry.path();
            if path.is_dir() {
                holds_a_file(&path)
            } else {
                true
            }
        })
    })
}

/// What of a killed clone's `.git/lfs` the next clone takes over: the verified objects, and the
/// partial downloads with their records (`incomplete/`, resumed by [`crate::lfs`]'s ranged
/// downloads after checking them against the object).
const KEPT_LFS_DIRS: [&str; 2] = ["objects", "incomplete"];

/// If `path` holds a killed clone, empty it, keeping its LFS objects and partial downloads beside
/// it; return where they are.
fn set_aside_interrupted_clone(path: &Path) -> Result<Option<PathBuf>> {
    let git_dir = path.join(".git");
    if !is_incomplete(&git_dir) && !is_bare_skeleton(path) {
        return Ok(None);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let saved = path.with_file_name(format!(".{name}.hfgit-lfs-objects"));
    let _ = fs::remove_dir_all(&saved);
    let mut kept = false;
    if fs::create_dir(&saved).is_ok() {
        for dir in KEPT_LFS_DIRS {
            kept |= fs::rename(git_dir.join("lfs").join(dir), saved.join(dir)).is_ok();
        }
    }
    for entry in fs::read_dir(path).map_err(|e| HfGitError::io_at("reading", path, e))? {
        let entry = entry.map_err(|e| HfGitError::io_at("reading", path, e))?;
        let child = entry.path();
        let removed = if child.is_dir() && !child.is_symlink() {
            fs::remove_dir_all(&child)
        } else {
            fs::remove_file(&child)
        };
        removed.map_err(|e| HfGitError::io_at("removing", &child, e))?;
    }
    Ok(kept.then_some(saved))
}

/// The file in the git directory that says a clone is still running (or was killed).
const INCOMPLETE_MARKER: &str = "hfgit-clone-incomplete";

/// Mark the git directory of a clone that has started.
pub fn mark_incomplete(git_dir: &Path) -> Result<()> {
    let marker = git_dir.join(INCOMPLETE_MARKER);
    fs::write(&marker, format!("{}\n", std::process::id()))
        .map_err(|e| HfGitError::io_at("writing", &marker, e))
}

/// Remove the mark: the clone is complete.
pub fn mark_complete(git_dir: &Path) -> Result<()> {
    let marker = git_dir.join(INCOMPLETE_MARKER);
    match fs::remove_file(&marker) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(HfGitError::io_at("removing", &marker, err))
        }
        _ => Ok(()),
    }
}

/// Whether the clone that made this git directory never finished.
pub fn is_incomplete(git_dir: &Path) -> bool {
    git_dir.join(INCOMPLETE_MARKER).exists()
}

impl CloneTarget {
    /// Claim `path` for a clone: a missing or empty directory, or the remains of a clone that was
    /// killed (whose LFS objects are set aside for [`Self::restore_lfs_objects`]).
    pub fn claim(path: &Path) -> Result<Self> {
        // Before looking: a directory marked incomplete may be another clone's, still running.
        let lock = lock_clone_target(path)?;
        let resumed = set_aside_interrupted_clone(path)?;
        let created = match fs::read_dir(path) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(HfGitError::DirectoryNotEmpty {
                        path: path.to_path_buf(),
                    });
                }
                false
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(path).map_err(|e| HfGitError::io_at("creating", path, e))?;
                true
            }
            Err(_) if path.exists() => {
                return Err(HfGitError::DirectoryNotEmpty {
                    path: path.to_path_buf(),
                });
            }
            Err(err) => return Err(HfGitError::io_at("reading", path, err)),
        };
        Ok(Self {
            path: path.to_path_buf(),
            created,
            kept: false,
            resumed,
            _lock: lock,
        })
    }

    /// Put the LFS objects and partial downloads of the killed clone this one replaces into the
    /// new git directory.
    pub fn restore_lfs_objects(&mut self, git_dir: &Path) {
        let Some(saved) = self.resumed.take() else {
            return;
        };
        let lfs = git_dir.join("lfs");
        if fs::create_dir_all(&lfs).is_ok() {
            for dir in KEPT_LFS_DIRS {
                let _ = fs::rename(saved.join(dir), lfs.join(dir));
            }
        }
        let _ = fs::remove_dir_all(&saved);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Remove what an attempt wrote, so the clone can start again in an empty directory.
    pub fn clear(&self) -> Result<()> {
        let entries = match fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return fs::create_dir_all(&self.path)
                    .map_err(|e| HfGitError::io_at("creating", &self.path, e));
            }
            Err(err) => return Err(HfGitError::io_at("reading", &self.path, err)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| HfGitError::io_at("reading", &self.path, e))?;
            let child = entry.path();
            let removed = if child.is_dir() && !child.is_symlink() {
                fs::remove_dir_all(&child)
            } else {
                fs::remove_file(&child)
            };
            removed.map_err(|e| HfGitError::io_at("removing", &child, e))?;
        }
        Ok(())
    }

    pub fn keep(mut self) -> PathBuf {
        self.kept = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for CloneTarget {
    fn drop(&mut self) {
        if let Some(saved) = self.resumed.take() {
            let _ = fs::remove_dir_all(saved);
        }
        if self.kept {
            return;
        }
        if self.created {
            let _ = fs::remove_dir_all(&self.path);
        } else if let Ok(entries) = fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() && !path.is_symlink() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_the_clone_created_is_removed_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("new");
        drop(CloneTarget::claim(&dest).unwrap());
        assert!(!dest.exists());
    }

    #[test]
    fn an_existing_empty_directory_is_emptied_but_kept_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let target = CloneTarget::claim(tmp.path()).unwrap();
        fs::create_dir(tmp.path().join(".git")).unwrap();
        fs::write(tmp.path().join("file"), b"x").unwrap();
        drop(target);
        assert!(tmp.path().exists());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_non_empty_directory_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("keep.txt"), b"mine").unwrap();
        assert!(matches!(
            CloneTarget::claim(tmp.path()),
            Err(HfGitError::DirectoryNotEmpty { .. })
        ));
        assert!(tmp.path().join("keep.txt").exists());
    }

    #[test]
    fn a_kept_clone_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("kept");
        CloneTarget::claim(&dest).unwrap().keep();
        assert!(dest.exists());
    }
}
