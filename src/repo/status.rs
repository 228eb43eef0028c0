//! What changed in the work tree since HEAD, one entry per path.

use std::path::Path;

use git2::{AttrCheckFlags, Repository, Status, StatusOptions};

use crate::lfs::{sha256_file, Pointer};

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
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .renames_head_to_index(true);
    let statuses = repo.statuses(Some(&mut options))?;
    Ok(statuses
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
            let lfs = matches!(
                repo.get_attr(Path::new(&path), "filter", AttrCheckFlags::FILE_THEN_INDEX),
                Ok(Some("lfs"))
            );
            let only_in_work_tree = !staged && flags.contains(Status::WT_MODIFIED);
            if lfs && only_in_work_tree && lfs_content_unchanged(&repo, &path) {
                return None;
            }
            Some(StatusEntry {
                path,
                kind,
                staged,
                lfs,
            })
        })
        .collect())
}

/// libgit2 compares an LFS file's bytes with its pointer blob, so a file whose stat data changed
/// (touched, rewritten with the same bytes) looks modified. Like git with git-lfs, decide by the
/// pointer the file would clean to instead; the size is checked first, so only a same-size file
/// is hashed.
fn lfs_content_unchanged(repo: &Repository, path: &str) -> bool {
    let Ok(index) = repo.index() else {
        return false;
    };
    let Some(entry) = index.get_path(Path::new(path), 0) else {
        return false;
    };
    let Some(recorded) = repo
        .find_blob(entry.id)
        .ok()
        .and_then(|blob| Pointer::parse(blob.content()))
    else {
        return false;
    };
    let Some(workdir) = repo.workdir() else {
        return false;
    };
    let file = workdir.join(path);
    if std::fs::metadata(&file).map(|m| m.len()).ok() != Some(recorded.pointer.size) {
        return false;
    }
    sha256_file(&file).is_ok_and(|(oid, _)| oid == recorded.pointer.oid)
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
