//! What a training loop's `submit()` captures: the changed files as they are at that instant.
//!
//! A checkpoint pusher commits in the background, seconds after the loop asked for it, and the
//! loop keeps writing meanwhile. Reading whatever is on disk by then gave torn pushes: a file
//! truncated by the next `torch.save` that stood still between two writes hashed "cleanly" and
//! went out empty, or the next step's bytes went out under this step's message. So `submit()`
//! takes a [`Snapshot`] on the caller's thread, which costs a stat walk and no copy of content:
//!
//! - each file that differs from the index (git's stat rule) is recorded with its stat data and,
//!   where the file system allows, cloned (`FICLONE`: XFS, Btrfs) into a private copy that later
//!   writes cannot reach; else hard-linked, so a loop that writes a new file and `os.replace`s it
//!   (or a new directory per checkpoint) leaves the snapshot's inode untouched;
//! - the commit later reads each file from the work tree if its stat data is still the recorded
//!   one, else from the snapshot's own link or clone, and checks the stat data again after reading.
//!   Content that was rewritten in place before it could be read fails the commit with
//!   [`HfGitError::SnapshotOverwritten`] instead of being committed torn or under the wrong
//!   message: the pusher drops that submission for the next one.
//!
//! Stat data (inode, size, mode, mtime) is a sound witness of content here because Linux 6.13+
//! gives a write a fine-grained mtime once a stat has seen the old one (multigrain timestamps);
//! on older kernels a complete rewrite of the same size within one timer tick of the snapshot (a
//! few milliseconds) is not seen. The ctime is not compared: adding or removing a hard link (the
//! snapshot's own, or the loop deleting an old checkpoint) moves it without touching content.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use git2::{IndexEntry, Repository};

use super::pathspec::Pathspecs;
use crate::error::{HfGitError, Result};
use crate::platform::MetadataExt;

/// The stat data git keeps per index entry, at full width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl FileStat {
    pub fn of(meta: &Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The stat data of `path` (not following a final symlink), `None` if it is gone.
    pub fn read(path: &Path) -> Option<Self> {
        fs::symlink_metadata(path).ok().map(|meta| Self::of(&meta))
    }

    /// The same inode, unchanged except for its ctime, which moves when a hard link to it is
    /// added or removed (the snapshot's own link does both).
    pub fn same_except_ctime(&self, other: &Self) -> bool {
        Self {
            ctime: other.ctime,
            ..*self
        } == *other
    }

    /// Whether `entry` was recorded from this very content: the same inode, size, mode and mtime.
    /// Only the ctime may differ, which links to the inode move without a write.
    pub fn same_content_as_entry(&self, entry: &IndexEntry) -> bool {
        self.matches_entry_but_ctime(entry)
    }

    /// Whether git would take the file as unchanged since `entry` was written (`ie_match_stat`),
    /// the racy case aside.
    fn matches_entry(&self, entry: &IndexEntry) -> bool {
        self.matches_entry_but_ctime(entry)
            && entry.ctime.seconds() == self.ctime.0 as i32
            && entry.ctime.nanoseconds() == self.ctime.1 as u32
    }

    fn matches_entry_but_ctime(&self, entry: &IndexEntry) -> bool {
        let executable = self.mode & 0o111 != 0;
        let kind_matches = match entry.mode {
            0o120000 => self.mode & 0o170000 == 0o120000,
            0o100755 => self.mode & 0o170000 == 0o100000 && executable,
            0o100644 => self.mode & 0o170000 == 0o100000 && !executable,
            _ => false,
        };
        kind_matches
            && entry.file_size == self.size as u32
            && entry.ino == self.ino as u32
            && entry.mtime.seconds() == self.mtime.0 as i32
            && entry.mtime.nanoseconds() == self.mtime.1 as u32
    }

    /// Write this stat data into `entry`, as git does after reading the file.
    pub fn apply_to(&self, entry: &mut IndexEntry) {
        entry.ctime = git2::IndexTime::new(self.ctime.0 as i32, self.ctime.1 as u32);
        entry.mtime = git2::IndexTime::new(self.mtime.0 as i32, self.mtime.1 as u32);
        entry.dev = self.dev as u32;
        entry.ino = self.ino as u32;
        entry.uid = self.uid;
        entry.gid = self.gid;
        entry.file_size = self.size as u32;
    }
}

/// How the snapshot holds a file's content apart from the work tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    /// A block-sharing clone: no later write to the work tree reaches it.
    Reflink,
    /// A second name for the same inode: survives `os.replace` and deletion, not in-place writes.
    HardLink,
}

/// The snapshot's own name for one file's content.
#[derive(Debug, Clone)]
pub struct SnapshotCopy {
    pub path: PathBuf,
    pub kind: CopyKind,
    pub stat: FileStat,
}

/// One changed file at the instant of the snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotEntry {
    /// Relative to the work tree, `/`-separated.
    pub path: String,
    /// The work-tree file's stat data, taken after the snapshot's link or clone was made.
    pub recorded: FileStat,
    /// `None` for symlinks, and where neither a clone nor a link could be made.
    pub copy: Option<SnapshotCopy>,
}

/// The changed files of a work tree at one instant; its directory goes away when it is dropped.
#[derive(Debug)]
pub struct Snapshot {
    /// The work tree it was taken of.
    pub work_tree: PathBuf,
    pub entries: Vec<SnapshotEntry>,
    /// Paths the index had and the work tree no longer had.
    pub deleted: Vec<String>,
    /// Every file in scope that was there (changed or not): a commit made from the snapshot
    /// deletes what its index has in scope beyond these, which a commit that landed after the
    /// snapshot was taken (the submission before) may have added.
    pub present: BTreeSet<String>,
    /// The `paths` the snapshot was limited to (`None`: the whole work tree).
    pub scope: Option<Vec<PathBuf>>,
    dir: Option<PathBuf>,
}

impl Snapshot {
    /// The paths of `index` that the snapshot deletes: in its scope, and not present then.
    pub fn deletes(&self, index: &git2::Index) -> Result<Vec<String>> {
        let scope = match &self.scope {
            None => Pathspecs::everything(),
            Some(paths) => Pathspecs::new(&self.work_tree, index, paths)?,
        };
        Ok(index
            .iter()
            .filter(|entry| (entry.flags >> 12) & 0x3 == 0 && entry.mode != 0o160000)
            .filter_map(|entry| String::from_utf8(entry.path).ok())
            .filter(|path| scope.matches(path) && !self.present.contains(path))
            .collect())
    }

    /// Bytes of the files the snapshot recorded.
    pub fn size(&self) -> u64 {
        self.entries.iter().map(|entry| entry.recorded.size).sum()
    }

    /// Remove the snapshot's links and clones now (dropping it does the same).
    pub fn release(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.release();
    }
}

/// Where snapshots live: in the work tree's own git directory, on the work tree's file system
/// (hard links and clones cannot cross file systems).
fn snapshots_root(repo: &Repository) -> PathBuf {
    repo.path().join("hfgit-snapshots")
}

/// Record the files under `paths` (all when `None`) that differ from the index, as
/// `git add -A` would find them (ignored files and nested repositories left out).
pub fn take_snapshot(local_dir: &Path, paths: Option<&[PathBuf]>) -> Result<Snapshot> {
    let repo = super::open_work_tree(local_dir)?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| HfGitError::NotARepository {
            path: local_dir.to_path_buf(),
        })?
        .to_path_buf();
    let mut index = repo.index()?;
    index.read(true)?;
    let pathspecs = match paths {
        None => Pathspecs::everything(),
        Some(paths) => Pathspecs::new(&workdir, &index, paths)?,
    };
    let index_mtime = fs::metadata(repo.path().join("index"))
        .ok()
        .map(|meta| (meta.mtime(), meta.mtime_nsec()));
    let tracked: HashMap<String, IndexEntry> = index
        .iter()
        .filter(|entry| (entry.flags >> 12) & 0x3 == 0 && entry.mode != 0o160000)
        .filter_map(|entry| Some((String::from_utf8(entry.path.clone()).ok()?, entry)))
        .collect();
    let tracked_paths: BTreeSet<String> = tracked.keys().cloned().collect();

    let mut walk = Walk {
        repo: &repo,
        workdir: &workdir,
        pathspecs: &pathspecs,
        tracked: &tracked_paths,
        found: Vec::new(),
    };
    walk.directory("")?;
    let mut changed = Vec::new();
    let present: BTreeSet<String> = walk.found.iter().map(|(path, _)| path.clone()).collect();
    for (path, stat) in walk.found {
        let entry = tracked.get(&path);
        let unchanged =
            entry.is_some_and(|entry| stat.matches_entry(entry) && !racy(entry, index_mtime));
        if !unchanged {
            changed.push(path);
        }
    }
    let deleted: Vec<String> = tracked_paths
        .iter()
        .filter(|path| pathspecs.matches(path))
        .filter(|path| fs::symlink_metadata(workdir.join(path)).map_or(true, |meta| meta.is_dir()))
        .cloned()
        .collect();

    sweep_dead_snapshots(&snapshots_root(&repo));
    let dir = new_snapshot_dir(&repo)?;
    let mut entries = Vec::with_capacity(changed.len());
    for path in changed {
        let source = workdir.join(&path);
        let copy = copy_apart(&source, &dir.join(&path));
        // After the copy: a hard link moves the inode's ctime.
        let Some(recorded) = FileStat::read(&source) else {
            continue; // deleted while we looked: the next snapshot sees it gone
        };
        entries.push(SnapshotEntry {
            path,
            recorded,
            copy,
        });
    }
    Ok(Snapshot {
        work_tree: workdir,
        entries,
        deleted,
        present,
        scope: paths.map(<[PathBuf]>::to_vec),
        dir: Some(dir),
    })
}

/// git's racy-clean rule: an entry not older than the index file may hide a change made in the
/// same timestamp, so it counts as changed.
fn racy(entry: &IndexEntry, index_mtime: Option<(i64, i64)>) -> bool {
    let Some((secs, nanos)) = index_mtime else {
        return false;
    };
    let entry_mtime = (
        i64::from(entry.mtime.seconds()),
        i64::from(entry.mtime.nanoseconds()),
    );
    entry_mtime >= (secs, nanos)
}

struct Walk<'a> {
    repo: &'a Repository,
    workdir: &'a Path,
    pathspecs: &'a Pathspecs,
    tracked: &'a BTreeSet<String>,
    found: Vec<(String, FileStat)>,
}

impl Walk<'_> {
    fn directory(&mut self, relative: &str) -> Result<()> {
        let full = self.workdir.join(relative);
        let listing = match fs::read_dir(&full) {
            Ok(listing) => listing,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(HfGitError::io_at("listing", &full, err)),
        };
        for item in listing {
            let item = item.map_err(|err| HfGitError::io_at("listing", &full, err))?;
            let Some(name) = item.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if name == ".git" {
                continue;
            }
            let path = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let Ok(meta) = item.path().symlink_metadata() else {
                continue;
            };
            let is_tracked = self.tracked.contains(&path);
            if meta.is_dir() {
                let has_tracked = self
                    .tracked
                    .range(format!("{path}/")..)
                    .next()
                    .is_some_and(|p| p.starts_with(&format!("{path}/")));
                let nested_repository = item.path().join(".git").exists();
                let ignored = !has_tracked
                    && self
                        .repo
                        .status_should_ignore(Path::new(&format!("{path}/")))?;
                if !nested_repository && !ignored {
                    self.directory(&path)?;
                }
                continue;
            }
            if !self.pathspecs.matches(&path) {
                continue;
            }
            if !is_tracked && self.repo.status_should_ignore(Path::new(&path))? {
                continue;
            }
            self.found.push((path, FileStat::of(&meta)));
        }
        Ok(())
    }
}

static SNAPSHOT_COUNTER: AtomicU64 = AtomicU64::new(0);

fn new_snapshot_dir(repo: &Repository) -> Result<PathBuf> {
    let root = snapshots_root(repo);
    let name = format!(
        "{}-{}",
        std::process::id(),
        SNAPSHOT_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dir = root.join(name);
    fs::create_dir_all(&dir).map_err(|err| HfGitError::io_at("creating", &dir, err))?;
    Ok(dir)
}

/// Remove what killed processes left behind (names start with the taking process's id).
fn sweep_dead_snapshots(root: &Path) {
    let Ok(listing) = fs::read_dir(root) else {
        return;
    };
    for item in listing.flatten() {
        let name = item.file_name();
        let owner = name
            .to_string_lossy()
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok());
        if owner.is_some_and(|pid| !crate::lfs::process_is_alive(pid)) {
            let _ = fs::remove_dir_all(item.path());
        }
    }
}

/// A clone of `source` at `target` where the file system shares blocks, else a hard link;
/// `None` for a symlink or where neither works (the commit then reads the work tree, checked).
fn copy_apart(source: &Path, target: &Path) -> Option<SnapshotCopy> {
    let meta = fs::symlink_metadata(source).ok()?;
    if !meta.is_file() {
        return None;
    }
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).ok()?;
    }
    let kind = if reflink(source, target).is_ok() {
        CopyKind::Reflink
    } else if fs::hard_link(source, target).is_ok() {
        CopyKind::HardLink
    } else {
        return None;
    };
    let stat = FileStat::read(target)?;
    Some(SnapshotCopy {
        path: target.to_path_buf(),
        kind,
        stat,
    })
}

/// Clone `source`'s blocks into a new file `target` (`ioctl(FICLONE)`, Linux on XFS, Btrfs and
/// other copy-on-write file systems); an error where the file system cannot.
#[cfg(target_os = "linux")]
pub fn reflink(source: &Path, target: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let from = fs::File::open(source)?;
    let to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(target)?;
    // SAFETY: both descriptors are open for the duration of the call; FICLONE reads no memory.
    let answer = unsafe { libc::ioctl(to.as_raw_fd(), libc::FICLONE, from.as_raw_fd()) };
    if answer == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    drop(to);
    let _ = fs::remove_file(target);
    Err(err)
}

#[cfg(not(target_os = "linux"))]
pub fn reflink(_source: &Path, _target: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Repository) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repository::init(tmp.path()).unwrap();
        let mut index = repo.index().unwrap();
        for (name, text) in files {
            let full = tmp.path().join(name);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, text).unwrap();
            index.add_path(Path::new(name)).unwrap();
        }
        index.write().unwrap();
        // Entries older than the index are not racy.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut index = repo.index().unwrap();
        index.write().unwrap();
        (tmp, repo)
    }

    #[test]
    fn a_snapshot_lists_new_edited_and_deleted_files_but_not_unchanged_or_ignored_ones() {
        let (tmp, _repo) = repo_with(&[("kept.txt", "k"), ("gone.txt", "g"), ("edit.txt", "e")]);
        fs::write(tmp.path().join("edit.txt"), "edited").unwrap();
        fs::remove_file(tmp.path().join("gone.txt")).unwrap();
        fs::write(tmp.path().join(".gitignore"), "*.log\n").unwrap();
        fs::write(tmp.path().join("noise.log"), "x").unwrap();
        fs::create_dir(tmp.path().join("ckpt")).unwrap();
        fs::write(tmp.path().join("ckpt/model.bin"), "weights").unwrap();

        let snapshot = take_snapshot(tmp.path(), None).unwrap();

        let mut paths: Vec<&str> = snapshot.entries.iter().map(|e| e.path.as_str()).collect();
        paths.sort();
        assert_eq!(paths, [".gitignore", "ckpt/model.bin", "edit.txt"]);
        assert_eq!(snapshot.deleted, ["gone.txt"]);
    }

    #[test]
    fn a_snapshot_link_keeps_the_content_a_later_replace_takes_away() {
        let (tmp, _repo) = repo_with(&[("kept.txt", "k")]);
        let model = tmp.path().join("model.bin");
        fs::write(&model, "step 1").unwrap();

        let snapshot = take_snapshot(tmp.path(), None).unwrap();
        let replacement = tmp.path().join("model.tmp");
        fs::write(&replacement, "step 2").unwrap();
        fs::rename(&replacement, &model).unwrap();

        let copy = snapshot.entries[0].copy.as_ref().unwrap();
        assert_eq!(fs::read(&copy.path).unwrap(), b"step 1");
        let copy_path = copy.path.clone();
        drop(snapshot);
        assert!(!copy_path.exists());
    }

    #[test]
    fn a_snapshot_is_limited_to_its_paths() {
        let (tmp, _repo) = repo_with(&[("a/x.txt", "x"), ("b/y.txt", "y")]);
        fs::write(tmp.path().join("a/x.txt"), "x2").unwrap();
        fs::write(tmp.path().join("b/y.txt"), "y2").unwrap();

        let snapshot = take_snapshot(tmp.path(), Some(&[PathBuf::from("a")])).unwrap();

        let paths: Vec<&str> = snapshot.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a/x.txt"]);
        assert_eq!(snapshot.present.iter().collect::<Vec<_>>(), ["a/x.txt"]);
    }

    #[test]
    fn snapshots_of_a_dead_process_are_swept() {
        let (tmp, repo) = repo_with(&[("a.txt", "a")]);
        let stale = snapshots_root(&repo).join(format!("{}-0", i32::MAX));
        fs::create_dir_all(&stale).unwrap();

        drop(take_snapshot(tmp.path(), None).unwrap());

        assert!(!stale.exists());
    }
}
