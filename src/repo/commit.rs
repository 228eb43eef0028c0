//! Recording the work tree as a commit, the way `git add -A && git commit` would.

use std::path::{Path, PathBuf};

use git2::{Repository, Signature};

use super::stage::stage_work_tree;
use crate::error::{HfGitError, Result};
use crate::lfs::racy::write_index_after;
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

    let mut index = repo.index()?;
    let pathspecs = match &request.paths {
        None => vec![".".to_owned()],
        Some(paths) => paths
            .iter()
            .map(|path| relative_pathspec(&workdir, path))
            .collect::<Result<Vec<_>>>()?,
    };
    let mut lfs = LfsStaging::new(&repo, &workdir, request.lfs_auto_track);
    lfs.stage_changed_lfs_files(&mut index, &pathspecs, monitor)?;
    stage_work_tree(&repo, &mut index, &pathspecs, &mut lfs, monitor)?;
    let staged = lfs.finish(&mut index, monitor)?;
    write_index_after(&mut index, &repo.path().join("index"), staged.newest_mtime)?;
    let tree_id = index.write_tree()?;
    let tree = repo.find_tree(tree_id)?;

    let parent = match repo.head() {
        Ok(head) => Some(head.peel_to_commit()?),
        Err(err) if err.code() == git2::ErrorCode::UnbornBranch => None,
        Err(err) => return Err(err.into()),
    };
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

/// `path` as a pathspec relative to the work tree; anything outside it is refused.
fn relative_pathspec(workdir: &Path, path: &Path) -> Result<String> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        workdir.join(path)
    };
    let normalized = normalize(&absolute);
    let root = normalize(
        &workdir
            .canonicalize()
            .unwrap_or_else(|_| workdir.to_path_buf()),
    );
    let resolved = resolve_existing_prefix(&normalized);
    let relative = resolved.strip_prefix(&root).map_err(|_| {
        HfGitError::invalid(format!(
            "path {} is outside the work tree {}",
            path.display(),
            workdir.display()
        ))
    })?;
    if relative.starts_with(".git") {
        return Err(HfGitError::invalid(format!(
            "path {} is inside .git",
            path.display()
        )));
    }
    let text = relative.to_string_lossy().replace('\\', "/");
    Ok(if text.is_empty() {
        ".".to_owned()
    } else {
        text
    })
}

/// Lexically remove `.` and `..` so `sub/../../x` cannot slip out of the work tree.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Resolve symlinks in the longest existing prefix, so a link pointing outside is caught.
fn resolve_existing_prefix(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_owned()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        resolved.push(name);
    }
    resolved
}

fn signature(repo: &Repository, author: Option<&str>) -> Result<Signature<'static>> {
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
    fn paths_inside_the_work_tree_become_relative_pathspecs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        assert_eq!(
            relative_pathspec(root, Path::new("a/b.txt")).unwrap(),
            "a/b.txt"
        );
        assert_eq!(relative_pathspec(root, &root.join("c")).unwrap(), "c");
        assert_eq!(relative_pathspec(root, Path::new("a/../d")).unwrap(), "d");
    }

    #[test]
    fn paths_outside_the_work_tree_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir(&root).unwrap();
        assert!(relative_pathspec(&root, Path::new("../x")).is_err());
        assert!(relative_pathspec(&root, Path::new("/etc/passwd")).is_err());
        assert!(relative_pathspec(&root, Path::new(".git/config")).is_err());
    }

    #[test]
    fn author_must_be_name_and_email() {
        assert!(parse_author("Ada <ada@example.com>").is_ok());
        assert!(parse_author("Ada").is_err());
        assert!(parse_author("<ada@example.com>").is_err());
    }
}
