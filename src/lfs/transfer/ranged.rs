//! Big objects: several Range requests at once, written in place, hashed in order, resumable.
//!
//! One connection to a CDN rarely carries more than a fraction of the link (the Hub's presigned
//! GETs are often capped per connection), and the Hub serves objects over 50 GB only in ranges
//! ("Any files over 50GB will not be available through basic http requests", huggingface_hub's
//! `MAX_HTTP_DOWNLOAD_SIZE`). So an object of at least [`PARALLEL_FROM`] bytes, or over the
//! run's whole-download limit, is split into parts ([`plan_ranges`]) that up to `concurrency`
//! workers fetch at once, each with `Range: bytes=a-b` on the same presigned href, writing at its
//! offset with `pwrite`. Whichever worker completes the part that extends the finished prefix
//! reads that prefix back (from the page cache) into one running SHA-256, so the hash is done
//! when the last part lands and the object is read from the network once.
//!
//! The parts go into `.git/lfs/incomplete/<oid>.part`, next to a small JSON record of how far
//! each part got (`<oid>.part.json`, rewritten after each part and when the run stops). A later
//! run resumes from it: the record must name the same object and part size and the file must
//! have the object's length; parts already complete are only hashed, parts begun go on from their
//! last byte. An `flock` on the part file keeps two processes from writing one download; the
//! second then downloads into a private temp file of its own.
//!
//! Starting over, cleanly (every part again, the record dropped), happens once at most, when
//! storage says 416, or the object changed: its `ETag` is not the one the resumed bytes came with,
//! its length is not the pointer's, or the bytes of a resumed download do not hash to the pointer.
//! A server that answers a Range request with 200 ignores ranges: one worker then takes that
//! stream for the whole object and the others stop.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, RwLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::client::{header_text, Method, Outgoing, Payload};
use super::download::{
    ended_early, fetch_sequential, parse_content_range, read_at, read_some, renew_href, write_at,
    Href, HrefLease, COPY_BUFFER,
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
/// Also bounds what a stop costs: a part begun is resumed, but a broken one is asked for again.
const MAX_PART: u64 = 256 * MIB;
/// Parts per worker: enough that the last parts finishing do not leave most workers idle.
const PARTS_PER_WORKER: u64 = 4;
/// The default whole-download limit: the Hub's (huggingface_hub `MAX_HTTP_DOWNLOAD_SIZE`).
pub const DEFAULT_MAX_WHOLE_DOWNLOAD: u64 = 50_000_000_000;
/// Bytes read back per step of the in-order hash.
const HASH_BUFFER: usize = 1 << 20;
const RECORD_VERSION: u32 = 1;

/// How one object is split: parts of `part_size` bytes, the last one shorter.
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
    fn range(&self, index: usize, size: u64) -> (u64, u64) {
        let start = self.part_size.saturating_mul(index as u64).min(size);
        (start, self.part_size.min(size - start))
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

/// What `<oid>.part.json` holds.
#[derive(Serialize, Deserialize)]
struct Record {
    version: u32,
    oid: String,
    size: u64,
    part_size: u64,
    /// The `ETag` storage sent with the bytes on disk, to tell a changed object.
    etag: Option<String>,
    /// Bytes written of each part, counted from its start.
    written: Vec<u64>,
}

/// The file the parts are written to.
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
    plan: RangePlan,
    waiting: VecDeque<usize>,
    written: Vec<u64>,
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

/// One object being fetched in ranges, shared by the workers fetching its parts.
pub(crate) struct RangedDownload<'a> {
    item: &'a DownloadItem,
    store: &'a LfsStore,
    lease: HrefLease,
    partial: Partial,
    gate: RwLock<Gate>,
    state: Mutex<State>,
}

/// How fetching one part ended (failures aside).
enum PartEnd {
    Done,
    /// A restart or the switch to one stream made this part's bytes moot.
    Stale,
    /// The server answered 200: it ignores ranges.
    RangeIgnored,
    /// Start over cleanly, or fail with the error if that was done already.
    StartOver(LfsError),
}

impl<'a> RangedDownload<'a> {
    /// Open (or resume) the partial file of `item` and plan the parts still to fetch.
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
        let plan = saved.as_ref().map_or(plan, |record| {
            RangePlan::with_part_size(size, record.part_size)
        });
        let written = saved
            .as_ref()
            .map_or_else(|| vec![0; plan.parts], |record| record.written.clone());
        let resumed_bytes: u64 = written.iter().sum();
        let waiting = (0..plan.parts)
            .filter(|&index| written[index] < plan.range(index, size).1)
            .collect();
        ctx.tracker.add_bytes(resumed_bytes);
        let state = State {
            plan,
            waiting,
            written,
            hasher: Some(Sha256::new()),
            hashed: 0,
            finished: false,
            end: End::Open,
            resumed: resumed_bytes > 0,
            etag: saved.and_then(|record| record.etag),
            etag_checked: false,
            restarts: 0,
            counted: resumed_bytes,
        };
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

    fn gate(&self) -> std::sync::RwLockReadGuard<'_, Gate> {
        self.gate.read().unwrap_or_else(|p| p.into_inner())
    }

    fn size(&self) -> u64 {
        self.item.pointer.size
    }

    /// The next part to fetch, with the generation it belongs to.
    fn take(&self) -> Option<(usize, u64, RangePlan)> {
        let gate = self.gate();
        if gate.whole {
            return None;
        }
        let mut state = self.state();
        if state.finished {
            return None;
        }
        let plan = state.plan;
        state
            .waiting
            .pop_front()
            .map(|index| (index, gate.generation, plan))
    }

    fn written(&self, index: usize) -> u64 {
        self.state().written[index]
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

    /// Write `data` at `offset` for part `index` of `generation`; `false` (nothing written)
    /// when that generation is over.
    fn write(&self, generation: u64, index: usize, offset: u64, data: &[u8]) -> io::Result<bool> {
        let gate = self.gate();
        if gate.generation != generation || gate.whole {
            return Ok(false);
        }
        write_at(&self.partial.file, data, offset)?;
        let mut state = self.state();
        state.written[index] += data.len() as u64;
        state.counted += data.len() as u64;
        Ok(true)
    }

    /// Save how far each part got, if this download may be resumed.
    fn save(&self, state: &State) {
        let Some(record_path) = &self.partial.record else {
            return;
        };
        let record = Record {
            version: RECORD_VERSION,
            oid: self.item.pointer.oid.to_hex(),
            size: self.size(),
            part_size: state.plan.part_size,
            etag: state.etag.clone(),
            written: state.written.clone(),
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

    /// Part `index` of `generation` is complete: record it and extend the hash.
    fn part_done(
        &self,
        ctx: &Context<'_, '_>,
        generation: u64,
    ) -> Result<Option<Pointer>, LfsError> {
        {
            let gate = self.gate();
            if gate.generation != generation {
                return Ok(None);
            }
            let state = self.state();
            self.save(&state);
        }
        self.advance_hash(ctx, generation)
    }

    /// Hash the complete prefix of the file that is not hashed yet, unless another worker is
    /// at it (it will take this part in too). `Some` with the object's pointer for the worker
    /// that hashed the last byte.
    fn advance_hash(
        &self,
        ctx: &Context<'_, '_>,
        generation: u64,
    ) -> Result<Option<Pointer>, LfsError> {
        let size = self.size();
        loop {
            let (mut hasher, from, to) = {
                let gate = self.gate();
                if gate.generation != generation || gate.whole {
                    return Ok(None);
                }
                let mut state = self.state();
                let to = complete_prefix(&state, size);
                if to <= state.hashed {
                    if state.hashed == size && !state.finished {
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
        }
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
        state.written = vec![0; state.plan.parts];
        state.waiting = (0..state.plan.parts).collect();
        state.hasher = Some(Sha256::new());
        state.hashed = 0;
        state.finished = false;
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
        state.waiting.clear();
        // The bytes are no longer tracked per part, so there is nothing to resume from later.
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

/// Where the parts written so far stop being contiguous from byte 0.
fn complete_prefix(state: &State, size: u64) -> u64 {
    let plan = state.plan;
    (0..plan.parts)
        .find(|&index| state.written[index] < plan.range(index, size).1)
        .map_or(size, |index| plan.range(index, size).0)
}

/// Fetch parts of `download` until none are left to take; the worker that hashes the last byte
/// stores the object.
pub(crate) fn run(ctx: &Context<'_, '_>, download: &RangedDownload<'_>) -> Result<(), LfsError> {
    let item = download.item;
    let renew = |_: &Href| renew_href(ctx, item);
    loop {
        let Some((index, generation, plan)) = download.take() else {
            // Resumed parts may all be complete: someone still has to hash them.
            let generation = download.gate().generation;
            match download.advance_hash(ctx, generation)? {
                Some(received) if !download.finish(ctx, received)? => continue,
                _ => return Ok(()),
            }
        };
        match fetch_part(ctx, download, index, generation, plan, &renew)? {
            PartEnd::Done => {
                if let Some(received) = download.part_done(ctx, generation)? {
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

/// GET part `index` (from where an earlier attempt left it) and write it in place.
fn fetch_part(
    ctx: &Context<'_, '_>,
    download: &RangedDownload<'_>,
    index: usize,
    generation: u64,
    plan: RangePlan,
    renew: &Renew<'_, Href>,
) -> Result<PartEnd, LfsError> {
    let item = download.item;
    let size = item.pointer.size;
    let (start, len) = plan.range(index, size);
    let end = start + len - 1;
    let mut last_href = None;
    let mut token_sent = false;
    let outcome = with_lease(&ctx.policy, ctx.tracker, &download.lease, renew, |leased| {
        let href = &*leased.value;
        let from = start + download.written(index);
        if from > end {
            return Ok(PartEnd::Done);
        }
        let authorization = href.authorization(ctx);
        token_sent = authorization.is_some();
        last_href = Some(href.action.href.clone());
        let mut headers = header_pairs(&href.action);
        headers.push(("Range".to_owned(), format!("bytes={from}-{end}")));
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
                        "storage cannot serve bytes {from}-{end} of an object of {size} bytes \
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
        if range.start != from || range.end != end {
            return Err(bad_range(
                item,
                &format!(
                    "bytes {}-{} instead of {from}-{end}",
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
        let mut buffer = vec![0u8; COPY_BUFFER];
        let mut at = from;
        while at <= end {
            let room = usize::try_from(end + 1 - at).map_or(COPY_BUFFER, |n| n.min(COPY_BUFFER));
            let read = read_some(ctx, &mut body, &mut buffer[..room])?;
            if read == 0 {
                return Err(ended_early(at - start, len));
            }
            let written = download
                .write(generation, index, at, &buffer[..read])
                .map_err(|err| LfsError::io_at("writing", &download.partial.path, err))?;
            if !written {
                return Ok(PartEnd::Stale);
            }
            ctx.tracker.add_bytes(read as u64);
            at += read as u64;
        }
        Ok(PartEnd::Done)
    });
    outcome.map_err(|failure| {
        let during = match &last_href {
            Some(href) => format!(
                "downloading part {} of {} of {} from {}",
                index + 1,
                plan.parts,
                item.path,
                short_url(href)
            ),
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

/// A record describes the bytes of `file_length` for this object, in parts the run may ask for
/// (a whole-download limit lowered since means new parts).
fn resumable(
    record: &Record,
    pointer: &Pointer,
    max_whole_download: u64,
    file_length: Option<u64>,
) -> bool {
    let size = pointer.size;
    let theirs = RangePlan::with_part_size(size, record.part_size);
    record.version == RECORD_VERSION
        && record.oid == pointer.oid.to_hex()
        && record.size == size
        && record.part_size > 0
        && record.part_size.min(size) <= max_whole_download.max(1)
        && record.written.len() == theirs.parts
        && record
            .written
            .iter()
            .enumerate()
            .all(|(index, &written)| written <= theirs.range(index, size).1)
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
        assert_eq!(plan_ranges(3, 4, 3), None);
    }

    fn pointer(size: u64) -> Pointer {
        Pointer::new(Oid256::from_bytes([7; 32]), size)
    }

    fn record(size: u64, part_size: u64, written: Vec<u64>) -> Record {
        Record {
            version: RECORD_VERSION,
            oid: pointer(size).oid.to_hex(),
            size,
            part_size,
            etag: None,
            written,
        }
    }

    #[test]
    fn a_record_is_resumed_only_for_the_same_object_and_a_file_of_its_length() {
        let size = 100 * MIB;
        let limit = DEFAULT_MAX_WHOLE_DOWNLOAD;
        let good = record(size, 25 * MIB, vec![25 * MIB, 3, 0, 0]);
        assert!(resumable(&good, &pointer(size), limit, Some(size)));
        assert!(!resumable(&good, &pointer(size), limit, Some(size - 1)));
        assert!(!resumable(&good, &pointer(size + 1), limit, Some(size + 1)));
        let overfull = record(size, 25 * MIB, vec![25 * MIB + 1, 0, 0, 0]);
        assert!(!resumable(&overfull, &pointer(size), limit, Some(size)));
        let short = record(size, 25 * MIB, vec![0, 0, 0]);
        assert!(!resumable(&short, &pointer(size), limit, Some(size)));
        // Parts longer than a lowered limit allows are not asked for again.
        assert!(!resumable(&good, &pointer(size), MIB, Some(size)));
        assert!(resumable(
            &record(size, MIB, vec![MIB; 100]),
            &pointer(size),
            MIB,
            Some(size)
        ));
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
