//! Recording the work tree as a commit, the way `git add -A && git commit` would.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use git2::{Repository, Signature};

use super::lock::{lock_index, write_index, IndexStamp};
use super::pathspec::Pathspecs;
use super::snapshot::{CopyKind, FileStat, Snapshot, SnapshotCopy, SnapshotEntry};
use super::stage::{stage_changes, stage_work_tree, WorkTreeChanges};
use crate::error::{HfGitError, Result};
use crate::lfs::stage::LfsStaging;
use crate::platform::MetadataExt;
use crate::progress::Monitor;

pub struct CommitRequest {
    pub local_dir: PathBuf,
    pub message: String,
    /// Only these paths (files or directories, relative to the work tree or absolute inside it).
    pub paths: Option<Vec<PathBuf>>,
    /// `"Name <email>"`; defaults to git config, then `GIT_AUTHOR_*`, then a fallback.
    pub author: Option<String>,
    pub allow_empty: bool,
    /// Put files the Hub would refuse as plain blobs into LFS (and `.gitattributes`).
    pub lfs_auto_track: bool,
}

pub fn commit(request: CommitRequest, monitor: &Monitor) -> Result<git2::Oid> {
    commit_with(request, None, monitor)
}

/// Commit exactly the changes `snapshot` recorded, with the content it recorded, instead of what
/// the work tree holds now (`request.paths` is ignored); see [`super::snapshot`]. On success the
/// snapshot's links and clones are gone; on failure it is intact, so the call can be repeated.
pub fn commit_snapshot(
    request: CommitRequest,
    snapshot: &mut Snapshot,
    monitor: &Monitor,
) -> Result<git2::Oid> {
    commit_with(request, Some(snapshot), monitor)
}

fn commit_with(
    request: CommitRequest,
    mut snapshot: Option<&mut Snapshot>,
    monitor: &Monitor,
) -> Result<git2::Oid> {
    if request.message.trim().is_empty() {
        return Err(HfGitError::invalid("the commit message is empty"));
    }
    let repo = super::open_work_tree(&request.local_dir)?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| HfGitError::NotARepository {
            path: request.local_dir.clone(),
        })?
        .to_path_buf();
    let signature = signature(&repo, request.author.as_deref(), monitor)?;

    // From reading the index to moving HEAD, no other hfgit call may change either (git holds
    // index.lock as long); git itself, which does not know this lock, is caught by the stamp.
    let _lock = lock_index(&repo)?;
    let mut stamp = IndexStamp::read(&repo)?;
    let mut index = repo.index()?;
    index.read(false)?;
    let deleted = match &snapshot {
        Some(snapshot) => snapshot.deletes(&index)?,
        None => Vec::new(),
    };
    let pathspecs = match (&snapshot, &request.paths) {
        (Some(snapshot), _) => Pathspecs::exactly(
            snapshot
                .entries
                .iter()
                .map(|entry| entry.path.clone())
                .chain(deleted.iter().cloned()),
        ),
        (None, None) => Pathspecs::everything(),
        (None, Some(paths)) => Pathspecs::new(&workdir, &index, paths)?,
    };
    let mut lfs = LfsStaging::new(&repo, &workdir, request.lfs_auto_track);
    let staged = if let Some(snapshot) = snapshot.as_deref_mut() {
        stage_snapshot(&repo, &mut index, snapshot, deleted, lfs, monitor)?
    } else {
        if lfs.stage_changed_lfs_files(&mut index, &pathspecs, monitor)? {
            stamp.ensure_unchanged(&repo)?;
            write_index(&repo, &mut index, lfs.newest_mtime())?;
            stamp = IndexStamp::read(&repo)?;
        }
        stage_work_tree(&repo, &mut index, &pathspecs, &mut lfs, monitor)?;
        lfs.finish(&mut index, monitor)?
    };
    let parent = match repo.head() {
        Ok(head) => Some(head.peel_to_commit()?),
        Err(err) if err.code() == git2::ErrorCode::UnbornBranch => None,
        Err(err) => return Err(err.into()),
    };
    if snapshot.is_none() {
        refuse_unmatched(&pathspecs, &index, parent.as_ref())?;
    }
    stamp.ensure_unchanged(&repo)?;
    if let Some(snapshot) = snapshot {
        // Past the last check that can fail before the index is written.
        refresh_snapshot_stat(&mut index, snapshot)?;
    }
    write_index(&repo, &mut index, staged.newest_mtime)?;

    let tree_id = if pathspecs.is_everything() {
        index.write_tree()?
    } else {
        only_these_paths(
            &repo,
            &index,
            parent.as_ref(),
            &pathspecs,
            &staged.attribute_files,
        )?
    };
    let tree = repo.find_tree(tree_id)?;
    let unchanged = parent
        .as_ref()
        .map_or(tree.is_empty(), |p| p.tree_id() == tree_id);
    if unchanged && !request.allow_empty {
        return Err(HfGitError::NothingToCommit { path: workdir });
    }
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let id = repo.commit(
        Some("HEAD"),
        &signature,
        &signature,
        &request.message,
        &tree,
        &parents,
    )?;
    Ok(id)
}

/// Stage what `snapshot` recorded and remove `deleted`. Each file is read through the snapshot's
/// own link or clone (which the loop cannot delete or replace), or from the work tree where there
/// is none; one rewritten in place before (or while) it was read fails the whole commit with
/// [`HfGitError::SnapshotOverwritten`].
fn stage_snapshot(
    repo: &Repository,
    index: &mut git2::Index,
    snapshot: &Snapshot,
    deleted: Vec<String>,
    mut lfs: LfsStaging<'_>,
    monitor: &Monitor,
) -> Result<crate::lfs::stage::StagedLfs> {
    let mut read_from = HashMap::new();
    let mut expected: Vec<(&str, PathBuf, FileStat)> = Vec::new();
    let mut overwritten = Vec::new();
    let mut adoptable = BTreeSet::new();
    // A commit that ran after the snapshot was taken (the submission before) may have staged
    // some of these files already, from the same content: they need no second read.
    let already_staged = |entry: &&SnapshotEntry| {
        index
            .get_path(Path::new(&entry.path), 0)
            .is_some_and(|staged| entry.recorded.same_content_as_entry(&staged))
    };
    let entries: Vec<&SnapshotEntry> = snapshot
        .entries
        .iter()
        .filter(|entry| !already_staged(entry))
        .collect();
    let unchanged = |now: Option<FileStat>, then: &FileStat| {
        now.is_some_and(|now| then.same_except_ctime(&now))
    };
    for entry in &entries {
        let (source, stat) = match &entry.copy {
            Some(copy) => (copy.path.clone(), copy.stat),
            None => (snapshot.work_tree.join(&entry.path), entry.recorded),
        };
        if !unchanged(FileStat::read(&source), &stat) {
            overwritten.push(entry.path.clone());
            continue;
        }
        if let Some(copy) = &entry.copy {
            read_from.insert(entry.path.clone(), source.clone());
            if nothing_else_reaches(copy) {
                adoptable.insert(entry.path.clone());
            }
        }
        expected.push((&entry.path, source, stat));
    }
    if !overwritten.is_empty() {
        return Err(HfGitError::SnapshotOverwritten { paths: overwritten });
    }
    let conflicted = entries
        .iter()
        .filter(|entry| {
            (1..=3).any(|stage| index.get_path(Path::new(&entry.path), stage).is_some())
        })
        .map(|entry| entry.path.clone())
        .collect();
    let changes = WorkTreeChanges {
        present: entries.iter().map(|e| e.path.clone()).collect(),
        deleted,
        conflicted,
    };
    lfs.read_from(read_from.clone(), adoptable.clone());
    let staged = stage_changes(repo, index, changes, &read_from, &mut lfs, monitor)
        .and_then(|()| lfs.finish(index, monitor))
        .map_err(|err| match err {
            HfGitError::Lfs(crate::lfs::LfsError::FileChanged { path }) => {
                HfGitError::SnapshotOverwritten {
                    paths: vec![path.to_string_lossy().into_owned()],
                }
            }
            other => other,
        })?;
    // Read while its stat data stood still from before to after: the recorded content. Only
    // the ctime may move meanwhile: adding or removing a link to the inode (a snapshot's own, or
    // the loop deleting an old checkpoint) moves it without touching the content.
    let changed: Vec<String> = expected
        .iter()
        .filter(|(path, source, stat)| {
            let adopted = adoptable.contains(*path) && !source.exists();
            !adopted && !unchanged(FileStat::read(source), stat)
        })
        .map(|(path, _, _)| (*path).to_owned())
        .collect();
    if !changed.is_empty() {
        return Err(HfGitError::SnapshotOverwritten { paths: changed });
    }
    Ok(staged)
}

/// Whether the snapshot's copy is the only way to its content: a clone, or a hard link whose
/// inode the work tree no longer names (the loop replaced or deleted the file). Such a copy can
/// become the LFS object itself, with no second copy written: no path leads to it for anyone to
/// write, and it was checked unchanged since the snapshot. (A descriptor the loop kept open
/// across `os.replace` could still write to it; saving code closes the file before replacing.)
fn nothing_else_reaches(copy: &SnapshotCopy) -> bool {
    match copy.kind {
        CopyKind::Reflink => true,
        CopyKind::HardLink => fs::symlink_metadata(&copy.path).is_ok_and(|meta| meta.nlink() == 1),
    }
}

/// Give each staged entry the work-tree file's stat data, as git would have recorded it when it
/// read the file: the recorded data, or the file's present data if only the ctime moved since
/// (the snapshot's own link, removed here first, moves it). A file replaced or rewritten since
/// the snapshot keeps stat data that no longer match, so the next status sees it as modified.
fn refresh_snapshot_stat(index: &mut git2::Index, snapshot: &mut Snapshot) -> Result<()> {
    snapshot.release();
    for entry in &snapshot.entries {
        let Some(mut staged) = index.get_path(Path::new(&entry.path), 0) else {
            continue;
        };
        let now = FileStat::read(&snapshot.work_tree.join(&entry.path));
        let stat = match now {
            Some(now) if entry.recorded.same_except_ctime(&now) => now,
            _ => entry.recorded,
        };
        stat.apply_to(&mut staged);
        index.add(&staged)?;
    }
    Ok(())
}

/// `git add -- <spec>` refuses a spec that matches no file of the index (after staging) or of the
/// parent commit (which still has the files a commit deletes).
fn refuse_unmatched(
    pathspecs: &Pathspecs,
    index: &git2::Index,
    parent: Option<&git2::Commit<'_>>,
) -> Result<()> {
    if pathspecs.is_everything() {
        return Ok(());
    }
    let mut paths: Vec<String> = index
        .iter()
        .filter_map(|entry| String::from_utf8(entry.path).ok())
        .collect();
    if let Some(parent) = parent {
        parent
            .tree()?
            .walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                if let Ok(name) = entry.name() {
                    paths.push(format!("{dir}{name}"));
                }
                git2::TreeWalkResult::Ok
            })?;
    }
    let unmatched = pathspecs.unmatched(paths.iter().map(String::as_str));
    if unmatched.is_empty() {
        Ok(())
    } else {
        Err(HfGitError::PathspecNoMatch { specs: unmatched })
    }
}

/// The tree of `git commit --only -- <pathspecs>`: the parent's tree with the index's version of
/// every path the pathspecs cover, and nothing else that the index may hold staged. The
/// `.gitattributes` files that auto-tracking just extended go with the files they now track.
fn only_these_paths(
    repo: &Repository,
    index: &git2::Index,
    parent: Option<&git2::Commit<'_>>,
    pathspecs: &Pathspecs,
    attribute_files: &[String],
) -> Result<git2::Oid> {
    let mut selected = git2::Index::new()?;
    if let Some(parent) = parent {
        selected.read_tree(&parent.tree()?)?;
    }
    let covered = |path: &[u8]| {
        std::str::from_utf8(path).is_ok_and(|path| {
            pathspecs.matches(path) || attribute_files.iter().any(|file| file == path)
        })
    };
    let dropped: Vec<Vec<u8>> = selected
        .iter()
        .filter(|entry| covered(&entry.path))
        .map(|entry| entry.path)
        .collect();
    for path in dropped {
        selected.remove_path(&crate::platform::path_from_bytes(&path))?;
    }
    for entry in index.iter() {
        let stage = (entry.flags >> 12) & 0x3;
        if stage == 0 && covered(&entry.path) {
            selected.add(&entry)?;
        }
    }
    Ok(selected.write_tree_to(repo)?)
}

pub(super) fn signature(
    repo: &Repository,
    author: Option<&str>,
    monitor: &Monitor,
) -> Result<Signature<'static>> {
    if let Some(author) = author {
        return parse_author(author);
    }
    if let Ok(signature) = repo.signature() {
        return Ok(signature.to_owned());
    }
    super::author::fallback_signature(repo, monitor)
}

fn parse_author(author: &str) -> Result<Signature<'static>> {
    let malformed = || {
        HfGitError::invalid(format!(
            "author must look like \"Name <email>\", got {author:?}"
        ))
    };
    let (name, rest) = author.split_once('<').ok_or_else(malformed)?;
    let email = rest.strip_suffix('>').ok_or_else(malformed)?;
    let (name, email) = (name.trim(), email.trim());
    if name.is_empty() || email.is_empty() {
        return Err(malformed());
    }
    Ok(Signature::now(name, email)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_must_be_name_and_email() {
        assert!(parse_author("Ada <ada@example.com>").is_ok());
        assert!(parse_author("Ada").is_err());
        assert!(parse_author("<ada@example.com>").is_err());
    }
}
