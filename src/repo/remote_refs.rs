//! Changing one ref on the remote other than the checked-out branch: pushing a tag, deleting a
//! remote branch or tag.
//!
//! One connection lists the remote's refs and sends the update, so the decision (is the tag
//! already there? does the branch to delete exist?) is made on what the server has at that
//! moment, and the token is offered once. Refusals are collected and raised the way
//! [`super::push`] raises them: libgit2 reports a refused ref only through a callback, and a
//! push is never reported done unless every ref was accepted. The caller holds the push lock.

use std::collections::BTreeMap;

use git2::{Direction, Oid, Repository};
use secrecy::SecretString;
use url::Url;

use super::push::{may_have_landed, rejection_error};
use crate::error::{HfGitError, Result};
use crate::progress::Monitor;
use crate::remote::RemoteSession;

/// What the remote said to one ref update.
#[derive(Debug, Clone)]
pub struct SentRef {
    /// The remote's URL.
    pub url: String,
    /// The remote ref's value before the update (`None`: it did not exist).
    pub old: Option<Oid>,
    /// Whether anything was sent (`false`: the remote already had what was asked).
    pub sent: bool,
}

/// What to do with the remote ref, decided once its current value is known.
pub enum Decision {
    /// Send this refspec (`src:dst`, `+src:dst` or `:dst`).
    Push(String),
    /// Nothing to send: the remote already is as asked.
    Nothing,
}

/// Connect to `url`, look up `remote_ref` among the remote's refs, let `decide` choose from its
/// current value (or refuse with an error), and send that update.
pub fn update_remote_ref(
    repo: &Repository,
    url: &Url,
    token: Option<SecretString>,
    remote_ref: &str,
    decide: impl FnOnce(Option<Oid>) -> Result<Decision>,
    monitor: &Monitor,
) -> Result<SentRef> {
    let session = RemoteSession::new(url.clone(), token)?;
    let mut remote = repo.remote_anonymous(session.url())?;
    let fail = |err: git2::Error| match session.classify(&err, monitor) {
        HfGitError::PushRejected { reason, .. } => HfGitError::PushRejected {
            reference: remote_ref.to_owned(),
            reason,
        },
        other => other,
    };
    let mut connection = remote
        .connect_auth(Direction::Push, Some(session.callbacks(monitor)), None)
        .map_err(fail)?;
    let advertised: BTreeMap<String, Oid> = connection
        .list()
        .map_err(fail)?
        .iter()
        .map(|head| (head.name().to_owned(), head.oid()))
        .collect();
    let old = advertised.get(remote_ref).copied();
    let url = session.url().to_owned();
    let refspec = match decide(old)? {
        Decision::Nothing => {
            return Ok(SentRef {
                url,
                old,
                sent: false,
            })
        }
        Decision::Push(refspec) => refspec,
    };
    let mut options = session.push_options(monitor);
    connection
        .remote()
        .push(&[refspec.as_str()], Some(&mut options))
        .map_err(|err| may_have_landed(fail(err)))?;
    drop(options);
    if let Some(rejection) = session.take_rejections().into_iter().next() {
        return Err(rejection_error(
            rejection,
            &session.remote_messages(),
            session.url(),
        ));
    }
    Ok(SentRef {
        url,
        old,
        sent: true,
    })
}
