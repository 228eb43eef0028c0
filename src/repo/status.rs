//! What changed in the work tree since HEAD, one entry per path.

use std::collections::BTreeSet;
use std::path::Path;

use git2::{Repository, Status, StatusOptions};

use crate::lfs::attribute_source::WorkTreeAttributes;
use crate::lfs::clean::{cleaned_blob, converted_blob_id};
use crate::lfs::refresh::{stale_lfs_entries, StaleLfsEntry};
use crate::lfs::stage::index_entry;
use crate::repo::lock::{try_lock_index, write_index, IndexStamp};

use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
    Renamed,
    TypeChanged,
    Untracked,
    Conflicted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Modified => "modified",
            Self::Deleted => "deleted",
            Self::Renamed => "renamed",
            Self::TypeChanged => "typechange",
            Self::Untracked => "untracked",
            Self::Conflicted => "conflicted",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StatusEntry {
    pub path: String,
    pub kind: ChangeKind,
    /// Whether the change is already in the index.
    pub staged: bool,
    /// Whether `.gitattributes` sends this path to Git LFS.
    pub lfs: bool,
}

pub fn status(local_dir: &Path) -> Result<Vec<StatusEntry>> {
    let repo = super::open_work_tree(local_dir)?;
    entries(&repo, false)
}

/// [`status`] for a caller that holds the index lock: the refreshed stat data of unchanged LFS
/// files is written (a look without the lock skips that), so a checkout that follows sees them
/// clean by their stat data, as this look did by their content. The look works on a handle of
/// its own: the in-memory marks it puts on changed LFS entries must not reach the caller's
/// index, which a checkout would write.
pub(super) fn status_while_index_locked(repo: &Repository) -> Result<Vec<StatusEntry>> {
    let Some(workdir) = repo.workdir() else {
        return Ok(Vec::new());
    };
    let own = Repository::open_ext(
        workdir,
        git2::RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&std::ffi::OsStr>(),
    )?;
    entries(&own, true)
}

fn entries(repo: &Repository, index_locked: bool) -> Result<Vec<StatusEntry>> {
    let mut lfs_modified = settle_changed_lfs_files(repo, index_locked)?;
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .renames_head_to_index(true);
    let statuses = repo.statuses(Some(&mut options))?;
    let paths: Vec<String> = statuses
        .iter()
        .filter_map(|entry| entry.path().ok().map(str::to_owned))
        .collect();
    let attributes = WorkTreeAttributes::load(repo, &repo.index()?, &paths)?;
    let mut entries: Vec<StatusEntry> = statuses
        .iter()
        .filter_map(|entry| {
            let flags = entry.status();
            let kind = kind_of(flags)?;
            let staged = flags.intersects(
                Status::INDEX_NEW
                    | Status::INDEX_MODIFIED
                    | Status::INDEX_DELETED
                    | Status::INDEX_RENAMED
                    | Status::INDEX_TYPECHANGE,
            );
            let path = entry.path().ok().map(str::to_owned)?;
            let lfs = attributes.is_lfs(&path);
            lfs_modified.remove(&path);
            Some(StatusEntry {
                path,
                kind,
                staged,
                lfs,
            })
        })
        .collect();
    entries.extend(lfs_modified.into_iter().map(|path| StatusEntry {
        path,
        kind: ChangeKind::Modified,
        staged: false,
        lfs: true,
    }));
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// Decide the LFS files whose stat data changed by the blob the clean filter would make of them,
/// the way git with git-lfs does, instead of letting libgit2 compare their bytes with the pointer
/// blob (which never matches and costs a full SHA-1 pass per look). Unchanged ones get fresh stat
/// data in the index, as `git status` refreshes it, and keep the mode the index records: a look
/// never stages anything. Changed ones are marked modified for libgit2 in memory only, and are
/// returned so they are reported even if libgit2 says nothing of them.
fn settle_changed_lfs_files(repo: &Repository, index_locked: bool) -> Result<BTreeSet<String>> {
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        return Ok(BTreeSet::new());
    };
    let stamp = IndexStamp::read(repo)?;
    let mut index = repo.index()?;
    let stale = stale_lfs_entries(repo, &index, &workdir, &|_| true)?;
    let mut unchanged = Vec::new();
    let mut changed = Vec::new();
    let mut passed_through = Vec::new();
    for entry in stale {
        // git's shortcut: a size unlike the recorded one (when one is recorded) is a change,
        // without looking at the content, even if cleaning would give the same blob again.
        let resized = entry.recorded_size != 0 && entry.recorded_size != entry.meta.len() as u32;
        let cleaned = if resized {
            None
        } else {
            cleaned_blob(&workdir.join(&entry.path)).ok()
        };
        match cleaned {
            Some((_, true)) => passed_through.push(entry),
            Some((blob, false)) if blob_id(&blob) == Some(entry.blob) => unchanged.push(entry),
            _ => changed.push(entry),
        }
    }
    // A pointer file that passed through unchanged still gets the path's line-ending conversion.
    if !passed_through.is_empty() {
        let paths: Vec<String> = passed_through.iter().map(|e| e.path.clone()).collect();
        let attributes = WorkTreeAttributes::load(repo, &index, &paths)?;
        for entry in passed_through {
            let full = workdir.join(&entry.path);
            let id = if attributes.stores_bytes_unchanged(&entry.path) {
                cleaned_blob(&full)
                    .ok()
                    .and_then(|(blob, _)| blob_id(&blob))
            } else {
                converted_blob_id(repo, &full).ok()
            };
            if id == Some(entry.blob) {
                unchanged.push(entry);
            } else {
                changed.push(entry);
            }
        }
    }
    let recorded = |entry: &StaleLfsEntry| {
        let mut refreshed = index_entry(&entry.path, &entry.meta, entry.blob);
        refreshed.mode = entry.mode;
        refreshed
    };
    // Saving the refreshed stat data is only a speed-up for the next look: like git, skip it when
    // another writer holds the index or has changed it since it was read.
    let held = if index_locked {
        None
    } else {
        try_lock_index(repo)
    };
    let writable = (index_locked || held.is_some()) && stamp.ensure_unchanged(repo).is_ok();
    if !unchanged.is_empty() {
        let newest = unchanged
            .iter()
            .filter_map(|e| e.meta.modified().ok())
            .max();
        for entry in &unchanged {
            index.add(&recorded(entry))?;
        }
        if writable {
            write_index(repo, &mut index, newest)?;
        }
    }
    for entry in &changed {
        // In memory only: a recorded size unlike the file's makes libgit2 call it modified from
        // stat data alone, where matching stat data would look racy and be hashed anyway.
        let mut marker = recorded(entry);
        marker.file_size = marker.file_size.wrapping_add(1);
        index.add(&marker)?;
    }
    Ok(changed.into_iter().map(|entry| entry.path).collect())
}

fn blob_id(content: &[u8]) -> Option<git2::Oid> {
    git2::Oid::hash_object(git2::ObjectType::Blob, content).ok()
}

fn kind_of(flags: Status) -> Option<ChangeKind> {
    Some(if flags.contains(Status::CONFLICTED) {
        ChangeKind::Conflicted
    } else if flags.contains(Status::INDEX_NEW) {
        ChangeKind::Added
    } else if flags.contains(Status::WT_NEW) {
        ChangeKind::Untracked
    } else if flags.intersects(Status::INDEX_DELETED | Status::WT_DELETED) {
        ChangeKind::Deleted
    } else if flags.intersects(Status::INDEX_RENAMED | Status::WT_RENAMED) {
        ChangeKind::Renamed
    } else if flags.intersects(Status::INDEX_TYPECHANGE | Status::WT_TYPECHANGE) {
        ChangeKind::TypeChanged
    } else if flags.intersects(Status::INDEX_MODIFIED | Status::WT_MODIFIED) {
        ChangeKind::Modified
    } else {
        return None;
    })
}
