//! Big objects: several Range requests at once, written in place, hashed in order, resumable.
//!
//! One connection to a CDN rarely carries more than a fraction of the link (the Hub's presigned
//! GETs are often capped per connection), and the Hub serves objects over 50 GB only in ranges
//! ("Any files over 50GB will not be available through basic http requests", huggingface_hub's
//! `MAX_HTTP_DOWNLOAD_SIZE`). So an object of at least [`PARALLEL_FROM`] bytes, or over the
//! run's whole-download limit, is split into segments ([`plan_ranges`]) that up to `concurrency`
//! workers fetch at once, each with `Range: bytes=a-b` on the same presigned href, writing at its
//! offset with `pwrite`. A worker with no segment left to start takes the far half of the
//! segment with the most bytes still to come (work stealing), so one slow or stalled connection
//! (TCP backing off after losses) does not decide when the object is done.
//!
//! The hash follows the bytes: whichever worker extends the contiguous prefix written from byte
//! 0 reads the new bytes back (from the page cache) into one running SHA-256, so the hash is done
//! soon after the last byte lands and the object comes over the network once.
//!
//! The segments go into `.git/lfs/incomplete/<oid>.part`, next to a small JSON record of how far
//! each got (`<oid>.part.json`, written when the download starts, then after each segment, at
//! least every [`RECORD_EVERY`] while bytes arrive, and when the run stops), so a process killed
//! outright loses at most a second of bytes. A later run
//! resumes from it: the record must name the same object, cover it exactly in segments the run
//! may ask for, and the file must have the object's length; segments already complete are only
//! hashed, segments begun go on from their last byte. An `flock` on the part file keeps two
//! processes from writing one download; the second downloads into a private temp file instead.
//!
//! Starting over, cleanly (every segment again, the record dropped), happens once at most: when
//! storage says 416, or the object changed (its `ETag` is not the one the resumed bytes came with,
//! its length is not the pointer's, or the bytes of a resumed download do not hash to the
//! pointer). A server that answers a Range request with 200 ignores ranges: one worker then takes
//! a plain stream for the whole object and the others stop.

mod partial;
mod segments;

use std::fs;
use std::io;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::client::{header_text, Method, Outgoing, Payload};
use super::download::{
    copy_in_batches, ended_early, fetch_sequential, parse_content_range, read_at, renew_href,
    write_at, Href, HrefLease,
};
use super::lease::{with_lease, Renew};
use super::remote::short_url;
use super::retry::Failure;
use super::upload::{header_pairs, Context};
use super::DownloadItem;
use crate::lfs::error::LfsError;
use crate::lfs::pointer::{Oid256, Pointer};
use crate::lfs::store::LfsStore;
use partial::{open_partial, Partial};
pub use segments::DEFAULT_MAX_WHOLE_DOWNLOAD;
pub(crate) use segments::{plan_ranges, RangePlan};
use segments::{Segments, MIB};

/// The hash is brought up to the written prefix once this much is waiting for it.
const HASH_STEP: u64 = 8 * MIB;
/// Bytes read back per step of the in-order hash.
const HASH_BUFFER: usize = 1 << 20;
/// The longest the record lags the bytes written while a download runs.
const RECORD_EVERY: Duration = Duration::from_secs(1);

struct Gate {
    /// Counts clean restarts and the switch to one stream; a writer of an older generation stops.
    generation: u64,
    /// The server ignores ranges: one worker streams the whole object.
    whole: bool,
}

struct State {
    segments: Segments,
    /// The first plan, to start over with.
    plan: RangePlan,
    /// `None` while a worker is hashing (it holds the hasher).
    hasher: Option<Sha256>,
    hashed: u64,
    finished: bool,
    end: End,
    /// Bytes on disk came from an earlier run.
    resumed: bool,
    etag: Option<String>,
    etag_checked: bool,
    restarts: u32,
    /// Progress reported for this object, taken back if it starts over.
    counted: u64,
    /// When the record was last written.
    saved_at: Instant,
}

impl State {
    fn reset(&mut self, segments: Segments) {
        self.segments = segments;
        self.hasher = Some(Sha256::new());
        self.hashed = 0;
        self.finished = false;
    }
}

/// What becomes of the partial file when the last worker lets go of the download.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// Kept with its record for a later run (a private temp file is deleted).
    Open,
    /// Streamed whole: there is no record to resume from, so it is deleted.
    Unresumable,
    /// Moved into the store or deleted already.
    Gone,
}

/// One object being fetched in ranges, shared by the workers fetching its segments.
pub(crate) struct RangedDownload<'a> {
    item: &'a DownloadItem,
    store: &'a LfsStore,
    lease: HrefLease,
    partial: Partial,
    gate: RwLock<Gate>,
    state: Mutex<State>,
}

/// How fetching one segment ended (failures aside).
enum PartEnd {
    Done,
    /// A restart or the switch to one stream made this segment's bytes moot.
    Stale,
    /// The server answered 200: it ignores ranges.
    RangeIgnored,
    /// Start over cleanly, or fail with the error if that was done already.
    StartOver(LfsError),
}

/// What a write of received bytes led to.
enum Wrote {
    /// The segment wants more.
    More,
    /// The segment is complete (perhaps shortened by a split): stop reading; `unused` bytes of
    /// the batch were beyond it.
    Enough {
        unused: u64,
    },
    Stale,
}

impl<'a> RangedDownload<'a> {
    /// Open (or resume) the partial file of `item` and plan the segments still to fetch.
    pub(crate) fn open(
        ctx: &Context<'_, '_>,
        store: &'a LfsStore,
        item: &'a DownloadItem,
        plan: RangePlan,
        max_whole_download: u64,
        lease: HrefLease,
    ) -> Result<Self, LfsError> {
        let size = item.pointer.size;
        let (partial, saved) = open_partial(store, &item.pointer, max_whole_download)?;
        let (segments, etag) = match saved {
            Some(record) => (Segments::new(record.segments), record.etag),
            None => (Segments::new(plan.segments(size)), None),
        };
        let resumed_bytes = segments.written();
        ctx.tracker.add_bytes(resumed_bytes);
        let mut state = State {
            segments: Segments::default(),
            plan,
            hasher: None,
            hashed: 0,
            finished: false,
            end: End::Open,
            resumed: resumed_bytes > 0,
            etag,
            etag_checked: false,
            restarts: 0,
            counted: resumed_bytes,
            saved_at: Instant::now(),
        };
        state.reset(segments);
        let download = Self {
            item,
            store,
            lease,
            partial,
            gate: RwLock::new(Gate {
                generation: 0,
                whole: false,
            }),
            state: Mutex::new(state),
        };
        // From the first byte on, a kill leaves something to resume from.
        download.save(&mut download.state());
        Ok(download)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn gate(&self) -> RwLockReadGuard<'_, Gate> {
        self.gate.read().unwrap_or_else(|p| p.into_inner())
    }

    fn size(&self) -> u64 {
        self.item.pointer.size
    }

    /// The next segment to fetch, with the generation it belongs to.
    fn take(&self) -> Option<(usize, u64)> {
        let gate = self.gate();
        if gate.whole {
            return None;
        }
        let mut state = self.state();
        if state.finished {
            return None;
        }
        state.segments.take().map(|id| (id, gate.generation))
    }

    /// Where segment `id` goes on from and ends now (a split may have shortened it).
    fn span(&self, id: usize) -> (u64, u64) {
        let state = self.state();
        let segment = &state.segments[id];
        (segment.next(), segment.end)
    }

    fn release(&self, generation: u64, id: usize) {
        let gate = self.gate();
        if gate.generation == generation {
            self.state().segments[id].taken = false;
        }
    }

    /// Compare the `ETag` of an answer with the one the bytes on disk came with: `false` when a
    /// resumed download meets another version of the object.
    fn same_object(&self, etag: Option<String>) -> bool {
        let mut state = self.state();
        if state.resumed && !state.etag_checked {
            state.etag_checked = true;
            if let (Some(had), Some(now)) = (&state.etag, &etag) {
                if had != now {
                    return false;
                }
            }
        }
        if state.etag.is_none() {
            state.etag = etag;
        }
        true
    }

    /// Write `data`, received for segment `id` of `generation` from `offset` on, up to the
    /// segment's end.
    fn write(&self, generation: u64, id: usize, offset: u64, data: &[u8]) -> io::Result<Wrote> {
        let gate = self.gate();
        if gate.generation != generation || gate.whole {
            return Ok(Wrote::Stale);
        }
        let end = self.state().segments[id].end;
        let room = usize::try_from(end.saturating_sub(offset)).unwrap_or(usize::MAX);
        let usable = &data[..data.len().min(room)];
        // Not under the lock, so a split may shorten the segment meanwhile: the bytes past its
        // new end are the same ones its new owner writes, and are not counted here.
        write_at(&self.partial.file, usable, offset)?;
        let mut state = self.state();
        let segment = &mut state.segments[id];
        let kept_to = (offset + usable.len() as u64).min(segment.end).max(offset);
        let added = (kept_to - segment.start).saturating_sub(segment.written);
        segment.written = segment.written.max(kept_to - segment.start);
        let done = segment.done();
        state.counted += added;
        if state.saved_at.elapsed() >= RECORD_EVERY {
            self.save(&mut state);
        }
        Ok(if done {
            Wrote::Enough {
                unused: data.len() as u64 - (kept_to - offset),
            }
        } else {
            Wrote::More
        })
    }

    /// Record how far each segment got, unless the object is hashed already: a worker that
    /// completed a segment may get here after the one that stored the object dropped the record.
    fn save(&self, state: &mut State) {
        if state.finished || state.end != End::Open {
            return;
        }
        state.saved_at = Instant::now();
        self.partial.save(
            &self.item.pointer,
            state.etag.clone(),
            state.segments.in_order(),
        );
    }

    /// Segment `id` of `generation` is complete: record it and extend the hash.
    fn segment_done(
        &self,
        ctx: &Context<'_, '_>,
        generation: u64,
        id: usize,
    ) -> Result<Option<Pointer>, LfsError> {
        {
            let gate = self.gate();
            if gate.generation != generation {
                return Ok(None);
            }
            let mut state = self.state();
            state.segments[id].taken = false;
            self.save(&mut state);
        }
        self.advance_hash(ctx, generation, true)
    }

    /// Hash the written prefix of the file that is not hashed yet, unless another worker is at
    /// it (it will take the new bytes in too). With `finish`, `Some` with the object's pointer
    /// for the worker that hashed the last byte.
    fn advance_hash(
        &self,
        ctx: &Context<'_, '_>,
        generation: u64,
        finish: bool,
    ) -> Result<Option<Pointer>, LfsError> {
        let size = self.size();
        loop {
            let (mut hasher, from, to) = {
                let gate = self.gate();
                if gate.generation != generation || gate.whole {
                    return Ok(None);
                }
                let mut state = self.state();
                let to = state.segments.prefix();
                if to <= state.hashed {
                    if finish && state.hashed == size && !state.finished {
                        if let Some(hasher) = state.hasher.take() {
                            state.finished = true;
                            let oid = Oid256::from_bytes(hasher.finalize().into());
                            return Ok(Some(Pointer::new(oid, size)));
                        }
                    }
                    return Ok(None);
                }
                let Some(hasher) = state.hasher.take() else {
                    return Ok(None);
                };
                (hasher, state.hashed, to)
            };
            let mut buffer = vec![0u8; HASH_BUFFER];
            let mut at = from;
            while at < to {
                ctx.tracker.check()?;
                let want = usize::try_from(to - at).map_or(HASH_BUFFER, |n| n.min(HASH_BUFFER));
                let read = read_at(&self.partial.file, &mut buffer[..want], at)
                    .map_err(|err| LfsError::io_at("reading", &self.partial.path, err))?;
                if read == 0 {
                    return Err(LfsError::io_at(
                        "reading",
                        &self.partial.path,
                        io::ErrorKind::UnexpectedEof.into(),
                    ));
                }
                hasher.update(&buffer[..read]);
                at += read as u64;
            }
            let gate = self.gate();
            if gate.generation != generation {
                return Ok(None);
            }
            let mut state = self.state();
            state.hasher = Some(hasher);
            state.hashed = to;
            if !finish {
                return Ok(None);
            }
        }
    }

    /// Whether enough of the written prefix waits for the hash to be worth hashing now.
    fn hash_due(&self) -> bool {
        let state = self.state();
        state.hasher.is_some() && state.segments.prefix() >= state.hashed + HASH_STEP
    }

    /// Start over cleanly, unless it was done already: then `give_up` is the error. A no-op for
    /// a worker of an older generation (another worker started over first).
    fn start_over(
        &self,
        ctx: &Context<'_, '_>,
        generation: u64,
        give_up: LfsError,
    ) -> Result<(), LfsError> {
        let mut gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
        if gate.generation != generation || gate.whole {
            return Ok(());
        }
        let mut state = self.state();
        if state.restarts > 0 {
            state.end = End::Gone;
            self.partial.discard_record();
            let _ = fs::remove_file(&self.partial.path);
            return Err(give_up);
        }
        state.restarts += 1;
        gate.generation += 1;
        ctx.tracker.remove_bytes(state.counted);
        state.counted = 0;
        let segments = Segments::new(state.plan.segments(self.size()));
        state.reset(segments);
        state.resumed = false;
        state.etag = None;
        state.etag_checked = false;
        self.save(&mut state);
        Ok(())
    }

    /// The server ignores ranges: make this worker the one that streams the whole object, if
    /// no other worker did first (`false`).
    fn switch_to_whole(&self, ctx: &Context<'_, '_>, generation: u64) -> bool {
        let mut gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
        if gate.generation != generation || gate.whole {
            return false;
        }
        gate.whole = true;
        gate.generation += 1;
        let mut state = self.state();
        ctx.tracker.remove_bytes(state.counted);
        state.counted = 0;
        // The bytes are no longer tracked per segment: nothing to resume from later.
        state.end = End::Unresumable;
        self.partial.discard_record();
        true
    }

    /// The object hashed to `received`: store it, or start over if resumed bytes may be to
    /// blame (`Ok(false)`: fetch again), or fail.
    fn finish(&self, ctx: &Context<'_, '_>, received: Pointer) -> Result<bool, LfsError> {
        let expected = self.item.pointer;
        let generation = self.gate().generation;
        let mut state = self.state();
        if received != expected && state.resumed && state.restarts == 0 {
            drop(state);
            self.start_over(ctx, generation, mismatch(expected, received))?;
            return Ok(false);
        }
        state.end = End::Gone;
        self.partial.discard_record();
        // On a mismatch the store deletes the file and reports it.
        self.store
            .insert_hashed(&self.partial.path, &expected, &received)?;
        ctx.tracker.object_transferred(expected.size);
        Ok(true)
    }
}

impl Drop for RangedDownload<'_> {
    /// A download that did not end keeps its bytes and record for the next run; a private temp
    /// file, or a whole stream, has nothing to resume from and is deleted.
    fn drop(&mut self) {
        let mut state = self.state();
        match state.end {
            End::Gone => {}
            End::Open if self.partial.record.is_some() => self.save(&mut state),
            End::Open | End::Unresumable => {
                let _ = fs::remove_file(&self.partial.path);
            }
        }
    }
}

fn mismatch(expected: Pointer, received: Pointer) -> LfsError {
    LfsError::ObjectMismatch {
        expected,
        actual_oid: received.oid,
        actual_size: received.size,
    }
}

/// Fetch segments of `download` until none are left to take; the worker that hashes the last
/// byte stores the object.
pub(crate) fn run(ctx: &Context<'_, '_>, download: &RangedDownload<'_>) -> Result<(), LfsError> {
    let item = download.item;
    let renew = |_: &Href| renew_href(ctx, item);
    loop {
        let Some((id, generation)) = download.take() else {
            // Resumed segments may all be complete: someone still has to hash them.
            let generation = download.gate().generation;
            match download.advance_hash(ctx, generation, true)? {
                Some(received) if !download.finish(ctx, received)? => continue,
                _ => return Ok(()),
            }
        };
        let fetched = fetch_segment(ctx, download, id, generation, &renew);
        if fetched.is_err() {
            download.release(generation, id);
        }
        match fetched? {
            PartEnd::Done => {
                if let Some(received) = download.segment_done(ctx, generation, id)? {
                    if download.finish(ctx, received)? {
                        return Ok(());
                    }
                }
            }
            PartEnd::Stale => {}
            PartEnd::StartOver(give_up) => download.start_over(ctx, generation, give_up)?,
            PartEnd::RangeIgnored => {
                if download.switch_to_whole(ctx, generation) {
                    let received = fetch_sequential(
                        ctx,
                        item,
                        &download.lease,
                        &renew,
                        &download.partial.file,
                        &download.partial.path,
                    )?;
                    download.finish(ctx, received)?;
                }
                return Ok(());
            }
        }
    }
}

/// GET segment `id` (from where an earlier attempt left it, up to where it ends now) and write
/// it in place.
fn fetch_segment(
    ctx: &Context<'_, '_>,
    download: &RangedDownload<'_>,
    id: usize,
    generation: u64,
    renew: &Renew<'_, Href>,
) -> Result<PartEnd, LfsError> {
    let item = download.item;
    let size = item.pointer.size;
    let mut last_href = None;
    let mut token_sent = false;
    let outcome = with_lease(&ctx.policy, ctx.tracker, &download.lease, renew, |leased| {
        let href = &*leased.value;
        let (from, end) = download.span(id);
        if from >= end {
            return Ok(PartEnd::Done);
        }
        let last = end - 1;
        let authorization = href.authorization(ctx);
        token_sent = authorization.is_some();
        last_href = Some(href.action.href.clone());
        let mut headers = header_pairs(&href.action);
        headers.push(("Range".to_owned(), format!("bytes={from}-{last}")));
        let outgoing = Outgoing {
            method: Method::Get,
            url: &href.action.href,
            headers,
            authorization,
            payload: Payload::Empty,
        };
        let mut response = match ctx.remote.http.send(&outgoing, ctx.tracker) {
            Err(Failure::Status {
                status: 416,
                message,
                ..
            }) => {
                let during = format!(
                    "downloading {} from {}",
                    item.path,
                    short_url(&href.action.href)
                );
                return Ok(PartEnd::StartOver(LfsError::Server {
                    status: 416,
                    during,
                    message: format!(
                        "storage cannot serve bytes {from}-{last} of an object of {size} bytes \
                         ({message}): it does not hold the object the pointer names"
                    ),
                }));
            }
            other => other?,
        };
        if response.status().as_u16() != 206 {
            return Ok(PartEnd::RangeIgnored);
        }
        let headers = response.headers();
        let range = header_text(headers, "content-range")
            .as_deref()
            .and_then(parse_content_range);
        let Some(range) = range else {
            return Err(bad_range(item, "no valid Content-Range"));
        };
        if range.total.is_some_and(|total| total != size) {
            return Ok(PartEnd::StartOver(LfsError::Protocol {
                detail: format!(
                    "storage says {} has {} bytes, but its pointer says {size}",
                    item.path,
                    range.total.unwrap_or_default()
                ),
            }));
        }
        if range.start != from || range.end != last {
            return Err(bad_range(
                item,
                &format!(
                    "bytes {}-{} instead of {from}-{last}",
                    range.start, range.end
                ),
            ));
        }
        if !download.same_object(header_text(headers, "etag")) {
            return Ok(PartEnd::StartOver(LfsError::Protocol {
                detail: format!("{} changed on the server during the download", item.path),
            }));
        }
        let mut body = response.body_mut().as_reader();
        let mut at = from;
        let mut ended = None;
        copy_in_batches(ctx, &mut body, end - from, |batch| {
            let wrote = download
                .write(generation, id, at, batch)
                .map_err(|err| LfsError::io_at("writing", &download.partial.path, err))?;
            at += batch.len() as u64;
            match wrote {
                Wrote::More => {
                    if download.hash_due() {
                        download.advance_hash(ctx, generation, false)?;
                    }
                    Ok(None)
                }
                Wrote::Enough { unused } => {
                    ended = Some(PartEnd::Done);
                    Ok(Some(unused))
                }
                Wrote::Stale => {
                    ended = Some(PartEnd::Stale);
                    Ok(Some(batch.len() as u64))
                }
            }
        })?;
        match ended {
            Some(end) => Ok(end),
            None => {
                let (now, end) = download.span(id);
                if now >= end {
                    Ok(PartEnd::Done)
                } else {
                    Err(ended_early(now - from, end - from))
                }
            }
        }
    });
    outcome.map_err(|failure| {
        let during = match &last_href {
            Some(href) => format!("downloading {} from {}", item.path, short_url(href)),
            None => format!("downloading {}", item.path),
        };
        failure.into_error(&during, token_sent)
    })
}

fn bad_range(item: &DownloadItem, what: &str) -> Failure {
    Failure::Fatal(LfsError::Protocol {
        detail: format!(
            "storage answered a range request for {} with {what}",
            item.path
        ),
    })
}
