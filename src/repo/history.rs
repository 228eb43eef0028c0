//! The commit log from HEAD, newest first.

use std::path::Path;

use crate::error::Result;

#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// Seconds since the Unix epoch, UTC.
    pub timestamp: i64,
    pub parents: Vec<String>,
}

pub fn log(local_dir: &Path, limit: Option<usize>) -> Result<Vec<CommitInfo>> {
    let repo = super::open_work_tree(local_dir)?;
    if repo.head().is_err() {
        return Ok(Vec::new());
    }
    let mut walk = repo.revwalk()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
    walk.push_head()?;
    walk.take(limit.unwrap_or(usize::MAX))
        .map(|id| {
            let commit = repo.find_commit(id?)?;
            let author = commit.author();
            Ok(CommitInfo {
                id: commit.id().to_string(),
                message: commit.message().unwrap_or_default().to_owned(),
                author_name: author.name().unwrap_or_default().to_owned(),
                author_email: author.email().unwrap_or_default().to_owned(),
                timestamp: author.when().seconds(),
                parents: commit.parent_ids().map(|p| p.to_string()).collect(),
            })
        })
        .collect()
}
