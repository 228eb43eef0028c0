//! Uploads: one batch request per 100 objects, then a single PUT or a multipart upload per object,
//! then the verify call when the server asks for one.
//!
//! When the batch may offer `xet` ([`Context::transfer`]) and the server picks it, the objects of
//! every batch are gathered and uploaded together through Xet storage once all batches are asked
//! (`super::xet`); if that fails for a reason that is not the user's, `auto` asks for those
//! objects again without offering `xet` and sends them as `basic`/`multipart`, with a WARNING.

use std::sync::Arc;
use std::time::Duration;

use ureq::http::Response;
use ureq::Body;

use super::batch::{request_batch, Action, Operation, Outcome, Transfer, BATCH_SIZE};
use super::client::{Method, Outgoing, Payload, LFS_MEDIA_TYPE};
use super::mode::LfsTransferMode;
use super::multipart::{plan_parts, upload_part, MultipartUpload};
use super::pool::run_pool;
use super::remote::{short_url, LfsRemote};
use super::retry::{with_retries, RetryPolicy};
use super::tracker::Tracker;
use super::UploadItem;
use crate::lfs::error::LfsError;
use crate::lfs::pointer::Pointer;
use crate::lfs::work_tree_copies::ObjectSource;

/// An action this close to expiry is asked for again, as git-lfs does.
pub(crate) const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

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

// Moved once through the channel; boxing the single-PUT job would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Job<'a> {
    Single {
        item: &'a UploadItem,
        action: Action,
        verify: Option<Action>,
        authenticated: bool,
    },
    Part(Arc<MultipartUpload<'a>>, usize),
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
                let planned = plan_batch(ctx, chunk, restorer, offer_xet)?;
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
                for job in plan_batch(ctx, chunk, restorer, false)?.jobs {
                    if !submit(job) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        },
        |job| match job {
            Job::Single {
                item,
                action,
                verify: verify_action,
                authenticated,
            } => {
                let Some((action, verify_action, authenticated)) =
                    fresh_action(ctx, item, action, verify_action, authenticated)?
                else {
                    ctx.tracker.object_skipped();
                    return Ok(());
                };
                put_object(ctx, item, &action, authenticated)?;
                if let Some(verify_action) = &verify_action {
                    verify(ctx, verify_action, item)?;
                }
                ctx.tracker.object_transferred(item.pointer.size);
                Ok(())
            }
            Job::Part(upload, index) => upload_part(ctx, &upload, index),
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
            ctx.tracker.monitor().warning(format!(
                "the Xet upload failed ({error}); sending the {} object(s) with basic/multipart \
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
/// are counted as skipped here.
fn plan_batch<'a>(
    ctx: &Context<'_, '_>,
    chunk: &[&'a UploadItem],
    restorer: Option<&dyn ObjectSource>,
    offer_xet: bool,
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
        return Err(LfsError::Protocol {
            detail: "the Xet transfer was asked for (HFGIT_LFS_TRANSFER or lfs_transfer=\"xet\"), \
                     but the LFS server did not choose it"
                .to_owned(),
        });
    }
    let mut jobs = Vec::new();
    let mut xet = Vec::new();
    let mut missing = Vec::new();
    for (&item, object) in chunk.iter().zip(answer.objects) {
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
        let plan = match answer.transfer {
            Transfer::Xet => {
                xet.push(XetJob { item, action });
                continue;
            }
            Transfer::Multipart => {
                plan_parts(&action.header, item.pointer.size).map_err(|detail| {
                    LfsError::Protocol {
                        detail: format!("cannot upload {} in parts: {detail}", item.path),
                    }
                })?
            }
            Transfer::Basic => None,
        };
        match plan {
            Some(plan) => {
                let upload = Arc::new(MultipartUpload::new(item, plan, action.href, verify));
                jobs.extend((0..upload.part_count()).map(|index| Job::Part(upload.clone(), index)));
            }
            None => jobs.push(Job::Single {
                item,
                action,
                verify,
                authenticated: object.authenticated,
            }),
        }
    }
    if !missing.is_empty() {
        return Err(LfsError::ObjectMissingLocally { paths: missing });
    }
    Ok(Planned { jobs, xet })
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

/// The action to use now: the one given, or a new one if it is about to expire. `None` when the
/// new answer says the server has the object after all.
fn fresh_action(
    ctx: &Context<'_, '_>,
    item: &UploadItem,
    action: Action,
    verify: Option<Action>,
    authenticated: bool,
) -> Result<Option<(Action, Option<Action>, bool)>, LfsError> {
    if !action.expires_within(EXPIRY_MARGIN) {
        return Ok(Some((action, verify, authenticated)));
    }
    let answer = request_batch(
        ctx.remote,
        &ctx.policy,
        ctx.tracker,
        Operation::Upload,
        &[item.pointer],
        ctx.ref_name,
    )?;
    let object = answer.objects.into_iter().next();
    match object.map(|object| (object.outcome, object.authenticated)) {
        Some((Outcome::Rejected { code, message }, _)) => {
            Err(rejected(&item.path, &item.pointer, code, &message))
        }
        Some((
            Outcome::Actions {
                transfer: Some(action),
                verify,
            },
            authenticated,
        )) if !action.header.contains_key("chunk_size") => {
            Ok(Some((action, verify, authenticated)))
        }
        Some((Outcome::Actions { transfer: None, .. }, _)) => Ok(None),
        _ => Err(LfsError::Protocol {
            detail: format!(
                "the upload action for {} expired and the server did not renew it",
                item.path
            ),
        }),
    }
}

/// The single PUT of a whole object, streamed from its file.
fn put_object(
    ctx: &Context<'_, '_>,
    item: &UploadItem,
    action: &Action,
    authenticated: bool,
) -> Result<(), LfsError> {
    let authorization = if authenticated {
        None
    } else {
        ctx.remote.authorization_for(&action.href)
    };
    let outgoing = Outgoing {
        method: Method::Put,
        url: &action.href,
        headers: header_pairs(action),
        authorization,
        payload: Payload::File {
            path: &item.source,
            offset: 0,
            len: item.pointer.size,
        },
    };
    let during = format!("uploading {} to {}", item.path, short_url(&action.href));
    with_retries(&ctx.policy, ctx.tracker, || {
        let mut response = ctx.remote.http.send(&outgoing, ctx.tracker)?;
        drain(&mut response);
        Ok(())
    })
    .map_err(|failure| failure.into_error(&during, authorization.is_some()))
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
