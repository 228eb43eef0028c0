//! Downloads: one batch request per 100 objects, then per object either one streamed GET (small
//! objects) or several Range requests at once (big ones, and any over the whole-download limit;
//! see [`super::ranged`]).
//!
//! A streamed GET writes into a temp file in `.git/lfs/tmp/` and hashes the bytes as they arrive,
//! so the object is read once. When the connection breaks, the next attempt asks for the rest
//! with `Range: bytes=N-` and carries on; a server that answers 200 (it ignores `Range`) or 416
//! gets the object again from byte 0, as git-lfs does. Every attempt goes to an href that is not
//! about to expire ([`super::lease`]). The object is moved into the store only if its size and
//! SHA-256 match the pointer.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::batch::{request_batch, Action, Operation, Outcome, BATCH_SIZE};
use super::client::{header_text, Method, Outgoing, Payload};
use super::lease::{with_lease, Lease, Renew};
use super::pool::run_pool;
use super::ranged::{plan_ranges, RangedDownload};
use super::remote::short_url;
use super::retry::Failure;
use super::upload::{ask_again, header_pairs, rejected, Context};
use super::DownloadItem;
use crate::auth::redact::redact_text;
use crate::lfs::error::LfsError;
use crate::lfs::pointer::{Oid256, Pointer};
use crate::lfs::store::LfsStore;

/// Bytes gathered from the socket before they are written to the file at once.
pub(crate) const COPY_BUFFER: usize = 1 << 20;

/// Where one object can be fetched from.
pub(crate) struct Href {
    pub action: Action,
    /// The server's `authenticated: true`: the href needs no credentials of ours.
    pub authenticated: bool,
}

impl Href {
    /// The token, if it may go to this href at all (see [`super::remote`]).
    pub(crate) fn authorization<'c>(&self, ctx: &Context<'c, '_>) -> Option<&'c str> {
        if self.authenticated {
            None
        } else {
            ctx.remote.authorization_for(&self.action.href)
        }
    }
}

pub(crate) type HrefLease = Lease<Href>;

/// How objects are split, for one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DownloadPlan {
    pub workers: usize,
    /// Objects bigger than this are fetched in ranges no longer than this.
    pub max_whole_download: u64,
}

enum Job<'a> {
    Whole(&'a DownloadItem, Box<HrefLease>),
    Ranged(Arc<RangedDownload<'a>>),
}

/// Download `items` (already distinct and missing from `store`).
pub(crate) fn download_all(
    ctx: &Context<'_, '_>,
    items: &[DownloadItem],
    store: &LfsStore,
    plan: DownloadPlan,
) -> Result<(), LfsError> {
    run_pool(
        plan.workers,
        ctx.tracker,
        |submit| {
            for chunk in items.chunks(BATCH_SIZE) {
                ctx.tracker.check()?;
                for job in plan_batch(ctx, chunk, store, plan)? {
                    if !submit(job) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        },
        |job| match job {
            Job::Whole(item, lease) => {
                fetch_whole(ctx, store, item, &lease)?;
                ctx.tracker.object_transferred(item.pointer.size);
                Ok(())
            }
            Job::Ranged(download) => super::ranged::run(ctx, &download),
        },
    )
}

/// Ask about one chunk of objects; each becomes one job, or (in ranges) one job per range it
/// may fetch at once.
fn plan_batch<'a>(
    ctx: &Context<'_, '_>,
    chunk: &'a [DownloadItem],
    store: &'a LfsStore,
    plan: DownloadPlan,
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
    let mut jobs = Vec::new();
    for (item, object) in chunk.iter().zip(answer.objects) {
        let action = match object.outcome {
            Outcome::Rejected { code, message } => {
                return Err(rejected(&item.path, &item.pointer, code, &message))
            }
            Outcome::Actions {
                transfer: Some(action),
                ..
            } => action,
            Outcome::Actions { transfer: None, .. } => return Err(no_download(item)),
        };
        let expires_at = action.expires_at;
        let href = Href {
            action,
            authenticated: object.authenticated,
        };
        let lease = Lease::new(href, expires_at);
        match plan_ranges(item.pointer.size, plan.workers, plan.max_whole_download) {
            Some(ranges) => {
                let download = Arc::new(RangedDownload::open(
                    ctx,
                    store,
                    item,
                    ranges,
                    plan.max_whole_download,
                    lease,
                )?);
                let parallel = ranges.parts.min(plan.workers.max(1));
                jobs.extend((0..parallel).map(|_| Job::Ranged(download.clone())));
            }
            None => jobs.push(Job::Whole(item, Box::new(lease))),
        }
    }
    Ok(jobs)
}

fn no_download(item: &DownloadItem) -> LfsError {
    LfsError::Protocol {
        detail: format!(
            "the server offered no download for {} (sha256:{})",
            item.path, item.pointer.oid
        ),
    }
}

/// A fresh download href for `item` (a one-object batch request).
pub(crate) fn renew_href(
    ctx: &Context<'_, '_>,
    item: &DownloadItem,
) -> Result<(Href, Option<Instant>), LfsError> {
    let (_, object) = ask_again(ctx, Operation::Download, &item.path, &item.pointer)?;
    match object.outcome {
        Outcome::Actions {
            transfer: Some(action),
            ..
        } => {
            let expires_at = action.expires_at;
            let href = Href {
                action,
                authenticated: object.authenticated,
            };
            Ok((href, expires_at))
        }
        _ => Err(no_download(item)),
    }
}

/// Download one object into a temp file, then hand it to the store with the hash taken on the
/// way, which keeps it only if it matches the pointer.
fn fetch_whole(
    ctx: &Context<'_, '_>,
    store: &LfsStore,
    item: &DownloadItem,
    lease: &HrefLease,
) -> Result<(), LfsError> {
    let (file, temp) = store.create_temp()?;
    // Declared after the guard, so the file is closed before the guard deletes it.
    let temp = TempFile(Some(temp));
    let renew = |_: &Href| renew_href(ctx, item);
    let received = fetch_sequential(ctx, item, lease, &renew, &file, temp.path())?;
    drop(file);
    store.insert_hashed(&temp.take(), &item.pointer, &received)
}

/// GET `item` into `out` from byte 0, resuming with `Range` after a broken connection. Returns
/// the pointer of what was received (its SHA-256 and length).
pub(crate) fn fetch_sequential(
    ctx: &Context<'_, '_>,
    item: &DownloadItem,
    lease: &HrefLease,
    renew: &Renew<'_, Href>,
    out: &File,
    out_path: &Path,
) -> Result<Pointer, LfsError> {
    let size = item.pointer.size;
    let mut received = Received::default();
    let mut last_href = None;
    let mut token_sent = false;
    let outcome = with_lease(&ctx.policy, ctx.tracker, lease, renew, |leased| {
        let href = &*leased.value;
        let authorization = href.authorization(ctx);
        token_sent = authorization.is_some();
        last_href = Some(href.action.href.clone());
        loop {
            let from = received.bytes;
            let mut headers = header_pairs(&href.action);
            if from > 0 {
                headers.push(("Range".to_owned(), format!("bytes={from}-")));
            }
            let outgoing = Outgoing {
                method: Method::Get,
                url: &href.action.href,
                headers,
                authorization,
                payload: Payload::Empty,
            };
            let mut response = match ctx.remote.http.send(&outgoing, ctx.tracker) {
                // The server cannot serve the rest: get it all again.
                Err(Failure::Status { status: 416, .. }) if from > 0 => {
                    received.start_over(ctx);
                    continue;
                }
                other => other?,
            };
            if from > 0 && response.status().as_u16() != 206 {
                // A 200 carries the whole object: start again with it.
                received.start_over(ctx);
            } else if from > 0 {
                let range = header_text(response.headers(), "content-range")
                    .as_deref()
                    .and_then(parse_content_range);
                if range.map(|range| (range.start, range.total)) != Some((from, Some(size))) {
                    // Not the range asked for: drop this answer and ask for everything.
                    received.start_over(ctx);
                    continue;
                }
            }
            let body = response.body_mut().as_reader();
            return copy_sequential(ctx, body, out, out_path, &mut received, size);
        }
    });
    outcome.map_err(|failure| {
        let during = match &last_href {
            Some(href) => format!("downloading {} from {}", item.path, short_url(href)),
            None => format!("downloading {}", item.path),
        };
        failure.into_error(&during, token_sent)
    })?;
    Ok(received.pointer())
}

/// What a sequential download has written so far, and its running hash.
#[derive(Default)]
struct Received {
    bytes: u64,
    hasher: Sha256,
}

impl Received {
    fn start_over(&mut self, ctx: &Context<'_, '_>) {
        ctx.tracker.remove_bytes(self.bytes);
        *self = Self::default();
    }

    fn pointer(&self) -> Pointer {
        Pointer::new(
            Oid256::from_bytes(self.hasher.clone().finalize().into()),
            self.bytes,
        )
    }
}

/// Copy the body to `out` at the current position, at most one byte past `size` (enough to prove
/// it too long; a hostile server cannot fill the disk). A body that ends early is a retryable
/// failure, and the bytes so far stay for the next attempt to resume from.
fn copy_sequential(
    ctx: &Context<'_, '_>,
    mut body: impl Read,
    out: &File,
    out_path: &Path,
    received: &mut Received,
    size: u64,
) -> Result<(), Failure> {
    let limit = size.saturating_add(1);
    copy_in_batches(ctx, &mut body, limit - received.bytes.min(limit), |batch| {
        write_at(out, batch, received.bytes)
            .map_err(|err| LfsError::io_at("writing", out_path, err))?;
        received.hasher.update(batch);
        received.bytes += batch.len() as u64;
        Ok(None)
    })?;
    if received.bytes < size {
        return Err(ended_early(received.bytes, size));
    }
    Ok(())
}

/// Read at most `want` bytes of `body`, handing them to `flush` in batches of up to
/// [`COPY_BUFFER`] (fewer, larger writes: threads writing one file contend for its lock). What was
/// read is flushed before a failure is returned, so an attempt that breaks keeps every byte it
/// got. Progress counts bytes as they arrive. `flush` answers `Some(unused)` to stop reading,
/// `unused` being the bytes of its batch it did not keep (they are taken back out of the
/// progress). Returns the bytes read.
pub(crate) fn copy_in_batches(
    ctx: &Context<'_, '_>,
    body: &mut impl Read,
    want: u64,
    mut flush: impl FnMut(&[u8]) -> Result<Option<u64>, Failure>,
) -> Result<u64, Failure> {
    let mut buffer = vec![0u8; COPY_BUFFER];
    let mut filled = 0usize;
    let mut total: u64 = 0;
    let mut hand_over = |batch: &[u8]| -> Result<bool, Failure> {
        if batch.is_empty() {
            return Ok(true);
        }
        match flush(batch)? {
            None => Ok(true),
            Some(unused) => {
                ctx.tracker.remove_bytes(unused);
                Ok(false)
            }
        }
    };
    loop {
        let left = want - total;
        if left == 0 {
            break;
        }
        let room = usize::try_from(left).map_or(buffer.len() - filled, |left| {
            left.min(buffer.len() - filled)
        });
        let read = match read_some(ctx, body, &mut buffer[filled..filled + room]) {
            Ok(read) => read,
            Err(failure) => {
                hand_over(&buffer[..filled])?;
                return Err(failure);
            }
        };
        if read == 0 {
            break;
        }
        ctx.tracker.add_bytes(read as u64);
        filled += read;
        total += read as u64;
        if filled == buffer.len() {
            if !hand_over(&buffer[..filled])? {
                return Ok(total);
            }
            filled = 0;
        }
    }
    hand_over(&buffer[..filled])?;
    Ok(total)
}

/// One read from a response body: the count (0 at its end), or the failure to report.
pub(crate) fn read_some(
    ctx: &Context<'_, '_>,
    body: &mut impl Read,
    buffer: &mut [u8],
) -> Result<usize, Failure> {
    loop {
        ctx.tracker.check()?;
        match body.read(buffer) {
            Ok(read) => return Ok(read),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) if ctx.tracker.should_stop() => return Err(LfsError::Cancelled.into()),
            Err(err) => {
                return Err(Failure::Transport {
                    detail: redact_text(&err.to_string()),
                    retryable: true,
                    certificate: false,
                })
            }
        }
    }
}

pub(crate) fn ended_early(got: u64, wanted: u64) -> Failure {
    Failure::Transport {
        detail: format!("the download ended after {got} of {wanted} bytes"),
        retryable: true,
        certificate: false,
    }
}

/// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentRange {
    pub start: u64,
    /// Inclusive, as on the wire.
    pub end: u64,
    pub total: Option<u64>,
}

pub(crate) fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.trim().split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        text => Some(text.parse().ok()?),
    };
    (start <= end).then_some(ContentRange { start, end, total })
}

/// Write all of `data` at `offset`, leaving the file position alone (several threads write one
/// file at once).
pub(crate) fn write_at(file: &File, data: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(data, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        let (mut data, mut offset) = (data, offset);
        while !data.is_empty() {
            let written = file.seek_write(data, offset)?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            data = &data[written..];
            offset += written as u64;
        }
        Ok(())
    }
}

/// Read up to `buffer.len()` bytes at `offset`; fewer only at the end of the file.
pub(crate) fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        #[cfg(unix)]
        let read = {
            use std::os::unix::fs::FileExt;
            file.read_at(&mut buffer[filled..], offset + filled as u64)
        };
        #[cfg(windows)]
        let read = {
            use std::os::windows::fs::FileExt;
            file.seek_read(&mut buffer[filled..], offset + filled as u64)
        };
        match read {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_are_read_as_servers_write_them() {
        assert_eq!(
            parse_content_range("bytes 0-99/1000"),
            Some(ContentRange {
                start: 0,
                end: 99,
                total: Some(1000)
            })
        );
        assert_eq!(
            parse_content_range(" bytes  5-5/*"),
            Some(ContentRange {
                start: 5,
                end: 5,
                total: None
            })
        );
        for junk in [
            "",
            "bytes */1000",
            "bytes 9-1/10",
            "items 0-1/2",
            "bytes 0-1",
        ] {
            assert_eq!(parse_content_range(junk), None, "{junk:?}");
        }
    }
}
