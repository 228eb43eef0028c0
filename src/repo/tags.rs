//! Tags: listing, creating (lightweight, or annotated when a message is given), pushing and
//! deleting them, as `git tag` and `git push origin <tag>` do.
//!
//! A tag marks the checkpoint a paper or an eval used (`v1.0`, `paper-camera-ready`), so it must
//! reach the Hub intact: pushing one uploads first the Git LFS objects its commit needs that no
//! remote-tracking branch already covers (as git-lfs's pre-push hook does for any ref), since
//! the Hub refuses pointers to objects it lacks. A tag the remote already has with another target
//! is refused unless `force`, as `git push` refuses to move a tag; an existing local tag is
//! refused on creation unless `exist_ok` ([`HfGitError::RevisionExists`]).

use std::path::PathBuf;

use git2::{ObjectType, Oid, Repository};

use super::lock::lock_pushes;
use super::remote_refs::{update_remote_ref, Decision};
use super::revision::{check_ref_name, head_commit, resolve_commit, work_tree_name};
use super::upstream::remote_spec;
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};
use crate::lfs::publish::upload_pushed_objects;
use crate::lfs::transfer::TransferConfig;
use crate::progress::{Monitor, Phase};

/// One tag of the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    pub name: String,
    /// The commit it marks (an annotated tag is followed to it).
    pub commit: Oid,
    /// An annotated tag: a tag object with a tagger and a message.
    pub annotated: bool,
    /// The annotated tag's message; `None` for a lightweight tag.
    pub message: Option<String>,
}

/// Every tag that marks a commit, sorted by name.
pub fn tags(local_dir: &std::path::Path) -> Result<Vec<TagInfo>> {
    let repo = super::open_work_tree(local_dir)?;
    let mut found = Vec::new();
    for reference in repo.references_glob("refs/tags/*")? {
        let reference = reference?;
        let Some(name) = reference
            .name()
            .ok()
            .and_then(|n| n.strip_prefix("refs/tags/"))
        else {
            continue;
        };
        let Ok(commit) = reference.peel_to_commit() else {
            continue; // a tag of a tree or blob: not a revision of the repo
        };
        let tag_object = reference.target().and_then(|id| repo.find_tag(id).ok());
        found.push(TagInfo {
            name: name.to_owned(),
            commit: commit.id(),
            annotated: tag_object.is_some(),
            message: tag_object.and_then(|tag| tag.message().ok().flatten().map(str::to_owned)),
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Create tag `name` at `revision` (default: HEAD): annotated (tagger from git config) when
/// `message` is given, else lightweight. Returns the tagged commit.
pub fn create_tag(
    local_dir: &std::path::Path,
    name: &str,
    revision: Option<&str>,
    message: Option<&str>,
    exist_ok: bool,
) -> Result<Oid> {
    let repo = super::open_work_tree(local_dir)?;
    check_ref_name("tag", name)?;
    if let Ok(existing) = repo.find_reference(&format!("refs/tags/{name}")) {
        if exist_ok {
            return Ok(existing.peel_to_commit()?.id());
        }
        return Err(HfGitError::RevisionExists {
            kind: "tag",
            name: name.to_owned(),
        });
    }
    let commit = match revision {
        Some(revision) => resolve_commit(&repo, revision)?,
        None => head_commit(&repo)?.ok_or_else(|| {
            HfGitError::invalid("the repository has no commits yet, so there is nothing to tag")
        })?,
    };
    match message {
        Some(message) => {
            let tagger = super::commit::signature(&repo, None, &Monitor::default())?;
            // As `git tag -m` stores it: trailing spaces and blank lines cleaned, one final
            // newline.
            let message = git2::message_prettify(message, None)?;
            repo.tag(name, commit.as_object(), &tagger, &message, false)?;
        }
        None => {
            repo.tag_lightweight(name, commit.as_object(), false)?;
        }
    }
    Ok(commit.id())
}

pub struct TagRemoteRequest {
    pub local_dir: PathBuf,
    pub name: String,
    pub token: TokenRequest,
    pub remote_name: String,
    /// Push: replace the remote's tag when it points elsewhere.
    pub force: bool,
    /// Push: how many LFS uploads run at once.
    pub lfs_concurrency: usize,
}

/// What pushing a tag did.
#[derive(Debug, Clone)]
pub struct PushedTag {
    pub remote_url: String,
    pub reference: String,
    /// The remote's previous value of the tag, `None` when it had none.
    pub old: Option<Oid>,
    /// The tag's value now on the remote (the tag object of an annotated tag).
    pub new: Oid,
    pub lfs_objects: usize,
    pub lfs_bytes: u64,
}

/// Push tag `name` to the remote, its commit's LFS objects first.
pub fn push_tag(request: TagRemoteRequest, monitor: &Monitor) -> Result<PushedTag> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let reference = format!("refs/tags/{}", bare_name(&request.name));
    let (tag_id, commit) = local_tag(&repo, &request.name)?;
    let _pushes = lock_pushes(&repo, monitor)?;
    let spec = remote_spec(&repo, &request.remote_name)?;
    let token = resolve_token(request.token, spec.url_token, &ProcessEnv);
    let config = TransferConfig {
        concurrency: request.lfs_concurrency.max(1),
        ref_name: Some(reference.clone()),
        ..TransferConfig::default()
    };
    let lfs = upload_pushed_objects(
        &repo,
        commit,
        &request.remote_name,
        &spec.url,
        token.clone(),
        &config,
        monitor,
    )?;
    let force = request.force;
    let sent = update_remote_ref(
        &repo,
        &spec.url,
        token,
        &reference,
        |old| match old {
            Some(old) if old == tag_id => Ok(Decision::Nothing),
            Some(_) if !force => Err(HfGitError::PushRejected {
                reference: reference.clone(),
                reason: "the remote already has this tag, on another commit; delete it there \
                         first (delete_tag(name, remote=True)) or push with force=True to move it"
                    .to_owned(),
            }),
            _ => Ok(Decision::Push(format!(
                "{}{reference}:{reference}",
                if force { "+" } else { "" }
            ))),
        },
        monitor,
    )?;
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(PushedTag {
        remote_url: sent.url,
        reference,
        old: sent.old,
        new: tag_id,
        lfs_objects: lfs.transferred,
        lfs_bytes: lfs.bytes,
    })
}

/// Delete tag `name` locally and, with `remote`, on the remote first. Returns whether the remote
/// had it.
pub fn delete_tag(request: TagRemoteRequest, remote: bool, monitor: &Monitor) -> Result<bool> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let name = bare_name(&request.name).to_owned();
    check_ref_name("tag", &name)?;
    let reference = format!("refs/tags/{name}");
    let local = repo.find_reference(&reference).is_ok();
    if !local && !remote {
        return Err(HfGitError::RevisionNotFound {
            revision: name,
            target: work_tree_name(&repo),
        });
    }
    let mut on_remote = false;
    if remote {
        let _pushes = lock_pushes(&repo, monitor)?;
        let spec = remote_spec(&repo, &request.remote_name)?;
        let token = resolve_token(request.token, spec.url_token.clone(), &ProcessEnv);
        let sent = update_remote_ref(
            &repo,
            &spec.url,
            token,
            &reference,
            |old| match old {
                Some(_) => Ok(Decision::Push(format!(":{reference}"))),
                None if local => Ok(Decision::Nothing),
                None => Err(HfGitError::RevisionNotFound {
                    revision: name.clone(),
                    target: spec.clean_url().to_owned(),
                }),
            },
            monitor,
        )?;
        on_remote = sent.sent;
        if !sent.sent {
            monitor.notice(format!(
                "the remote has no tag '{name}', so only the local tag was deleted"
            ));
        }
    }
    if local {
        repo.tag_delete(&name)?;
    }
    monitor.report(Phase::Done, 1, 1, 0);
    Ok(on_remote)
}

fn bare_name(name: &str) -> &str {
    name.strip_prefix("refs/tags/").unwrap_or(name)
}

/// The local tag's own id (a tag object, or the commit of a lightweight tag) and its commit.
fn local_tag(repo: &Repository, name: &str) -> Result<(Oid, Oid)> {
    let not_found = || HfGitError::RevisionNotFound {
        revision: bare_name(name).to_owned(),
        target: work_tree_name(repo),
    };
    let reference = repo
        .find_reference(&format!("refs/tags/{}", bare_name(name)))
        .map_err(|_| not_found())?;
    let id = reference.target().ok_or_else(not_found)?;
    let commit = reference
        .peel(ObjectType::Commit)
        .map_err(|_| not_found())?;
    Ok((id, commit.id()))
}
