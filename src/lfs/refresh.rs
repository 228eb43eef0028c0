//! Finding LFS files that changed on disk since the index recorded them, before libgit2 does.
//!
//! When a tracked file's stat data no longer matches its index entry and its size is unchanged
//! (a checkpoint rewritten in place), libgit2 settles the question by hashing the whole file with
//! collision-detecting SHA-1 and comparing it with the entry's blob, a pointer, which can never
//! match. For a multi-GB checkpoint that costs seconds per look, and a commit looks twice. Commit
//! and status therefore find these entries first, decide them with the LFS pointer (one SHA-256
//! pass, which they need anyway), and give libgit2 entries whose stat data matches.

use std::fs::{self, Metadata};
use std::path::Path;

use git2::{Index, IndexEntry, Repository};

use super::attribute_source::WorkTreeAttributes;
use super::{Pointer, POINTER_SIZE_LIMIT};
use crate::error::Result;
use crate::platform::MetadataExt;

/// An LFS index entry whose work-tree file has other stat data than the entry records.
pub struct StaleLfsEntry {
    pub path: String,
    /// The pointer the index records, or `None` for a plain blob on a path now tracked by LFS.
    pub recorded: Option<Pointer>,
    /// The file size the index records (git's stat data, so the smudged size for LFS files).
    pub recorded_size: u32,
    pub blob: git2::Oid,
    /// The mode the index records (`0o100644` or `0o100755`), kept when only stat data is
    /// refreshed: a new mode on disk is a change for the user to stage, not for a look to record.
    pub mode: u32,
    pub meta: Metadata,
}

/// The stale LFS entries of `index` whose paths `covered` accepts.
pub fn stale_lfs_entries(
    repo: &Repository,
    index: &Index,
    workdir: &Path,
    covered: &dyn Fn(&str) -> bool,
) -> Result<Vec<StaleLfsEntry>> {
    let odb = repo.odb()?;
    let index_written = index_written(&repo.path().join("index"));
    let mut candidates = Vec::new();
    for entry in index.iter() {
        let is_regular_file = entry.mode & 0o170000 == 0o100000;
        let stage = (entry.flags >> 12) & 0x3;
        let Ok(path) = String::from_utf8(entry.path.clone()) else {
            continue;
        };
        if !is_regular_file || stage != 0 || !covered(&path) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(workdir.join(&path)) else {
            continue; // deleted: libgit2 handles that without reading anything
        };
        if !meta.is_file() || (stat_matches(&entry, &meta) && !racy(&entry, index_written)) {
            continue;
        }
        candidates.push((path, entry, meta));
    }
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    // Attributes as git reads them (libgit2's own lookup, for one, takes a `!pattern` line that
    // git ignores as a negative pattern matching every other file).
    let paths: Vec<String> = candidates.iter().map(|(path, _, _)| path.clone()).collect();
    let attributes = WorkTreeAttributes::load(repo, index, &paths)?;
    let mut stale = Vec::new();
    for (path, entry, meta) in candidates {
        if !attributes.is_lfs(&path) {
            continue;
        }
        // A blob that is not a pointer (committed before the path was tracked) is stale too: the
        // clean filter would now turn the file into a pointer, as `git add` does.
        let recorded = match odb.read_header(entry.id) {
            Ok((size, _)) if size < POINTER_SIZE_LIMIT => {
                Pointer::parse(repo.find_blob(entry.id)?.content()).map(|parsed| parsed.pointer)
            }
            _ => None,
        };
        stale.push(StaleLfsEntry {
            path,
            recorded,
            recorded_size: entry.file_size,
            blob: entry.id,
            mode: entry.mode,
            meta,
        });
    }
    Ok(stale)
}

/// When the index file at `index_path` was last written, for [`racy`].
pub(crate) fn index_written(index_path: &Path) -> Option<(i64, i64)> {
    fs::metadata(index_path)
        .ok()
        .map(|meta| (meta.mtime(), meta.mtime_nsec()))
}

/// An entry written in the same clock tick as the index (a fresh `git clone` leaves many): its
/// stat data cannot prove the file unchanged, so git, and libgit2 after it, look at the content,
/// and libgit2 would compare the file with the pointer blob and call it modified.
pub(crate) fn racy(entry: &IndexEntry, index_written: Option<(i64, i64)>) -> bool {
    index_written.is_none_or(|(seconds, nanos)| {
        (
            i64::from(entry.mtime.seconds()),
            i64::from(entry.mtime.nanoseconds()),
        ) >= (seconds, nanos)
    })
}

/// git's "racily clean" comparison, minus the fields that never change under a user's feet.
pub(crate) fn stat_matches(entry: &IndexEntry, meta: &Metadata) -> bool {
    entry.mtime.seconds() == meta.mtime() as i32
        && entry.mtime.nanoseconds() == meta.mtime_nsec() as u32
        && entry.ctime.seconds() == meta.ctime() as i32
        && entry.ctime.nanoseconds() == meta.ctime_nsec() as u32
        && entry.file_size == meta.len() as u32
        && entry.ino == meta.ino() as u32
}
