//! `Repository.fetch()`: bring the remote's branches and tags in without touching the work tree,
//! as `git fetch --tags` does, so a notebook can look at what changed on the Hub (`diff`,
//! `log`, `branches()`) before deciding to pull, check out or reset.
//!
//! Every remote branch lands in its remote-tracking ref (`refs/remotes/origin/<name>`, forced:
//! the remote's word is the truth there). Tags are different: they are the user's too, so a
//! remote tag only creates a local tag of that name when there is none, and one that exists
//! locally with another target is kept and reported, as `git fetch` refuses to clobber a tag.
//! To decide that without relying on libgit2's handling of non-forced refspecs, tags are fetched
//! into a private namespace (`refs/hfgit-fetch/tags/`) and copied from there; the namespace is
//! emptied before the call returns. `prune=True` removes remote-tracking refs of branches the
//! remote no longer has (never a local tag or branch).
//!
//! The push lock is held throughout: a push moves remote-tracking refs too.

use std::collections::BTreeMap;
use std::path::PathBuf;

use git2::{Oid, Repository};
use secrecy::SecretString;
use url::Url;

use super::lock::lock_pushes;
use super::upstream::remote_spec;
use crate::auth::{resolve_token, ProcessEnv, TokenRequest};
use crate::error::{HfGitError, Result};
use crate::progress::{Monitor, Phase};
use crate::remote::{retrying_rate_limits, RemoteSession};

/// Where fetched tags wait until they are copied to `refs/tags/` (see the module docs).
const TAG_STAGING: &str = "refs/hfgit-fetch/tags/";

pub struct FetchRequest {
    pub local_dir: PathBuf,
    pub token: TokenRequest,
    pub remote_name: String,
    /// Delete remote-tracking refs of branches the remote no longer has.
    pub prune: bool,
}

/// One ref a fetch created, moved or deleted: `old` is `None` when it is new, `new` `None` when
/// it was pruned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedRef {
    pub name: String,
    pub old: Option<Oid>,
    pub new: Option<Oid>,
}

#[derive(Debug, Clone)]
pub struct FetchOutcome {
    pub remote_url: String,
    /// Remote-tracking refs and tags that changed, sorted by name.
    pub updates: Vec<FetchedRef>,
}

pub fn fetch(request: FetchRequest, monitor: &Monitor) -> Result<FetchOutcome> {
    let repo = super::open_work_tree(&request.local_dir)?;
    let _pushes = lock_pushes(&repo, monitor)?;
    let spec = remote_spec(&repo, &request.remote_name)?;
    let token = resolve_token(request.token, spec.url_token, &ProcessEnv);
    let before = tracked_refs(&repo, &request.remote_name)?;
    let fetched = fetch_branches_and_tags(&repo, &request.remote_name, &spec.url, token, monitor)?;
    if request.prune {
        prune_tracking_refs(&repo, &request.remote_name, &fetched.refs)?;
    }
    let after = tracked_refs(&repo, &request.remote_name)?;
    monitor.report(Phase::Done, 1, 1, monitor.snapshot().bytes);
    Ok(FetchOutcome {
        remote_url: fetched.url,
        updates: changes(&before, &after),
    })
}

/// What one fetch found on the remote.
pub(super) struct Fetched {
    /// The remote's URL, for results and messages.
    pub url: String,
    /// Every ref the remote advertised (`refs/heads/main`, `refs/tags/v1`, `refs/pr/3`, ...).
    pub refs: BTreeMap<String, Oid>,
    /// The branch the remote's HEAD names, when it says.
    pub default_branch: Option<String>,
}

/// Fetch every branch of the remote into `refs/remotes/<remote_name>/` and every tag the local
/// repository does not have yet into `refs/tags/`. The caller holds the push lock.
pub(super) fn fetch_branches_and_tags(
    repo: &Repository,
    remote_name: &str,
    url: &Url,
    token: Option<SecretString>,
    monitor: &Monitor,
) -> Result<Fetched> {
    let refspecs = [
        format!("+refs/heads/*:refs/remotes/{remote_name}/*"),
        format!("+refs/tags/*:{TAG_STAGING}*"),
    ];
    let fetched = fetch_refspecs(repo, url, token, &refspecs, "fetch", monitor);
    let adopted = adopt_staged_tags(repo, monitor);
    let fetched = fetched?;
    adopted?;
    Ok(fetched)
}

/// Fetch `refspecs` from `url` (every source ref a glob or one exact ref) and report the
/// remote's branches; `reflog` is the message of the refs it moves.
pub(super) fn fetch_refspecs(
    repo: &Repository,
    url: &Url,
    token: Option<SecretString>,
    refspecs: &[String],
    reflog: &str,
    monitor: &Monitor,
) -> Result<Fetched> {
    let session = RemoteSession::new(url.clone(), token)?;
    let mut remote = repo.remote_anonymous(session.url())?;
    // A fetch is safe to make again after a rate limit (429), as pull's and clone's are.
    retrying_rate_limits(monitor, |_| {
        let mut options = session.fetch_options(monitor);
        options.download_tags(git2::AutotagOption::None);
        remote
            .fetch(refspecs, Some(&mut options), Some(reflog))
            .map_err(|err| session.classify(&err, monitor))
    })?;
    let mut refs = BTreeMap::new();
    let mut default_branch = None;
    for head in remote.list()? {
        if head.name() == "HEAD" {
            default_branch = head
                .symref_target()
                .and_then(|target| target.strip_prefix("refs/heads/"))
                .map(str::to_owned);
        } else {
            refs.insert(head.name().to_owned(), head.oid());
        }
    }
    Ok(Fetched {
        url: session.url().to_owned(),
        refs,
        default_branch,
    })
}

/// Copy the tags fetched into the staging namespace to `refs/tags/` where no tag of that name
/// exists, and empty the namespace. A local tag with another target is kept, with a notice.
fn adopt_staged_tags(repo: &Repository, monitor: &Monitor) -> Result<()> {
    let staged: Vec<(String, Oid)> = repo
        .references_glob(&format!("{TAG_STAGING}*"))?
        .flatten()
        .filter_map(|reference| Some((reference.name().ok()?.to_owned(), reference.target()?)))
        .collect();
    let mut kept = Vec::new();
    for (staging_name, id) in &staged {
        let name = &staging_name[TAG_STAGING.len()..];
        let local = format!("refs/tags/{name}");
        match repo.refname_to_id(&local) {
            Ok(existing) if existing == *id => {}
            Ok(_) => kept.push(name.to_owned()),
            Err(_) => {
                repo.reference(&local, *id, false, "fetch: new tag")?;
            }
        }
        if let Ok(mut reference) = repo.find_reference(staging_name) {
            reference.delete()?;
        }
    }
    if !kept.is_empty() {
        monitor.notice(format!(
            "the remote's tag(s) {} differ from the local tag(s) of the same name, which were \
             kept (delete_tag() then fetch() takes the remote's)",
            kept.join(", ")
        ));
    }
    Ok(())
}

/// Delete `refs/remotes/<remote_name>/<branch>` for branches the remote (whose advertised refs
/// are `remote_refs`) no longer has.
fn prune_tracking_refs(
    repo: &Repository,
    remote_name: &str,
    remote_refs: &BTreeMap<String, Oid>,
) -> Result<()> {
    let prefix = format!("refs/remotes/{remote_name}/");
    let stale: Vec<String> = repo
        .references_glob(&format!("{prefix}*"))?
        .flatten()
        .filter(|reference| reference.symbolic_target().ok().flatten().is_none())
        .filter_map(|reference| reference.name().ok().map(str::to_owned))
        .filter(|name| {
            let short = &name[prefix.len()..];
            // `pr/<n>` is also where checkout_pr() keeps the remote's `refs/pr/<n>`.
            let still_there = remote_refs.contains_key(&format!("refs/heads/{short}"))
                || (short.starts_with("pr/") && remote_refs.contains_key(&format!("refs/{short}")));
            !still_there
        })
        .collect();
    for name in stale {
        repo.find_reference(&name)?.delete()?;
    }
    Ok(())
}

/// The remote-tracking refs of `remote_name` and the tags, with their targets.
fn tracked_refs(repo: &Repository, remote_name: &str) -> Result<BTreeMap<String, Oid>> {
    let mut refs = BTreeMap::new();
    for glob in [
        format!("refs/remotes/{remote_name}/*"),
        "refs/tags/*".into(),
    ] {
        for reference in repo.references_glob(&glob)?.flatten() {
            if let (Ok(name), Some(id)) = (reference.name(), reference.target()) {
                refs.insert(name.to_owned(), id);
            }
        }
    }
    Ok(refs)
}

fn changes(before: &BTreeMap<String, Oid>, after: &BTreeMap<String, Oid>) -> Vec<FetchedRef> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (before.get(name).copied(), after.get(name).copied());
            (old != new).then(|| FetchedRef {
                name: name.clone(),
                old,
                new,
            })
        })
        .collect()
}

/// Fetch the Hub pull request `number` (`refs/pr/<number>`) into
/// `refs/remotes/<remote_name>/pr/<number>` and return its tip. The caller holds the push lock.
pub(super) fn fetch_pull_request(
    repo: &Repository,
    remote_name: &str,
    url: &Url,
    token: Option<SecretString>,
    number: u64,
    monitor: &Monitor,
) -> Result<(String, Oid)> {
    let tracking = format!("refs/remotes/{remote_name}/pr/{number}");
    let refspec = format!("+refs/pr/{number}:{tracking}");
    let fetched = fetch_refspecs(repo, url, token, &[refspec], "fetch pull request", monitor)?;
    let not_found = || HfGitError::RevisionNotFound {
        revision: format!("refs/pr/{number}"),
        target: fetched.url.clone(),
    };
    let advertised = fetched
        .refs
        .get(&format!("refs/pr/{number}"))
        .ok_or_else(not_found)?;
    let tip = repo.refname_to_id(&tracking).map_err(|_| not_found())?;
    if tip != *advertised {
        return Err(not_found());
    }
    Ok((tracking, tip))
}
