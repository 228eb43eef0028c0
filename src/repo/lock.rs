//! One writer at a time: the locks that keep two hfgit calls (two processes, or a notebook and a
//! `CheckpointPusher` thread) from undoing each other's work.
//!
//! git takes `.git/index.lock` while it reads, changes and writes the index, and refuses a second
//! writer. libgit2 only locks the index for the instant it writes it, so two commits that each
//! read the index, stage, and write it back lose whatever the first one staged: the second commit's
//! tree then lacks the file the first just committed. hfgit therefore holds a lock of its own for
//! the whole read-stage-write-commit sequence, and checks that nobody else (git itself, which does
//! not know this lock) rewrote the index meanwhile.
//!
//! The locks are `flock`-style file locks (`File::try_lock`): the kernel releases them when their
//! holder exits, `kill -9` included, so they never go stale. They conflict between two handles of
//! the same process too, so a background push and a push from the notebook exclude each other.
//! The lock file holds the holder's process id, only to name it in the error.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use git2::Repository;

use crate::error::{git_lock_advice, HfGitError, Result};
use crate::lfs::racy::write_index_after;
use crate::progress::Monitor;

/// The lock file beside the index (one per work tree, linked worktrees included).
const INDEX_LOCK: &str = "hfgit-index.lock";
/// The lock file of pushes and pulls (one per repository: worktrees share their refs).
const PUSH_LOCK: &str = "hfgit-push.lock";
/// How often a blocked push looks again (and checks for Ctrl-C).
const POLL: Duration = Duration::from_millis(50);

/// A held lock; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct HeldLock {
    _file: File,
}

/// Take the work tree's index lock, or fail at once with [`HfGitError::RepositoryLocked`] naming
/// the lock file and the process holding it, as git fails when `index.lock` exists.
pub fn lock_index(repo: &Repository) -> Result<HeldLock> {
    lock_index_file(index_lock_path(repo))
}

/// [`lock_index`] of the checkout whose own git directory is `git_dir` (`.git`, or
/// `.git/worktrees/<name>` for a linked worktree): for a caller that locks every checkout.
pub fn lock_index_in(git_dir: &Path) -> Result<HeldLock> {
    lock_index_file(git_dir.join(INDEX_LOCK))
}

fn lock_index_file(path: PathBuf) -> Result<HeldLock> {
    let mut file = open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => {
            record_holder(&mut file);
            Ok(HeldLock { _file: file })
        }
        Err(TryLockError::WouldBlock) => Err(HfGitError::RepositoryLocked {
            holder: holder_of(&mut file),
            path,
            advice: "another hfgit call is changing this work tree; wait for it to finish, then \
                     try again (this lock goes away by itself when its holder exits)"
                .to_owned(),
        }),
        Err(TryLockError::Error(err)) => Err(HfGitError::io_at("locking", &path, err)),
    }
}

/// Like [`lock_index`], but `None` instead of an error when another writer holds it: for the
/// stat-data refresh of `status()`, which git also skips when it cannot lock.
pub fn try_lock_index(repo: &Repository) -> Option<HeldLock> {
    lock_index(repo).ok()
}

/// Take the repository's push lock, waiting for a push or pull that holds it to finish: two
/// pushes of one repository would race for the same remote ref, and the loser would report a
/// rejection for commits that did reach the server. Ctrl-C stops the wait.
pub fn lock_pushes(repo: &Repository, monitor: &Monitor) -> Result<HeldLock> {
    let path = repo.commondir().join(PUSH_LOCK);
    let mut file = open_lock_file(&path)?;
    loop {
        match file.try_lock() {
            Ok(()) => {
                record_holder(&mut file);
                return Ok(HeldLock { _file: file });
            }
            Err(TryLockError::WouldBlock) => {
                if monitor.is_cancelled() {
                    return Err(HfGitError::Cancelled);
                }
                std::thread::sleep(POLL);
            }
            Err(TryLockError::Error(err)) => {
                return Err(HfGitError::io_at("locking", &path, err));
            }
        }
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|err| HfGitError::io_at("opening the lock file", path, err))
}

pub(super) fn record_holder(file: &mut File) {
    let _ = file.set_len(0);
    let _ = file.seek(SeekFrom::Start(0));
    let _ = writeln!(file, "{}", std::process::id());
}

pub(super) fn holder_of(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.take(32).read_to_string(&mut text);
    match text.trim().parse::<u32>() {
        Ok(pid) if pid == std::process::id() => "another call in this process".to_owned(),
        Ok(pid) => format!("process {pid}"),
        Err(_) => "another hfgit call".to_owned(),
    }
}

/// The index file's identity at one moment: its trailing checksum (git writes a SHA-1 of the
/// content as the last 20 bytes), or `None` when there is no index yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStamp(Option<Vec<u8>>);

impl IndexStamp {
    pub fn read(repo: &Repository) -> Result<Self> {
        let path = repo.path().join("index");
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self(None)),
            Err(err) => return Err(HfGitError::io_at("reading", &path, err)),
        };
        let mut trailer = vec![0u8; 20];
        let read = file
            .seek(SeekFrom::End(-20))
            .and_then(|_| file.read_exact(&mut trailer));
        match read {
            Ok(()) => Ok(Self(Some(trailer))),
            // Shorter than a checksum: compare the whole (tiny) file instead.
            Err(_) => Ok(Self(Some(fs::read(&path).unwrap_or_default()))),
        }
    }

    /// Fail with [`HfGitError::ConcurrentChange`] when the index on disk is no longer the one
    /// this stamp describes.
    pub fn ensure_unchanged(&self, repo: &Repository) -> Result<()> {
        if Self::read(repo)? == *self {
            Ok(())
        } else {
            Err(HfGitError::ConcurrentChange {
                what: format!("the index {}", repo.path().join("index").display()),
            })
        }
    }
}

/// Where the index lock lives: beside the index of this work tree.
pub fn index_lock_path(repo: &Repository) -> PathBuf {
    repo.path().join(INDEX_LOCK)
}

/// Write `index` after `newest_file` (see [`crate::lfs::racy`]); a git `index.lock` in the way
/// (libgit2 says only "the index is locked") is named with its path.
pub fn write_index(
    repo: &Repository,
    index: &mut git2::Index,
    newest_file: Option<std::time::SystemTime>,
) -> Result<()> {
    let index_path = repo.path().join("index");
    write_index_after(index, &index_path, newest_file).map_err(|err| match err {
        HfGitError::RepositoryLocked { path, holder, .. } if path.as_os_str().is_empty() => {
            let path = repo.path().join("index.lock");
            HfGitError::RepositoryLocked {
                advice: git_lock_advice(&path),
                path,
                holder,
            }
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_index_lock_fails_naming_the_file_and_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init(tmp.path()).unwrap();
        let held = lock_index(&repo).unwrap();

        let err = lock_index(&repo).unwrap_err();

        match &err {
            HfGitError::RepositoryLocked { path, holder, .. } => {
                assert_eq!(path, &index_lock_path(&repo));
                assert_eq!(holder, "another call in this process");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("hfgit-index.lock"), "{err}");
        drop(held);
        assert!(lock_index(&repo).is_ok());
    }

    #[test]
    fn a_blocked_push_lock_waits_and_gives_up_on_cancel() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init(tmp.path()).unwrap();
        let monitor = Monitor::default();
        let held = lock_pushes(&repo, &monitor).unwrap();
        monitor.cancel();

        assert!(matches!(
            lock_pushes(&repo, &monitor),
            Err(HfGitError::Cancelled)
        ));
        drop(held);
    }

    #[test]
    fn an_index_rewritten_by_someone_else_is_noticed() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init(tmp.path()).unwrap();
        let before = IndexStamp::read(&repo).unwrap();
        before.ensure_unchanged(&repo).unwrap();
        std::fs::write(tmp.path().join("a.txt"), "a").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.txt")).unwrap();
        index.write().unwrap();

        assert!(matches!(
            before.ensure_unchanged(&repo),
            Err(HfGitError::ConcurrentChange { .. })
        ));
    }
}
