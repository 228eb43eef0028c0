//! One clone per destination at a time.
//!
//! A clone claims its directory by finding it missing or empty, which two clones started at the
//! same moment (two notebook kernels, two ranks of a job) both do. Worse, a clone that finds a
//! directory marked incomplete takes it for the remains of a killed clone and empties it, so the
//! second clone would delete the first one's files while it is still writing them. The clone
//! therefore holds a lock on a file beside its destination (`.<name>.hfgit-clone.lock`) from
//! before it looks at the directory until it is done; a second clone fails at once with
//! [`HfGitError::RepositoryLocked`] naming the process that holds it.
//!
//! The lock file is removed when the clone ends. A process that opened it just before the
//! removal may lock the unlinked file, so a lock only counts while the path still names the file
//! locked (the usual check: same file before and after locking).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::lock::{holder_of, record_holder};
use crate::error::{HfGitError, Result};

/// The lock of one clone's destination; removed and released when dropped (and released by the
/// kernel when the process ends, `kill -9` included, so a killed clone never blocks the next).
#[derive(Debug)]
pub struct CloneLock {
    path: PathBuf,
    _file: File,
}

/// Where the lock of a clone into `dir` lives: beside it, so that it exists before the directory
/// does and is not among the files the clone writes or removes. Beside the directory as the file
/// system resolves it: two spellings of one folder (a symlink, `a/..`) share one lock.
pub fn clone_lock_path(dir: &Path) -> PathBuf {
    let dir = resolved(dir);
    let name = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!(".{name}.hfgit-clone.lock"))
}

/// `dir` with its symlinks, `.` and `..` resolved: the directory itself if it exists, else its
/// nearest existing ancestor, with the rest of the path as given.
fn resolved(dir: &Path) -> PathBuf {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut missing = Vec::new();
    let mut existing = absolute.as_path();
    loop {
        if let Ok(real) = fs::canonicalize(existing) {
            return missing
                .iter()
                .rev()
                .fold(real, |path, part| path.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Take the lock of a clone into `dir`, or fail at once if another clone holds it. `None` when
/// the lock cannot be made because the directory beside which it goes is not writable (an empty
/// mount point under a read-only parent): such a clone goes on unlocked, as git's would.
pub fn lock_clone_target(dir: &Path) -> Result<Option<CloneLock>> {
    let path = clone_lock_path(dir);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| HfGitError::io_at("creating", parent, e))?;
    }
    loop {
        let mut file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(file) => file,
            Err(err) if unwritable(&err) => return Ok(None),
            Err(err) => return Err(HfGitError::io_at("opening the lock file", &path, err)),
        };
        match file.try_lock() {
            Ok(()) if still_named(&path, &file) => {
                record_holder(&mut file);
                return Ok(Some(CloneLock { path, _file: file }));
            }
            // The holder removed the file between our open and our lock: open the new one.
            Ok(()) => continue,
            Err(TryLockError::WouldBlock) => {
                return Err(HfGitError::RepositoryLocked {
                    holder: holder_of(&mut file),
                    advice: format!(
                        "another clone into {} is running; wait for it to finish, then open the \
                         result with hfgit.Repository (running the same clone again reopens it), \
                         or clone into another directory",
                        dir.display()
                    ),
                    path,
                });
            }
            Err(TryLockError::Error(err)) => {
                return Err(HfGitError::io_at("locking", &path, err));
            }
        }
    }
}

fn unwritable(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
    )
}

#[cfg(unix)]
fn still_named(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(path), file.metadata()) {
        (Ok(named), Ok(held)) => named.dev() == held.dev() && named.ino() == held.ino(),
        _ => false,
    }
}

/// Windows does not remove a file another process holds open, so the path names it still.
#[cfg(not(unix))]
fn still_named(path: &Path, _file: &File) -> bool {
    path.exists()
}

impl Drop for CloneLock {
    /// Remove the file while still holding the lock, so that no one can lock a file about to go.
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_clone_into_the_same_directory_is_refused_naming_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("model");
        let held = lock_clone_target(&dest).unwrap().unwrap();

        let err = lock_clone_target(&dest).unwrap_err();

        match &err {
            HfGitError::RepositoryLocked { path, holder, .. } => {
                assert_eq!(path, &tmp.path().join(".model.hfgit-clone.lock"));
                assert_eq!(holder, "another call in this process");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("another clone into"), "{err}");
        drop(held);
        assert!(!clone_lock_path(&dest).exists(), "the lock file is removed");
        assert!(lock_clone_target(&dest).unwrap().is_some());
    }

    #[test]
    fn the_lock_of_the_current_directory_goes_beside_it_not_into_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("here");
        fs::create_dir(&dest).unwrap();
        let dotted = dest.join("sub").join("..");
        fs::create_dir(dest.join("sub")).unwrap();
        assert_eq!(
            clone_lock_path(&dotted),
            fs::canonicalize(tmp.path())
                .unwrap()
                .join(".here.hfgit-clone.lock")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_named_through_a_symlink_shares_the_lock_of_its_real_name() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, tmp.path().join("link")).unwrap();
        let held = lock_clone_target(&real).unwrap();
        assert!(held.is_some());
        assert!(matches!(
            lock_clone_target(&tmp.path().join("link")),
            Err(HfGitError::RepositoryLocked { .. })
        ));
        assert!(matches!(
            lock_clone_target(&tmp.path().join("real").join(".")),
            Err(HfGitError::RepositoryLocked { .. })
        ));
    }

    #[test]
    fn clones_into_different_directories_do_not_block_each_other() {
        let tmp = tempfile::tempdir().unwrap();
        let a = lock_clone_target(&tmp.path().join("a")).unwrap();
        let b = lock_clone_target(&tmp.path().join("b")).unwrap();
        assert!(a.is_some() && b.is_some());
    }

    #[test]
    fn the_lock_of_a_directory_whose_parent_is_missing_creates_the_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("x").join("y");
        let held = lock_clone_target(&dest).unwrap();
        assert!(held.is_some());
        assert!(clone_lock_path(&dest).exists());
    }
}
