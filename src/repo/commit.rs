//! Recording the work tree as a commit, the way `git add -A && git commit` would.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use git2::{Repository, Signature};

use super::lock::{lock_index, write_index, IndexStamp};
use super::pathspec::Pathspecs;
use super::stage::stage_work_tree;
use crate::error::{HfGitError, Result};
use crate::lfs::stage::LfsStaging;
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
    let signature = signature(&repo, request.author.as_deref())?;

    // From reading the index to moving HEAD, no other hfgit call may change either (git holds
    // index.lock as long); git itself, which does not know this lock, is caught by the stamp.
    let _lock = lock_index(&repo)?;
    let mut stamp = IndexStamp::read(&repo)?;
    let mut index = repo.index()?;
    index.read(false)?;
    let pathspecs = match &request.paths {
        None => Pathspecs::everything(),
        Some(paths) => Pathspecs::new(&workdir, &index, paths)?,
    };
    let mut lfs = LfsStaging::new(&repo, &workdir, request.lfs_auto_track);
    if lfs.stage_changed_lfs_files(&mut index, &pathspecs, monitor)? {
        stamp.ensure_unchanged(&repo)?;
        write_index(&repo, &mut index, lfs.newest_mtime())?;
        stamp = IndexStamp::read(&repo)?;
    }
    stage_work_tree(&repo, &mut index, &pathspecs, &mut lfs, monitor)?;
    let staged = lfs.finish(&mut index, monitor)?;
    let parent = match repo.head() {
        Ok(head) => Some(head.peel_to_commit()?),
        Err(err) if err.code() == git2::ErrorCode::UnbornBranch => None,
        Err(err) => return Err(err.into()),
    };
    refuse_unmatched(&pathspecs, &index, parent.as_ref())?;
    stamp.ensure_unchanged(&repo)?;
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
        selected.remove_path(Path::new(std::ffi::OsStr::from_bytes(&path)))?;
    }
    for entry in index.iter() {
        let stage = (entry.flags >> 12) & 0x3;
        if stage == 0 && covered(&entry.path) {
            selected.add(&entry)?;
        }
    }
    Ok(selected.write_tree_to(repo)?)
}

pub(super) fn signature(repo: &Repository, author: Option<&str>) -> Result<Signature<'static>> {
    if let Some(author) = author {
        return parse_author(author);
    }
    if let Ok(signature) = repo.signature() {
        return Ok(signature.to_owned());
    }
    let name = std::env::var("GIT_AUTHOR_NAME").unwrap_or_else(|_| "hfgit".to_owned());
    let email = std::env::var("GIT_AUTHOR_EMAIL").unwrap_or_else(|_| "hfgit@localhost".to_owned());
    Ok(Signature::now(&name, &email)?)
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
