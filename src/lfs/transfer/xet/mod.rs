//! Uploads through Xet storage, with the Hub's own client crates (`hf-xet` 1.8).
//!
//! When a batch answer picks `transfer: "xet"`, each new object's upload action is not a place to
//! PUT bytes: its `href` is the Hub's token route (`/api/{type}s/{repo}/xet-write-token/{rev}`)
//! and its headers carry the CAS URL and a first CAS token (`X-Xet-*`, see [`access`]). The objects
//! go into one upload commit of the crates: files are chunked, chunks the CAS already has are not
//! sent (that is the deduplication), new ones go up in xorbs, and the shard that maps each file
//! to its chunks and to its LFS SHA-256 goes up last, only once every xorb is stored. The crates
//! compute the SHA-256 in the same pass that chunks the file (no second read of it), and each
//! object is checked against its pointer before the shard goes: a local object damaged since its
//! commit would otherwise be stored under the pointer's oid for good (the Hub then says it has
//! the object, so no later push could replace it), where basic storage refuses such bytes.
//! Pointers in git stay ordinary LFS pointers.
//!
//! One tokio runtime serves the process, made on the first Xet transfer (`session`).
//!
//! The Hub token goes only to the token route, as `Authorization: Bearer`, and only when that
//! route is on the LFS server's own origin; the CAS gets the CAS token and nothing else.
//! Cancellation aborts the upload commit within a poll (100 ms); progress counts the bytes the
//! crates have processed, and the deduplicated and sent bytes are reported as a notice at the end.
//!
//! A failure is either the user's (authentication, permission, cancellation): raised as for any
//! LFS upload; or not (the CAS unreachable after the crates' retries, an answer that cannot be
//! used): then [`XetFailure::FallBack`], and the caller may redo the push's objects with `basic`.

mod access;
pub mod local_cas;
mod proxy;
mod session;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use secrecy::ExposeSecret;
use xet::xet_session::{HeaderMap, HeaderValue, Sha256Policy, XetFileInfo, XetUploadCommit};
use xet::XetError;

use super::upload::{Context, XetJob};
use super::LfsTransferMode;
use crate::auth::redact::{redact_text, SecretGuard};
use crate::lfs::error::LfsError;
use crate::lfs::pointer::Oid256;

/// How often the watcher looks at the cancellation flag and the crates' progress.
const POLL: Duration = Duration::from_millis(100);

/// Why a Xet upload did not complete.
#[derive(Debug)]
pub(crate) enum XetFailure {
    /// The user's problem or choice: raise it as any LFS upload error.
    Fatal(LfsError),
    /// Not the user's problem: `basic`/`multipart` may still work for these objects.
    FallBack(LfsError),
}

/// What one Xet upload did, in bytes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct XetReport {
    pub files: usize,
    pub bytes: u64,
    pub deduplicated: u64,
    pub sent: u64,
}

/// Upload `jobs` (distinct, non-empty objects whose files exist) in one upload commit.
pub(crate) fn upload(ctx: &Context<'_, '_>, jobs: &[XetJob<'_>]) -> Result<XetReport, XetFailure> {
    let Some(first) = jobs.first() else {
        return Ok(XetReport::default());
    };
    let access = access::from_action(&first.action)
        .map_err(|detail| XetFailure::FallBack(LfsError::Protocol { detail }))?;
    let _redact_cas_token = SecretGuard::register(&access.token);
    proxy::check(ctx.remote, &access).map_err(XetFailure::FallBack)?;
    let can_fall_back = ctx.transfer == LfsTransferMode::Auto;
    let (session, runtime) = session::new_session(can_fall_back).map_err(XetFailure::FallBack)?;
    let during = format!("uploading {} object(s) to Xet storage", jobs.len());
    let builder = session
        .new_upload_commit()
        .map_err(|err| classify(err, ctx, &during))?
        .with_endpoint(access.cas_url.as_str())
        .with_token_info(access.token.expose_secret(), access.expires_at)
        .with_token_refresh_url(access.refresh.as_str(), refresh_headers(ctx, &access));
    let commit = runtime
        .block_on(builder.build())
        .map_err(|err| classify(err, ctx, &during))?;

    let finished = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch(ctx, &commit, &finished));
        let outcome = runtime.block_on(run(ctx, &commit, jobs, &during));
        finished.store(true, Ordering::SeqCst);
        let shown = watcher.join().unwrap_or(0);
        if outcome.is_err() {
            // The objects will be counted again by whatever comes next (the fallback).
            ctx.tracker.remove_bytes(shown);
        }
        outcome
    })?;
    for job in jobs {
        ctx.tracker.object_transferred(job.item.pointer.size);
    }
    Ok(outcome)
}

async fn run(
    ctx: &Context<'_, '_>,
    commit: &XetUploadCommit,
    jobs: &[XetJob<'_>],
    during: &str,
) -> Result<XetReport, XetFailure> {
    let mut uploads = Vec::with_capacity(jobs.len());
    for job in jobs {
        ctx.tracker.check().map_err(XetFailure::Fatal)?;
        // Computed by the crates in the same pass that chunks the file (no second read): the
        // local object is checked against its pointer before the shard links the two, because
        // a damaged copy sent here would be stored under the pointer's oid and never replaced.
        let upload = commit
            .upload_from_path(job.item.source.clone(), Sha256Policy::Compute)
            .await
            .map_err(|err| classify(err, ctx, during))?;
        uploads.push(upload);
    }
    for (job, upload) in jobs.iter().zip(&uploads) {
        let ingested = upload
            .finalize_ingestion()
            .await
            .map_err(|err| classify(err, ctx, during))?;
        if let Err(damaged) = check_ingested(job, &ingested.xet_info) {
            let _ = commit.abort();
            return Err(XetFailure::Fatal(damaged));
        }
    }
    // Waits for every file's xorbs, then uploads the shard: nothing half-committed on failure.
    let report = commit
        .commit()
        .await
        .map_err(|err| classify(err, ctx, during))?;
    if report.uploads.len() != jobs.len() {
        return Err(XetFailure::FallBack(LfsError::Protocol {
            detail: format!(
                "the Xet upload reported {} file(s) for {} object(s)",
                report.uploads.len(),
                jobs.len()
            ),
        }));
    }
    let metrics = report.dedup_metrics;
    Ok(XetReport {
        files: jobs.len(),
        bytes: metrics.total_bytes,
        deduplicated: metrics.deduped_bytes,
        sent: metrics.total_bytes_uploaded,
    })
}

/// `Err` when the bytes ingested for `job` are not the object its pointer names.
fn check_ingested(job: &XetJob<'_>, info: &XetFileInfo) -> Result<(), LfsError> {
    let expected = job.item.pointer;
    let size = info.file_size.unwrap_or(expected.size);
    let sha256 = info
        .sha256
        .as_deref()
        .and_then(|hex| Oid256::from_hex(hex).ok());
    match sha256 {
        Some(actual) if actual == expected.oid && size == expected.size => Ok(()),
        // No hash back from the crates: the size is all there is to check.
        None if size == expected.size => Ok(()),
        actual => Err(LfsError::DamagedLocalObject {
            path: job.item.path.clone(),
            detail: format!(
                "{} should hold sha256:{} ({} bytes), as its pointer says, but holds {size} bytes \
                 hashing to sha256:{}",
                job.item.source.display(),
                expected.oid,
                expected.size,
                actual.map_or_else(|| "(not computed)".to_owned(), |oid| oid.to_string()),
            ),
        }),
    }
}

/// Until `finished`: mirror the crates' progress into the tracker and abort on cancellation.
/// Returns the bytes it added to the tracker.
fn watch(ctx: &Context<'_, '_>, commit: &XetUploadCommit, finished: &AtomicBool) -> u64 {
    let mut shown = 0u64;
    let mut aborted = false;
    while !finished.load(Ordering::SeqCst) {
        if !aborted && ctx.tracker.should_stop() {
            aborted = true;
            let _ = commit.abort();
        }
        shown = show_progress(ctx, commit, shown);
        std::thread::sleep(POLL);
    }
    // A transfer shorter than one poll still shows its bytes.
    show_progress(ctx, commit, shown)
}

fn show_progress(ctx: &Context<'_, '_>, commit: &XetUploadCommit, shown: u64) -> u64 {
    let done = commit.progress().total_bytes_completed;
    if done > shown {
        ctx.tracker.add_bytes(done - shown);
        return done;
    }
    shown
}

/// `Authorization: Bearer <hub token>` for the token route, if it is on the LFS server's origin.
fn refresh_headers(ctx: &Context<'_, '_>, access: &access::CasAccess) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(bearer) = ctx.remote.bearer_for_origin(&access.refresh) {
        if let Ok(mut value) = HeaderValue::from_str(bearer) {
            value.set_sensitive(true);
            headers.insert("authorization", value);
        }
    }
    headers
}

/// The user's errors are final; the rest may fall back.
fn classify(err: XetError, ctx: &Context<'_, '_>, during: &str) -> XetFailure {
    if ctx.tracker.should_stop() {
        return XetFailure::Fatal(LfsError::Cancelled);
    }
    let detail = redact_text(&err.to_string());
    let auth = matches!(err, XetError::Authentication(_)) || token_refused(&detail);
    match err {
        XetError::KeyboardInterrupt | XetError::UserCancelled(_) => {
            XetFailure::Fatal(LfsError::Cancelled)
        }
        _ if auth && detail.contains("403") => {
            XetFailure::Fatal(LfsError::Forbidden { message: detail })
        }
        _ if auth => XetFailure::Fatal(LfsError::Authentication { message: detail }),
        _ => XetFailure::FallBack(LfsError::Network {
            during: during.to_owned(),
            detail,
        }),
    }
}

/// Whether the Hub's token route refused the Hub token (the crates report it inside a network
/// error: "Auth error: Token refresh failed: ... 401 Unauthorized").
///
/// Text, because no type survives: the refresh runs in the crates' auth middleware, whose
/// `AuthError` reaches `XetError` as a `reqwest_middleware` error without a status, which hf-xet
/// 1.8.0 flattens into `XetError::Network(String)`. `XetError::Authentication` comes only from
/// errors raised outside the middleware; both are checked.
fn token_refused(detail: &str) -> bool {
    (detail.contains("Auth error") || detail.contains("Token refresh failed"))
        && (detail.contains("401") || detail.contains("403"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_route_that_refuses_the_hub_token_is_the_users_error_not_a_network_one() {
        assert!(token_refused(
            "Network error: Request middleware error: Auth error: Token refresh failed: \
             Request error: HTTP status client error (401 Unauthorized)"
        ));
        assert!(token_refused(
            "Auth error: Token refresh failed: 403 Forbidden"
        ));
        assert!(!token_refused("Network error: connection refused"));
        assert!(!token_refused("Server error: 503 Service Unavailable"));
    }
}
