//! Uploads: one batch request per 100 objects, then a single PUT or a multipart upload per object,
//! then the verify call when the server asks for one.
//!
//! Every PUT attempt, and every part, goes to an href that is not about to expire: the action is
//! held in a [`Lease`] and asked for again (a one-object batch) when needed, see [`super::lease`].
//! Renewals never offer `xet`: an object already planned as `basic`/`multipart` stays so.
//!
//! When the batch may offer `xet` ([`Context::transfer`]) and the server picks it, the objects of
//! every batch are gathered and uploaded together through Xet storage once all batches are asked
//! (`super::xet`); if that fails for a reason that is not the user's, `auto` asks for those
//! objects again without offering `xet` and sends them as `basic`/`multipart`, with a WARNING.

use std::sync::Arc;
use std::time::Instant;

use ureq::http::Response;
use ureq::Body;

use super::batch::{request_batch, Action, ObjectAnswer, Operation, Outcome, Transfer, BATCH_SIZE};
use super::client::{Method, Outgoing, Payload, LFS_MEDIA_TYPE};
use super::lease::{with_lease, Lease};
use super::mode::LfsTransferMode;
use super::multipart::{plan_parts, run_parts, MultipartUpload, PartSet};
use super::pool::run_pool;
use super::remote::{short_url, LfsRemote};
use super::retry::{with_retries, RetryPolicy};
use super::tracker::Tracker;
use super::UploadItem;
use crate::lfs::error::LfsError;
use crate::lfs::pointer::Pointer;
use crate::lfs::work_tree_copies::ObjectSource;

/// What every request of one run needs.
pub(crate) struct Context<'a, 'm> {
    pub remote: &'a LfsRemote,
    pub policy: RetryPolicy,
    pub tracker: &'a Tracker<'m>,
    pub ref_name: Option<&'a str>,
    /// Whether uploads offer `xet`, and whether they may fall back from it.
    pub transfer: LfsTransferMode,
}

/// An object to upload through Xet storage, with the upload action the batch gave it (its
/// `href` is the token route, its headers the CAS access).
#[cfg_attr(not(feature = "xet"), allow(dead_code))]
pub(crate) struct XetJob<'a> {
    pub item: &'a UploadItem,
    pub action: Action,
}

/// What one batch answer asks for: transfers for the pool, or objects for Xet.
struct Planned<'a> {
    jobs: Vec<Job<'a>>,
    xet: Vec<XetJob<'a>>,
}

/// Where one object goes with a single PUT, and where to confirm it.
pub(crate) struct PutTarget {
    action: Action,
    verify: Option<Action>,
    authenticated: bool,
}

/// `None`: a renewed batch answer says the server has the object after all.
type SingleLease = Lease<Option<PutTarget>>;

enum Job<'a> {
    Single(&'a UploadItem, Box<SingleLease>),
    Parts(Arc<MultipartUpload<'a>>),
}

/// Upload `items` (already distinct and non-empty) on `workers` threads; objects missing from
/// the store are asked of `restorer` first.
pub(crate) fn upload_all(
    ctx: &Context<'_, '_>,
    items: &[UploadItem],
    restorer: Option<&dyn ObjectSource>,
    workers: usize,
) -> Result<(), LfsError> {
    run_pool(
        workers,
        ctx.tracker,
        |submit| {
            let offer_xet = ctx.transfer.offers_xet()?;
            let mut xet = Vec::new();
            let all: Vec<&UploadItem> = items.iter().collect();
            for chunk in all.chunks(BATCH_SIZE) {
                ctx.tracker.check()?;
                let planned = plan_batch(ctx, chunk, restorer, offer_xet, workers)?;
                xet.extend(planned.xet);
                for job in planned.jobs {
                    if !submit(job) {
                        return Ok(());
                    }
                }
            }
            if xet.is_empty() {
                return Ok(());
            }
            let Some(fallback) = upload_xet(ctx, &xet)? else {
                return Ok(());
            };
            for chunk in fallback.chunks(BATCH_SIZE) {
                ctx.tracker.check()?;
                for job in plan_batch(ctx, chunk, restorer, false, workers)?.jobs {
                    if !submit(job) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        },
        |job| match job {
            Job::Single(item, lease) => {
                let Some(verify_action) = put_object(ctx, item, &lease)? else {
                    ctx.tracker.object_skipped();
                    return Ok(());
                };
                if let Some(verify_action) = &verify_action {
                    verify(ctx, verify_action, item)?;
                }
                ctx.tracker.object_transferred(item.pointer.size);
                Ok(())
            }
            Job::Parts(upload) => run_parts(ctx, &upload),
        },
    )
}

/// Upload `jobs` through Xet; `Some(items)` when they are to be sent again without Xet.
#[cfg(feature = "xet")]
fn upload_xet<'a>(
    ctx: &Context<'_, '_>,
    jobs: &[XetJob<'a>],
) -> Result<Option<Vec<&'a UploadItem>>, LfsError> {
    use super::xet::{upload, XetFailure};
    match upload(ctx, jobs) {
        Ok(report) => {
            ctx.tracker.monitor().notice(format!(
                "Xet: {} file(s), {} bytes, {} deduplicated, {} sent to storage",
                report.files, report.bytes, report.deduplicated, report.sent
            ));
            ctx.tracker
                .xet_uploaded(report.bytes, report.deduplicated, report.sent);
            Ok(None)
        }
        Err(XetFailure::Fatal(error)) => Err(error),
        Err(XetFailure::FallBack(error)) if ctx.transfer == LfsTransferMode::Auto => {
            // The cause without the "try again" a failure ends with: hfgit is trying another way.
            let cause = match &error {
                LfsError::Network { during, detail } => format!("{detail}, while {during}"),
                other => other.to_string(),
            };
            ctx.tracker.monitor().warning(format!(
                "the Xet upload failed ({cause}); sending the {} object(s) with basic/multipart \
                 instead (set HFGIT_LFS_TRANSFER=basic to skip Xet)",
                jobs.len()
            ));
            Ok(Some(jobs.iter().map(|job| job.item).collect()))
        }
        Err(XetFailure::FallBack(error)) => Err(error),
    }
}

/// Without the `xet` feature `xet` is never offered, so a server that picks it broke the protocol.
#[cfg(not(feature = "xet"))]
fn upload_xet<'a>(
    _ctx: &Context<'_, '_>,
    _jobs: &[XetJob<'a>],
) -> Result<Option<Vec<&'a UploadItem>>, LfsError> {
    Err(LfsError::Protocol {
        detail: "the server chose the transfer \"xet\", which was not offered".to_owned(),
    })
}

/// Ask about one chunk of objects and turn the answer into jobs; objects the server already has
/// are counted as skipped here. A multipart upload gets one job per part it may run at once
/// (each job takes parts until none are left); objects the server wants through Xet are handed
/// back in [`Planned::xet`].
fn plan_batch<'a>(
    ctx: &Context<'_, '_>,
    chunk: &[&'a UploadItem],
    restorer: Option<&dyn ObjectSource>,
    offer_xet: bool,
    workers: usize,
) -> Result<Planned<'a>, LfsError> {
    let pointers: Vec<Pointer> = chunk.iter().map(|item| item.pointer).collect();
    let operation = if offer_xet {
        Operation::UploadOfferingXet
    } else {
        Operation::Upload
    };
    let answer = request_batch(
        ctx.remote,
        &ctx.policy,
        ctx.tracker,
        operation,
        &pointers,
        ctx.ref_name,
    )?;
    let wants_upload = answer.objects.iter().any(|object| {
        matches!(
            object.outcome,
            Outcome::Actions {
                transfer: Some(_),
                ..
            }
        )
    });
    if ctx.transfer == LfsTransferMode::Xet && wants_upload && answer.transfer != Transfer::Xet {
        return Err(LfsError::InvalidSetting {
            detail: format!(
                "the Xet transfer was asked for (HFGIT_LFS_TRANSFER or lfs_transfer=\"xet\"), but \
                 this repository's LFS server does not offer it (it chose {}); push with \
                 lfs_transfer=\"auto\" or \"basic\"",
                answer.transfer.name()
            ),
        });
    }
    let mut jobs = Vec::new();
    let mut xet = Vec::new();
    let mut missing = Vec::new();
    for (&item, object) in chunk.iter().zip(answer.objects) {
        let authenticated = object.authenticated;
        let (action, verify) = match object.outcome {
            Outcome::Rejected { code, message } => {
                return Err(rejected(&item.path, &item.pointer, code, &message))
            }
            Outcome::Actions { transfer: None, .. } => {
                ctx.tracker.object_skipped();
                continue;
            }
            Outcome::Actions {
                transfer: Some(action),
                verify,
            } => (action, verify),
        };
        // A clone made without downloading every LFS file can push commits that only move its
        // pointers: that is fine while the server has the objects (git-lfs checks the same way).
        // An object pruned from the store may still be in the work tree: the restorer says.
        if !item.source.is_file() && !restored(restorer, item)? {
            missing.push(item.path.clone());
            continue;
        }
        let expires_at = action.expires_at;
        let set = match answer.transfer {
            Transfer::Xet => {
                xet.push(XetJob { item, action });
                continue;
            }
            Transfer::Multipart => part_set(item, &action, &verify)?,
            Transfer::Basic => None,
        };
        match set {
            Some(set) => {
                let upload = Arc::new(MultipartUpload::new(item, set, expires_at));
                let parallel = upload.part_count().min(workers.max(1));
                jobs.extend((0..parallel).map(|_| Job::Parts(upload.clone())));
            }
            None => {
                let target = PutTarget {
                    action,
                    verify,
                    authenticated,
                };
                jobs.push(Job::Single(
                    item,
                    Box::new(Lease::new(Some(target), expires_at)),
                ));
            }
        }
    }
    if !missing.is_empty() {
        return Err(LfsError::ObjectMissingLocally { paths: missing });
    }
    Ok(Planned { jobs, xet })
}

/// The part URLs of a multipart upload action, checked against the object's size; `None` when
/// the action has no `chunk_size` (a single PUT, even in a multipart batch).
pub(crate) fn part_set(
    item: &UploadItem,
    action: &Action,
    verify: &Option<Action>,
) -> Result<Option<PartSet>, LfsError> {
    let plan =
        plan_parts(&action.header, item.pointer.size).map_err(|detail| LfsError::Protocol {
            detail: format!("cannot upload {} in parts: {detail}", item.path),
        })?;
    Ok(plan.map(|plan| PartSet::new(plan, action.href.clone(), verify.clone())))
}

/// Whether `restorer` put the missing object of `item` back into the store.
fn restored(restorer: Option<&dyn ObjectSource>, item: &UploadItem) -> Result<bool, LfsError> {
    match restorer {
        Some(restorer) => Ok(restorer.restore(&item.pointer)? && item.source.is_file()),
        None => Ok(false),
    }
}

/// The typed error for a per-object batch error.
pub(crate) fn rejected(path: &str, pointer: &Pointer, code: i64, message: &str) -> LfsError {
    let message = if message.is_empty() {
        "no details given"
    } else {
        message
    };
    LfsError::ObjectRejected {
        path: path.to_owned(),
        oid: pointer.oid,
        code,
        message: crate::auth::redact::redact_text(message),
    }
}

/// Ask the batch API about one object again, for a fresh action.
pub(crate) fn ask_again(
    ctx: &Context<'_, '_>,
    operation: Operation,
    path: &str,
    pointer: &Pointer,
) -> Result<(Transfer, ObjectAnswer), LfsError> {
    let answer = request_batch(
        ctx.remote,
        &ctx.policy,
        ctx.tracker,
        operation,
        std::slice::from_ref(pointer),
        ctx.ref_name,
    )?;
    let object = answer.objects.into_iter().next().ok_or_else(|| {
        // parse_answer guarantees one answer per object asked about.
        LfsError::Protocol {
            detail: format!("the batch answer leaves out {path}"),
        }
    })?;
    if let Outcome::Rejected { code, message } = &object.outcome {
        return Err(rejected(path, pointer, *code, message));
    }
    Ok((answer.transfer, object))
}

/// A fresh single-PUT action for `item`, or `None` when the server now has the object.
fn renew_put(
    ctx: &Context<'_, '_>,
    item: &UploadItem,
) -> Result<(Option<PutTarget>, Option<Instant>), LfsError> {
    let (_, object) = ask_again(ctx, Operation::Upload, &item.path, &item.pointer)?;
    match object.outcome {
        Outcome::Actions {
            transfer: Some(action),
            verify,
        } if !action.header.contains_key("chunk_size") => {
            let expires_at = action.expires_at;
            let target = PutTarget {
                action,
                verify,
                authenticated: object.authenticated,
            };
            Ok((Some(target), expires_at))
        }
        Outcome::Actions { transfer: None, .. } => Ok((None, None)),
        _ => Err(LfsError::Protocol {
            detail: format!(
                "the upload action for {} expired and the server did not renew it",
                item.path
            ),
        }),
    }
}

/// The single PUT of a whole object, streamed from its file, with a fresh action for every
/// attempt. `Some(verify action)` once the server has the bytes; `None` when a renewed batch
/// answer said it had the object already and nothing was sent.
fn put_object(
    ctx: &Context<'_, '_>,
    item: &UploadItem,
    lease: &SingleLease,
) -> Result<Option<Option<Action>>, LfsError> {
    let renew = |_: &Option<PutTarget>| renew_put(ctx, item);
    let mut last_href = None;
    let mut token_sent = false;
    let outcome = with_lease(&ctx.policy, ctx.tracker, lease, &renew, |leased| {
        let Some(target) = leased.value.as_ref() else {
            return Ok(None);
        };
        let authorization = if target.authenticated {
            None
        } else {
            ctx.remote.authorization_for(&target.action.href)
        };
        token_sent = authorization.is_some();
        last_href = Some(target.action.href.clone());
        let outgoing = Outgoing {
            method: Method::Put,
            url: &target.action.href,
            headers: header_pairs(&target.action),
            authorization,
            payload: Payload::File {
                path: &item.source,
                offset: 0,
                len: item.pointer.size,
            },
        };
        let mut response = ctx.remote.http.send(&outgoing, ctx.tracker)?;
        drain(&mut response);
        Ok(Some(target.verify.clone()))
    });
    outcome.map_err(|failure| {
        let during = match &last_href {
            Some(href) => format!("uploading {} to {}", item.path, short_url(href)),
            None => format!("uploading {}", item.path),
        };
        failure.into_error(&during, token_sent)
    })
}

/// POST `{oid, size}` to the verify action: the server confirms it now has the object.
pub(crate) fn verify(
    ctx: &Context<'_, '_>,
    action: &Action,
    item: &UploadItem,
) -> Result<(), LfsError> {
    let body = serde_json::json!({
        "oid": item.pointer.oid.to_hex(),
        "size": item.pointer.size,
    })
    .to_string();
    let mut headers = header_pairs(action);
    for name in ["Accept", "Content-Type"] {
        if !headers
            .iter()
            .any(|(have, _)| have.eq_ignore_ascii_case(name))
        {
            headers.push((name.to_owned(), LFS_MEDIA_TYPE.to_owned()));
        }
    }
    let authorization = ctx.remote.authorization_for(&action.href);
    let outgoing = Outgoing {
        method: Method::Post,
        url: &action.href,
        headers,
        authorization,
        payload: Payload::Bytes(body.as_bytes()),
    };
    let during = format!("verifying {} at {}", item.path, short_url(&action.href));
    with_retries(&ctx.policy, ctx.tracker, || {
        let mut response = ctx.remote.http.send(&outgoing, ctx.tracker)?;
        drain(&mut response);
        Ok(())
    })
    .map_err(|failure| failure.into_error(&during, authorization.is_some()))
}

pub(crate) fn header_pairs(action: &Action) -> Vec<(String, String)> {
    action
        .header
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Read what is left of a small answer so its connection can be reused.
pub(crate) fn drain(response: &mut Response<Body>) {
    let _ = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec();
}
