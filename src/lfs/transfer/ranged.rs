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
//! each got (`<oid>.part.json`, rewritten after each segment and when the run stops). A later run
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

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};

use serde::{Deserialize, Serialize};
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

const MIB: u64 = 1024 * 1024;
/// Objects at least this big are fetched in ranges; smaller ones in one GET each.
pub(crate) const PARALLEL_FROM: u64 = 32 * MIB;
const MIN_PART: u64 = 8 * MIB;
/// Also bounds what a stop costs: a segment begun is resumed, but its open request is lost.
const MAX_PART: u64 = 256 * MIB;
/// Segments per worker at the start: enough that the last ones do not leave most workers idle.
const PARTS_PER_WORKER: u64 = 4;
/// A segment is split for an idle worker only if both halves get at least this much.
const MIN_STEAL: u64 = MIB;
/// The hash is brought up to the written prefix once this much is waiting for it.
const HASH_STEP: u64 = 8 * MIB;
/// The default whole-download limit: the Hub's (huggingface_hub `MAX_HTTP_DOWNLOAD_SIZE`).
pub const DEFAULT_MAX_WHOLE_DOWNLOAD: u64 = 50_000_000_000;
/// Bytes read back per step of the in-order hash.
const HASH_BUFFER: usize = 1 << 20;
const RECORD_VERSION: u32 = 2;

/// How one object is split at first: parts of `part_size` bytes, the last one shorter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RangePlan {
    pub part_size: u64,
    pub parts: usize,
}

impl RangePlan {
    fn with_part_size(size: u64, part_size: u64) -> Self {
        let part_size = part_size.max(1);
        Self {
            part_size,
            parts: usize::try_from(size.div_ceil(part_size)).unwrap_or(usize::MAX),
        }
    }

    /// Offset and length of part `index` of an object of `size` bytes.
    #[cfg(test)]
    fn range(&self, index: usize, size: u64) -> (u64, u64) {
        let start = self.part_size.saturating_mul(index as u64).min(size);
        (start, self.part_size.min(size - start))
    }

    fn segments(&self, size: u64) -> Vec<Segment> {
        (0..size.div_ceil(self.part_size))
            .map(|index| {
                let start = index * self.part_size;
                Segment {
                    start,
                    end: (start + self.part_size).min(size),
                    written: 0,
                    taken: false,
                }
            })
            .collect()
    }
}

/// Whether (and how) an object of `size` bytes is fetched in ranges with `workers` in flight:
/// `None` for one plain GET. Objects over `max_whole_download` always go in ranges no longer
/// than that, whatever the other choices; others from [`PARALLEL_FROM`], in about
/// [`PARTS_PER_WORKER`] parts per worker of [`MIN_PART`] to [`MAX_PART`] bytes.
pub(crate) fn plan_ranges(size: u64, workers: usize, max_whole_download: u64) -> Option<RangePlan> {
    let over_limit = size > max_whole_download;
    if !over_limit && size < PARALLEL_FROM {
        return None;
    }
    let spread = (workers.max(1) as u64).saturating_mul(PARTS_PER_WORKER);
    let mut part_size = (size / spread).clamp(MIN_PART, MAX_PART);
    if over_limit {
        part_size = part_size.min(max_whole_download.max(1));
    }
    Some(RangePlan::with_part_size(size, part_size))
}

/// Bytes `[start, end)` of the object; the first `written` of them are on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Segment {
    start: u64,
    end: u64,
    written: u64,
    /// A worker is fetching it.
    #[serde(skip)]
    taken: bool,
}

impl Segment {
    fn len(&self) -> u64 {
        self.end - self.start
    }

    fn next(&self) -> u64 {
        self.start + self.written
    }

    fn left(&self) -> u64 {
        self.len() - self.written
    }

    fn done(&self) -> bool {
        self.written >= self.len()
    }
}

/// What `<oid>.part.json` holds.
#[derive(Serialize, Deserialize)]
struct Record {
    version: u32,
    oid: String,
    size: u64,
    /// The `ETag` storage sent with the bytes on disk, to tell a changed object.
    etag: Option<String>,
    /// In order, covering the object.
    segments: Vec<Segment>,
}

/// The file the segments are written to.
struct Partial {
    file: File,
    path: PathBuf,
    /// `Some` when the download may be resumed: this process holds the lock on `path`.
    record: Option<PathBuf>,
}

struct Gate {
    /// Counts clean restarts and the switch to one stream; a writer of an older generation stops.
    generation: u64,
    /// The server ignores ranges: one worker streams the whole object.
    whole: bool,
}

struct State {
    /// Stable indices: a split appends the new segment, `order` keeps them sorted by offset.
    segments: Vec<Segment>,
    order: Vec<usize>,
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
}

impl State {
    fn reset(&mut self, segments: Vec<Segment>) {
        self.order = (0..segments.len()).collect();
        self.segments = segments;
        self.hasher = Some(Sha256::new());
        self.hashed = 0;
        self.finished = false;
    }

    /// Where the bytes written contiguously from byte 0 end.
    fn prefix(&self) -> u64 {
        for &id in &self.order {
            let segment = &self.segments[id];
            if !segment.done() {
                return segment.next();
            }
        }
        self.segments.iter().map(|s| s.end).max().unwrap_or(0)
    }

    /// A segment to fetch: the first one nobody fetches, else the far half of the one with the
    /// most bytes to come.
    fn take(&mut self) -> Option<usize> {
        let free = self
            .order
            .iter()
            .copied()
            .find(|&id| !self.segments[id].taken && !self.segments[id].done());
        if let Some(id) = free {
            self.segments[id].taken = true;
            return Some(id);
        }
        let (slot, id) = self
            .order
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, id)| self.segments[id].taken)
            .max_by_key(|&(_, id)| self.segments[id].left())?;
        let victim = self.segments[id];
        if victim.left() < 2 * MIN_STEAL {
            return None;
        }
        let middle = victim.next() + victim.left() / 2;
        self.segments[id].end = middle;
        self.segments.push(Segment {
            start: middle,
            end: victim.end,
            written: 0,
            taken: true,
        });
        let new = self.segments.len() - 1;
        self.order.insert(slot + 1, new);
        Some(new)
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
            Some(record) => (record.segments, record.etag),
            None => (plan.segments(size), None),
        };
        let resumed_bytes: u64 = segments.iter().map(|segment| segment.written).sum();
        ctx.tracker.add_bytes(resumed_bytes);
        let mut state = State {
            segments: Vec::new(),
            order: Vec::new(),
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
        };
        state.reset(segments);
        Ok(Self {
            item,
            store,
            lease,
            partial,
            gate: RwLock::new(Gate {
                generation: 0,
                whole: false,
            }),
            state: Mutex::new(state),
        })
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
        state.take().map(|id| (id, gate.generation))
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
        write_at(&self.partial.file, usable, offset)?;
        let mut state = self.state();
        let segment = &mut state.segments[id];
        let written = (offset + usable.len() as u64).min(segment.end) - segment.start;
        let added = written.saturating_sub(segment.written);
        segment.written = segment.written.max(written);
        let done = segment.done();
        state.counted += added;
        Ok(if done {
            Wrote::Enough {
                unused: (data.len() - usable.len()) as u64,
            }
        } else {
            Wrote::More
        })
    }

    /// Save how far each segment got, if this download may be resumed.
    fn save(&self, state: &State) {
        let Some(record_path) = &self.partial.record else {
            return;
        };
        let record = Record {
            version: RECORD_VERSION,
            oid: self.item.pointer.oid.to_hex(),
            size: self.size(),
            etag: state.etag.clone(),
            segments: state.order.iter().map(|&id| state.segments[id]).collect(),
        };
        // Best effort: without a record the next run starts from scratch, nothing worse.
        let staged = record_path.with_extension("json.tmp");
        let saved = serde_json::to_vec(&record)
            .map_err(io::Error::other)
            .and_then(|bytes| fs::write(&staged, bytes))
            .and_then(|()| fs::rename(&staged, record_path));
        if saved.is_err() {
            let _ = fs::remove_file(&staged);
        }
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
            self.save(&state);
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
                let to = state.prefix();
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
        state.hasher.is_some() && state.prefix() >= state.hashed + HASH_STEP
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
            self.discard_record();
            let _ = fs::remove_file(&self.partial.path);
            return Err(give_up);
        }
        state.restarts += 1;
        gate.generation += 1;
        ctx.tracker.remove_bytes(state.counted);
        state.counted = 0;
        let segments = state.plan.segments(self.size());
        state.reset(segments);
        state.resumed = false;
        state.etag = None;
        state.etag_checked = false;
        self.save(&state);
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
        self.discard_record();
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
        self.discard_record();
        // On a mismatch the store deletes the file and reports it.
        self.store
            .insert_hashed(&self.partial.path, &expected, &received)?;
        ctx.tracker.object_transferred(expected.size);
        Ok(true)
    }

    fn discard_record(&self) {
        if let Some(record) = &self.partial.record {
            let _ = fs::remove_file(record);
        }
    }
}

impl Drop for RangedDownload<'_> {
    /// A download that did not end keeps its bytes and record for the next run; a private temp
    /// file, or a whole stream, has nothing to resume from and is deleted.
    fn drop(&mut self) {
        let state = self.state();
        match state.end {
            End::Gone => {}
            End::Open if self.partial.record.is_some() => self.save(&state),
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

/// Open `incomplete/<oid>.part` with its record, locked, or (when another process holds the
/// lock) a private temp file. The record is returned only if it can be resumed from.
fn open_partial(
    store: &LfsStore,
    pointer: &Pointer,
    max_whole_download: u64,
) -> Result<(Partial, Option<Record>), LfsError> {
    let dir = store.incomplete_dir();
    fs::create_dir_all(&dir).map_err(|err| LfsError::io_at("creating", &dir, err))?;
    let path = dir.join(format!("{}.part", pointer.oid.to_hex()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|err| LfsError::io_at("opening", &path, err))?;
    let sized = |file: File, path: PathBuf, record: Option<PathBuf>| {
        file.set_len(pointer.size)
            .map_err(|err| LfsError::io_at("sizing", &path, err))?;
        Ok::<_, LfsError>(Partial { file, path, record })
    };
    if !try_lock(&file) {
        drop(file);
        let (_, temp) = store.create_temp()?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&temp)
            .map_err(|err| LfsError::io_at("opening", &temp, err))?;
        return Ok((sized(file, temp, None)?, None));
    }
    let record_path = dir.join(format!("{}.part.json", pointer.oid.to_hex()));
    let length = file.metadata().map(|meta| meta.len()).ok();
    let saved = fs::read(&record_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
        .filter(|record| resumable(record, pointer, max_whole_download, length));
    if saved.is_none() {
        // Whatever the file holds is unknown: from scratch (set_len keeps the length, so zero it).
        file.set_len(0)
            .map_err(|err| LfsError::io_at("truncating", &path, err))?;
    }
    Ok((sized(file, path, Some(record_path))?, saved))
}

/// A record describes the bytes of `file_length` for this object, in segments that cover it
/// exactly and that the run may ask for (a whole-download limit lowered since means new ones).
fn resumable(
    record: &Record,
    pointer: &Pointer,
    max_whole_download: u64,
    file_length: Option<u64>,
) -> bool {
    let size = pointer.size;
    let mut covered = 0;
    for segment in &record.segments {
        let fits = segment.start == covered
            && segment.end > segment.start
            && segment.written <= segment.len()
            && (size <= max_whole_download || segment.len() <= max_whole_download);
        if !fits {
            return false;
        }
        covered = segment.end;
    }
    record.version == RECORD_VERSION
        && record.oid == pointer.oid.to_hex()
        && record.size == size
        && covered == size
        && file_length == Some(size)
}

/// Take the download's lock without waiting; `false` if another open file holds it.
fn try_lock(file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor this File owns; it is released when the File closes.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1_000_000_000;

    #[test]
    fn small_objects_keep_one_request() {
        assert_eq!(
            plan_ranges(PARALLEL_FROM - 1, 8, DEFAULT_MAX_WHOLE_DOWNLOAD),
            None
        );
        assert_eq!(plan_ranges(0, 8, DEFAULT_MAX_WHOLE_DOWNLOAD), None);
    }

    #[test]
    fn a_big_object_gets_about_four_parts_per_worker() {
        let plan = plan_ranges(1 << 30, 8, DEFAULT_MAX_WHOLE_DOWNLOAD).unwrap();
        assert_eq!((plan.part_size, plan.parts), (32 * MIB, 32));
        let one = plan_ranges(1 << 30, 1, DEFAULT_MAX_WHOLE_DOWNLOAD).unwrap();
        assert_eq!((one.part_size, one.parts), (256 * MIB, 4));
        let small = plan_ranges(40 * MIB, 8, DEFAULT_MAX_WHOLE_DOWNLOAD).unwrap();
        assert_eq!((small.part_size, small.parts), (MIN_PART, 5));
    }

    #[test]
    fn objects_over_the_limit_go_in_ranges_no_longer_than_it_whatever_else_is_chosen() {
        let plan = plan_ranges(60 * GB, 8, 50 * GB).unwrap();
        assert!(plan.part_size <= MAX_PART);
        let tiny = plan_ranges(5 * MIB, 1, MIB).unwrap();
        assert_eq!((tiny.part_size, tiny.parts), (MIB, 5));
        let odd = plan_ranges(10, 4, 3).unwrap();
        assert_eq!((odd.part_size, odd.parts), (3, 4));
        assert_eq!(odd.range(3, 10), (9, 1));
        assert_eq!(
            odd.segments(10).last().map(|s| (s.start, s.end)),
            Some((9, 10))
        );
        assert_eq!(plan_ranges(3, 4, 3), None);
    }

    fn state(segments: Vec<Segment>) -> State {
        let mut state = State {
            segments: Vec::new(),
            order: Vec::new(),
            plan: RangePlan::with_part_size(1, 1),
            hasher: None,
            hashed: 0,
            finished: false,
            end: End::Open,
            resumed: false,
            etag: None,
            etag_checked: false,
            restarts: 0,
            counted: 0,
        };
        state.reset(segments);
        state
    }

    #[test]
    fn an_idle_worker_takes_the_far_half_of_the_segment_with_most_to_come() {
        let size = 40 * MIB;
        let mut state = state(RangePlan::with_part_size(size, 20 * MIB).segments(size));
        assert_eq!(state.take(), Some(0));
        assert_eq!(state.take(), Some(1));
        state.segments[0].written = 16 * MIB; // 4 MiB to come
        state.segments[1].written = 2 * MIB; // 18 MiB to come: split it
        assert_eq!(state.take(), Some(2));
        assert_eq!(state.segments[1].end, 31 * MIB);
        assert_eq!(
            (state.segments[2].start, state.segments[2].end),
            (31 * MIB, size)
        );
        assert_eq!(state.order, [0, 1, 2]);
        // The prefix runs to the first incomplete segment's last byte written.
        assert_eq!(state.prefix(), 16 * MIB);
        state.segments[0].written = 20 * MIB;
        assert_eq!(state.prefix(), 22 * MIB);
        // Too little left anywhere: nothing to take.
        state.segments[1].written = state.segments[1].len() - MIB;
        state.segments[2].written = state.segments[2].len() - MIB;
        assert_eq!(state.take(), None);
    }

    fn pointer(size: u64) -> Pointer {
        Pointer::new(Oid256::from_bytes([7; 32]), size)
    }

    fn record(size: u64, segments: &[(u64, u64, u64)]) -> Record {
        Record {
            version: RECORD_VERSION,
            oid: pointer(size).oid.to_hex(),
            size,
            etag: None,
            segments: segments
                .iter()
                .map(|&(start, end, written)| Segment {
                    start,
                    end,
                    written,
                    taken: false,
                })
                .collect(),
        }
    }

    #[test]
    fn a_record_is_resumed_only_for_the_same_object_covered_exactly_and_a_file_of_its_length() {
        let size = 100 * MIB;
        let limit = DEFAULT_MAX_WHOLE_DOWNLOAD;
        let good = record(size, &[(0, 60 * MIB, 60 * MIB), (60 * MIB, size, 3)]);
        assert!(resumable(&good, &pointer(size), limit, Some(size)));
        assert!(!resumable(&good, &pointer(size), limit, Some(size - 1)));
        assert!(!resumable(&good, &pointer(size + 1), limit, Some(size + 1)));
        let gap = record(size, &[(0, 60 * MIB, 0), (61 * MIB, size, 0)]);
        assert!(!resumable(&gap, &pointer(size), limit, Some(size)));
        let short = record(size, &[(0, 60 * MIB, 0)]);
        assert!(!resumable(&short, &pointer(size), limit, Some(size)));
        let overfull = record(size, &[(0, 60 * MIB, 60 * MIB + 1), (60 * MIB, size, 0)]);
        assert!(!resumable(&overfull, &pointer(size), limit, Some(size)));
        // Segments longer than a lowered limit allows are not asked for again.
        assert!(!resumable(&good, &pointer(size), 50 * MIB, Some(size)));
        let small = record(size, &[(0, 50 * MIB, 0), (50 * MIB, size, 0)]);
        assert!(resumable(&small, &pointer(size), 50 * MIB, Some(size)));
    }

    #[test]
    fn a_second_process_gets_a_private_file_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = LfsStore::new(&dir.path().join(".git"));
        let (first, _) = open_partial(&store, &pointer(10), 5).unwrap();
        assert!(first.record.is_some());
        let (second, _) = open_partial(&store, &pointer(10), 5).unwrap();
        assert!(second.record.is_none());
        assert!(second.path.starts_with(store.tmp_dir()));
        assert_eq!(second.file.metadata().unwrap().len(), 10);
    }
}
