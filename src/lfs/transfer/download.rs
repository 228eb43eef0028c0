//! Downloads: one batch request per 100 objects, then a streamed GET per object into
//! `.git/lfs/tmp/`, checked against its pointer before it is moved into the store.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::batch::{request_batch, Action, Operation, Outcome, BATCH_SIZE};
use super::client::{Method, Outgoing, Payload};
use super::pool::run_pool;
use super::remote::short_url;
use super::retry::{with_retries, Failure};
use super::upload::{header_pairs, rejected, Context, EXPIRY_MARGIN};
use super::DownloadItem;
use crate::auth::redact::redact_text;
use crate::lfs::error::LfsError;
use crate::lfs::pointer::Pointer;
use crate::lfs::store::LfsStore;

/// Bytes copied from the socket to the file at a time; also how often cancellation is checked.
const COPY_BUFFER: usize = 256 * 1024;

struct Job<'a> {
    item: &'a DownloadItem,
    action: Action,
    authenticated: bool,
}

/// Download `items` (already distinct and missing from `store`) on `workers` threads.
pub(crate) fn download_all(
    ctx: &Context<'_, '_>,
    items: &[DownloadItem],
    store: &LfsStore,
    workers: usize,
) -> Result<(), LfsError> {
    run_pool(
        workers,
        ctx.tracker,
        |submit| {
            for chunk in items.chunks(BATCH_SIZE) {
                ctx.tracker.check()?;
                for job in plan_batch(ctx, chunk)? {
                    if !submit(job) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        },
        |job| {
            let job = if job.action.expires_within(EXPIRY_MARGIN) {
                // Ask again for this one object; a one-object batch yields one job or an error.
                let renewed = plan_batch(ctx, std::slice::from_ref(job.item))?;
                renewed.into_iter().next().unwrap_or(job)
            } else {
                job
            };
            fetch_object(ctx, store, job.item, &job.action, job.authenticated)?;
            ctx.tracker.object_transferred(job.item.pointer.size);
            Ok(())
        },
    )
}

fn plan_batch<'a>(
    ctx: &Context<'_, '_>,
    chunk: &'a [DownloadItem],
) -> Result<Vec<Job<'a>>, LfsError> {
    let pointers: Vec<Pointer> = chunk.iter().map(|item| item.pointer).collect();
    let answer = request_batch(
        ctx.remote,
        &ctx.policy,
        ctx.tracker,
        Operation::Download,
        &pointers,
        ctx.ref_name,
    )?;
    chunk
        .iter()
        .zip(answer.objects)
        .map(|(item, object)| match object.outcome {
            Outcome::Rejected { code, message } => {
                Err(rejected(&item.path, &item.pointer, code, &message))
            }
            Outcome::Actions {
                transfer: Some(action),
                ..
            } => Ok(Job {
                item,
                action,
                authenticated: object.authenticated,
            }),
            Outcome::Actions { transfer: None, .. } => Err(LfsError::Protocol {
                detail: format!(
                    "the server offered no download for {} (sha256:{})",
                    item.path, item.pointer.oid
                ),
            }),
        })
        .collect()
}

/// GET one object into a temp file (again from the start if an attempt breaks), then hand it to
/// the store, which keeps it only if its size and SHA-256 match the pointer.
fn fetch_object(
    ctx: &Context<'_, '_>,
    store: &LfsStore,
    item: &DownloadItem,
    action: &Action,
    authenticated: bool,
) -> Result<(), LfsError> {
    let (file, temp) = store.create_temp()?;
    // Declared after the guard, so the file is closed before the guard deletes it.
    let temp = TempFile(Some(temp));
    let mut file = file;
    let authorization = if authenticated {
        None
    } else {
        ctx.remote.authorization_for(&action.href)
    };
    let outgoing = Outgoing {
        method: Method::Get,
        url: &action.href,
        headers: header_pairs(action),
        authorization,
        payload: Payload::Empty,
    };
    let during = format!("downloading {} from {}", item.path, short_url(&action.href));
    with_retries(&ctx.policy, ctx.tracker, || {
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.set_len(0))
            .map_err(|err| LfsError::io_at("rewinding", temp.path(), err))?;
        let mut response = ctx.remote.http.send(&outgoing, ctx.tracker)?;
        let mut body = response.body_mut().as_reader();
        let written = copy_body(ctx, &mut body, &mut file, temp.path(), item.pointer.size);
        match written {
            Ok(written) if written < item.pointer.size => {
                ctx.tracker.remove_bytes(written);
                Err(Failure::Transport {
                    detail: format!(
                        "the download ended after {written} of {} bytes",
                        item.pointer.size
                    ),
                    retryable: true,
                    certificate: false,
                })
            }
            Ok(_) => Ok(()),
            Err((written, failure)) => {
                ctx.tracker.remove_bytes(written);
                Err(failure)
            }
        }
    })
    .map_err(|failure| failure.into_error(&during, authorization.is_some()))?;
    file.flush()
        .map_err(|err| LfsError::io_at("writing", temp.path(), err))?;
    drop(file);
    store.insert_verified(&temp.take(), &item.pointer)
}

/// Copy at most `size + 1` bytes (one more is enough to prove the body too long, and a hostile
/// server cannot fill the disk). Returns the count, or the count so far with the failure.
fn copy_body(
    ctx: &Context<'_, '_>,
    body: &mut impl Read,
    file: &mut File,
    path: &Path,
    size: u64,
) -> Result<u64, (u64, Failure)> {
    let mut buffer = vec![0u8; COPY_BUFFER];
    let limit = size.saturating_add(1);
    let mut written: u64 = 0;
    while written < limit {
        if let Err(err) = ctx.tracker.check() {
            return Err((written, err.into()));
        }
        let room =
            usize::try_from(limit - written).map_or(COPY_BUFFER, |left| left.min(COPY_BUFFER));
        let read = match body.read(&mut buffer[..room]) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                let failure = if ctx.tracker.should_stop() {
                    Failure::Fatal(LfsError::Cancelled)
                } else {
                    Failure::Transport {
                        detail: redact_text(&err.to_string()),
                        retryable: true,
                        certificate: false,
                    }
                };
                return Err((written, failure));
            }
        };
        if let Err(err) = file.write_all(&buffer[..read]) {
            let error = LfsError::io_at("writing", path, err);
            return Err((written, error.into()));
        }
        written += read as u64;
        ctx.tracker.add_bytes(read as u64);
    }
    Ok(written)
}

/// A temp file that is deleted unless taken.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or_else(|| Path::new(""))
    }

    fn take(mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}
