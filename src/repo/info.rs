//! A snapshot of where a work tree stands: HEAD, branch, remote.

use std::path::{Path, PathBuf};

use crate::error::Result;

#[derive(Debug, Clone)]
pub struct RepoInfo {
    pub path: PathBuf,
    pub head: Option<String>,
    pub branch: Option<String>,
    /// `origin`'s URL with any credentials removed.
    pub remote_url: Option<String>,
    /// A clone into this directory was killed before it finished (see
    /// [`HfGitError::CloneInterrupted`](crate::HfGitError::CloneInterrupted)).
    pub interrupted_clone: bool,
}

pub fn info(local_dir: &Path) -> Result<RepoInfo> {
    let (repo, interrupted_clone) = super::open_work_tree_even_if_interrupted(local_dir)?;
    let path = repo.workdir().unwrap_or(local_dir).to_path_buf();
    let path = path.canonicalize().unwrap_or(path);
    let (head, branch) = match repo.head() {
        Ok(head) => (
            head.target().map(|id| id.to_string()),
            head.is_branch()
                .then(|| head.shorthand().ok().map(str::to_owned))
                .flatten(),
        ),
        Err(_) => (None, unborn_branch(&repo)),
    };
    Ok(RepoInfo {
        path,
        head,
        branch,
        remote_url: super::upstream::display_url(&repo, "origin"),
        interrupted_clone,
    })
}

/// The branch HEAD names before its first commit.
fn unborn_branch(repo: &git2::Repository) -> Option<String> {
    let head = repo.find_reference("HEAD").ok()?;
    let target = head.symbolic_target().ok()??;
    target.strip_prefix("refs/heads/").map(str::to_owned)
}
