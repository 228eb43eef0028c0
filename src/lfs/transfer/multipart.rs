//! The Hub's multipart upload: large objects go up in parts to presigned URLs, then one POST
//! stitches them together.
//!
//! There is no action of its own: with the `multipart` transfer, the upload action's `header`
//! carries `chunk_size` and one presigned PUT URL per part (all-digit keys, the part numbers), and
//! its `href` is the completion URL. None of those requests carries the token: the URLs authorize
//! themselves. Up to `concurrency` jobs of the shared worker pool take parts of one object until
//! none are left; whichever sends the last part sends the completion and the verify.
//!
//! The part URLs expire like any action. Before each part they are renewed if they are about to
//! (and once after a 401/403), with a one-object batch request. A renewal whose URLs carry the same
//! upload id (`uploadId`, as S3's do) continues the upload with the new URLs; any other starts a new
//! upload, and every part goes again, since parts of two uploads cannot be completed together.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use url::Url;

use super::batch::{Action, Operation, Outcome};
use super::client::{header_text, Method, Outgoing, Payload, LFS_MEDIA_TYPE};
use super::lease::{with_lease, Lease, Renew};
use super::remote::short_url;
use super::retry::Failure;
use super::upload::{ask_again, drain, part_set, verify, Context};
use super::UploadItem;
use crate::lfs::error::LfsError;

const CHUNK_SIZE_KEY: &str = "chunk_size";

/// What the upload action's header says to do instead of a single PUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartPlan {
    pub chunk_size: u64,
    /// Part URLs in part-number order; part `i` (0-based) is bytes `[i * chunk_size, ...)`.
    pub urls: Vec<Url>,
    /// The header entries that are neither `chunk_size` nor a part: sent with the completion.
    pub completion_headers: BTreeMap<String, String>,
}

impl PartPlan {
    /// Byte offset and length of part `index` (0-based) of an object of `size` bytes.
    pub(crate) fn range(&self, index: usize, size: u64) -> (u64, u64) {
        let offset = self.chunk_size.saturating_mul(index as u64).min(size);
        let len = self.chunk_size.min(size - offset);
        (offset, len)
    }
}

/// Read the multipart instructions out of an upload action's header; `Ok(None)` when there is no
/// `chunk_size` (a plain single PUT), `Err` when the instructions cannot be followed.
pub(crate) fn plan_parts(
    header: &BTreeMap<String, String>,
    size: u64,
) -> Result<Option<PartPlan>, String> {
    let Some(chunk_text) = header.get(CHUNK_SIZE_KEY) else {
        return Ok(None);
    };
    let chunk_size = chunk_text
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|chunk| *chunk > 0)
        .ok_or_else(|| format!("chunk_size {chunk_text:?} is not a positive whole number"))?;

    let mut numbered: Vec<(u64, &str, &str)> = Vec::new();
    let mut completion_headers = BTreeMap::new();
    for (key, value) in header {
        if key == CHUNK_SIZE_KEY {
            continue;
        }
        if !key.is_empty() && key.bytes().all(|byte| byte.is_ascii_digit()) {
            let number = key
                .parse::<u64>()
                .map_err(|_| format!("part number {key:?} is too large"))?;
            numbered.push((number, key, value));
        } else {
            completion_headers.insert(key.clone(), value.clone());
        }
    }
    numbered.sort_by_key(|(number, _, _)| *number);
    if let Some(pair) = numbered.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(format!(
            "parts {:?} and {:?} have the same number",
            pair[0].1, pair[1].1
        ));
    }
    let expected = size.div_ceil(chunk_size);
    if numbered.len() as u64 != expected {
        return Err(format!(
            "{} part URLs for {size} bytes in chunks of {chunk_size}, but {expected} parts are needed",
            numbered.len()
        ));
    }
    let urls = numbered
        .into_iter()
        .map(|(_, key, value)| {
            Url::parse(value)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https"))
                .ok_or_else(|| format!("the URL of part {key} is not an http(s) URL"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(PartPlan {
        chunk_size,
        urls,
        completion_headers,
    }))
}

/// One version of an object's part URLs: from the first batch answer, or from a renewal.
pub(crate) struct PartSet {
    plan: PartPlan,
    completion: Url,
    verify: Option<Action>,
    /// Which upload the URLs belong to: kept by a renewal that continues the upload, moved on by
    /// one that started another (whose parts must all be sent again).
    epoch: u32,
}

impl PartSet {
    pub(crate) fn new(plan: PartPlan, completion: Url, verify: Option<Action>) -> Self {
        Self {
            plan,
            completion,
            verify,
            epoch: 0,
        }
    }

    /// The upload these URLs belong to, when they say: S3's part URLs carry `uploadId`, and so
    /// do LocalHub's; otherwise the completion URL might.
    fn upload_id(&self) -> Option<String> {
        self.plan
            .urls
            .first()
            .and_then(upload_id_of)
            .or_else(|| upload_id_of(&self.completion))
    }

    /// Whether these URLs carry on the upload `old` belongs to, so the parts sent with `old`
    /// still count. Without an upload id to compare, they do not: sending the parts again is
    /// slower, completing with parts of another upload would fail.
    fn continues(&self, old: &PartSet) -> bool {
        self.plan.chunk_size == old.plan.chunk_size
            && self.plan.urls.len() == old.plan.urls.len()
            && self
                .upload_id()
                .is_some_and(|id| old.upload_id().as_ref() == Some(&id))
    }
}

fn upload_id_of(url: &Url) -> Option<String> {
    url.query_pairs()
        .find(|(name, _)| name.eq_ignore_ascii_case("uploadid") || name == "upload_id")
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.is_empty())
}

/// `None`: a renewed batch answer says the server has the whole object already.
type PartLease = Lease<Option<PartSet>>;

/// Renewals that start a new upload and so throw away parts already sent, before giving up: an
/// upload slower than its URLs' lifetime would otherwise start over for ever.
const MAX_DISCARDING_RENEWALS: u32 = 3;

/// One object's multipart upload, shared by the jobs that send its parts.
pub(crate) struct MultipartUpload<'a> {
    item: &'a UploadItem,
    parts: usize,
    lease: PartLease,
    progress: Mutex<Progress>,
}

/// Which parts of the current upload are sent, taken or waiting.
struct Progress {
    epoch: u32,
    etags: Vec<Option<String>>,
    waiting: VecDeque<usize>,
    taken: Vec<bool>,
    completing: bool,
    finished: bool,
    discarding_renewals: u32,
}

enum Next {
    /// Take another part.
    Continue,
    /// Every part of upload `epoch` is sent: complete it.
    Complete(u32),
    /// The server has the object; nothing more to do.
    Stored,
}

enum Completed {
    Done(Option<Action>),
    /// A renewal started a new upload meanwhile: its parts must be sent first.
    Restarted,
    Stored,
}

impl<'a> MultipartUpload<'a> {
    pub(crate) fn new(item: &'a UploadItem, set: PartSet, expires_at: Option<Instant>) -> Self {
        let parts = set.plan.urls.len();
        Self {
            item,
            parts,
            lease: Lease::new(Some(set), expires_at),
            progress: Mutex::new(Progress {
                epoch: 0,
                etags: vec![None; parts],
                waiting: (0..parts).collect(),
                taken: vec![false; parts],
                completing: false,
                finished: false,
                discarding_renewals: 0,
            }),
        }
    }

    pub(crate) fn part_count(&self) -> usize {
        self.parts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bring `progress` up to the lease's current URLs: after a renewal that started a new
    /// upload, every part not being sent right now waits again. `Ok(true)` when the server turned
    /// out to have the object, the first time this is seen.
    fn sync(&self, ctx: &Context<'_, '_>, progress: &mut Progress) -> Result<bool, LfsError> {
        let leased = self.lease.current();
        let Some(set) = leased.value.as_ref() else {
            let first = !progress.finished;
            progress.finished = true;
            return Ok(first);
        };
        if set.epoch == progress.epoch {
            return Ok(false);
        }
        let size = self.item.pointer.size;
        let lost: u64 = (0..self.parts)
            .filter(|&index| progress.etags[index].is_some())
            .map(|index| set.plan.range(index, size).1)
            .sum();
        if lost > 0 {
            progress.discarding_renewals += 1;
            ctx.tracker.remove_bytes(lost);
            if progress.discarding_renewals > MAX_DISCARDING_RENEWALS {
                return Err(LfsError::Network {
                    during: format!("uploading {} in parts", self.item.path),
                    detail: format!(
                        "the upload outlasted its part URLs {} times, and each time the server \
                         gave new URLs for a new upload, so the parts already sent were lost",
                        progress.discarding_renewals
                    ),
                });
            }
        }
        progress.epoch = set.epoch;
        progress.etags = vec![None; self.parts];
        progress.completing = false;
        progress.waiting = (0..self.parts)
            .filter(|&index| !progress.taken[index])
            .collect();
        Ok(false)
    }

    fn take(&self, ctx: &Context<'_, '_>) -> Result<Option<usize>, LfsError> {
        let mut progress = self.lock();
        if self.sync(ctx, &mut progress)? {
            ctx.tracker.object_transferred(self.item.pointer.size);
        }
        if progress.finished {
            return Ok(None);
        }
        let next = progress.waiting.pop_front();
        if let Some(index) = next {
            progress.taken[index] = true;
        }
        Ok(next)
    }

    /// Record the outcome of sending part `index`: its ETag and the upload it went to, or `None`
    /// when the server said it has the object.
    fn sent(
        &self,
        ctx: &Context<'_, '_>,
        index: usize,
        outcome: Option<(String, u32)>,
    ) -> Result<Next, LfsError> {
        let mut progress = self.lock();
        // Synced while the part still counts as taken, so a new upload does not queue it too.
        let stored = self.sync(ctx, &mut progress)?;
        progress.taken[index] = false;
        if stored {
            ctx.tracker.object_transferred(self.item.pointer.size);
            return Ok(Next::Stored);
        }
        match outcome {
            Some((etag, epoch)) if epoch == progress.epoch => progress.etags[index] = Some(etag),
            // Sent to an upload that a renewal has since replaced: send it again.
            Some(_) => progress.waiting.push_back(index),
            None => {}
        }
        if progress.finished {
            return Ok(Next::Stored);
        }
        if !progress.completing && progress.etags.iter().all(Option::is_some) {
            progress.completing = true;
            return Ok(Next::Complete(progress.epoch));
        }
        Ok(Next::Continue)
    }

    fn etags(&self) -> Vec<String> {
        self.lock()
            .etags
            .iter()
            .map(|etag| etag.clone().unwrap_or_default())
            .collect()
    }
}

/// Send parts of `upload` until none are left to take; the job that sends the last part also
/// completes and verifies the object. Every part attempt gets URLs that are not about to expire.
pub(crate) fn run_parts(
    ctx: &Context<'_, '_>,
    upload: &MultipartUpload<'_>,
) -> Result<(), LfsError> {
    let item = upload.item;
    let renew = |old: &Option<PartSet>| renew_parts(ctx, item, old.as_ref());
    while let Some(index) = upload.take(ctx)? {
        let outcome = put_part(ctx, upload, index, &renew)?;
        let epoch = match upload.sent(ctx, index, outcome)? {
            Next::Continue => continue,
            Next::Stored => return Ok(()),
            Next::Complete(epoch) => epoch,
        };
        match complete(ctx, upload, epoch, &renew)? {
            Completed::Done(verify_action) => {
                if let Some(action) = &verify_action {
                    verify(ctx, action, item)?;
                }
                upload.lock().finished = true;
                ctx.tracker.object_transferred(item.pointer.size);
                return Ok(());
            }
            Completed::Stored => {
                let mut progress = upload.lock();
                if !std::mem::replace(&mut progress.finished, true) {
                    ctx.tracker.object_transferred(item.pointer.size);
                }
                return Ok(());
            }
            Completed::Restarted => upload.lock().completing = false,
        }
    }
    Ok(())
}

/// New part URLs for `item`, marked as the same upload as `old` when they continue it.
fn renew_parts(
    ctx: &Context<'_, '_>,
    item: &UploadItem,
    old: Option<&PartSet>,
) -> Result<(Option<PartSet>, Option<Instant>), LfsError> {
    let (_, object) = ask_again(ctx, Operation::Upload, &item.path, &item.pointer)?;
    let Outcome::Actions {
        transfer: Some(action),
        verify,
    } = object.outcome
    else {
        return Ok((None, None));
    };
    let Some(mut set) = part_set(item, &action, &verify)? else {
        return Err(LfsError::Protocol {
            detail: format!(
                "the part URLs of {} expired and the server renewed them as a single upload",
                item.path
            ),
        });
    };
    if let Some(old) = old.filter(|old| old.plan.urls.len() != set.plan.urls.len()) {
        return Err(LfsError::Protocol {
            detail: format!(
                "the part URLs of {} expired and the server renewed them for {} parts instead of {}",
                item.path,
                set.plan.urls.len(),
                old.plan.urls.len()
            ),
        });
    }
    set.epoch = match old {
        Some(old) if set.continues(old) => old.epoch,
        Some(old) => old.epoch + 1,
        None => 0,
    };
    Ok((Some(set), action.expires_at))
}

/// PUT part `index`: its ETag and the upload it went to, or `None` if the server has the object.
fn put_part(
    ctx: &Context<'_, '_>,
    upload: &MultipartUpload<'_>,
    index: usize,
    renew: &Renew<'_, Option<PartSet>>,
) -> Result<Option<(String, u32)>, LfsError> {
    let item = upload.item;
    let mut last_url = None;
    let outcome = with_lease(&ctx.policy, ctx.tracker, &upload.lease, renew, |leased| {
        let Some(set) = leased.value.as_ref() else {
            return Ok(None);
        };
        let url = &set.plan.urls[index];
        last_url = Some(url.clone());
        let (offset, len) = set.plan.range(index, item.pointer.size);
        let outgoing = Outgoing {
            method: Method::Put,
            url,
            headers: Vec::new(),
            authorization: None,
            payload: Payload::File {
                path: &item.source,
                offset,
                len,
            },
        };
        let mut response = ctx.remote.http.send(&outgoing, ctx.tracker)?;
        let etag = header_text(response.headers(), "etag").filter(|etag| !etag.is_empty());
        drain(&mut response);
        let etag = etag.ok_or_else(|| {
            Failure::Fatal(LfsError::Protocol {
                detail: format!(
                    "storage sent no ETag for part {} of {}",
                    index + 1,
                    item.path
                ),
            })
        })?;
        Ok(Some((etag, set.epoch)))
    });
    outcome.map_err(|failure| {
        let to = last_url.map_or_else(String::new, |url| format!(" to {}", short_url(&url)));
        let during = format!(
            "uploading part {} of {} of {}{to}",
            index + 1,
            upload.part_count(),
            item.path
        );
        failure.into_error(&during, false)
    })
}

#[derive(Serialize)]
struct Completion<'a> {
    oid: String,
    parts: Vec<CompletedPart<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompletedPart<'a> {
    part_number: usize,
    etag: &'a str,
}

pub(crate) fn completion_body(oid: &str, etags: &[String]) -> Vec<u8> {
    let body = Completion {
        oid: oid.to_owned(),
        parts: etags
            .iter()
            .enumerate()
            .map(|(index, etag)| CompletedPart {
                part_number: index + 1,
                etag,
            })
            .collect(),
    };
    serde_json::to_vec(&body).expect("a completion always serializes")
}

/// POST the parts' ETags to the completion URL of upload `epoch`, without the token.
fn complete(
    ctx: &Context<'_, '_>,
    upload: &MultipartUpload<'_>,
    epoch: u32,
    renew: &Renew<'_, Option<PartSet>>,
) -> Result<Completed, LfsError> {
    let item = upload.item;
    let body = completion_body(&item.pointer.oid.to_hex(), &upload.etags());
    let mut last_url = None;
    let outcome = with_lease(&ctx.policy, ctx.tracker, &upload.lease, renew, |leased| {
        let Some(set) = leased.value.as_ref() else {
            return Ok(Completed::Stored);
        };
        if set.epoch != epoch {
            return Ok(Completed::Restarted);
        }
        last_url = Some(set.completion.clone());
        let mut headers: Vec<(String, String)> = set
            .plan
            .completion_headers
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        for name in ["Accept", "Content-Type"] {
            if !headers
                .iter()
                .any(|(have, _)| have.eq_ignore_ascii_case(name))
            {
                headers.push((name.to_owned(), LFS_MEDIA_TYPE.to_owned()));
            }
        }
        let outgoing = Outgoing {
            method: Method::Post,
            url: &set.completion,
            headers,
            authorization: None,
            payload: Payload::Bytes(&body),
        };
        let mut response = ctx.remote.http.send(&outgoing, ctx.tracker)?;
        drain(&mut response);
        Ok(Completed::Done(set.verify.clone()))
    });
    outcome.map_err(|failure| {
        let at = last_url.map_or_else(String::new, |url| format!(" at {}", short_url(&url)));
        let during = format!("completing the multipart upload of {}{at}", item.path);
        failure.into_error(&during, false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn no_chunk_size_means_a_single_put() {
        let plain = header(&[("x-amz-acl", "private")]);
        assert_eq!(plan_parts(&plain, 10), Ok(None));
    }

    #[test]
    fn parts_are_sorted_by_number_not_by_text() {
        let h = header(&[
            ("chunk_size", "4"),
            ("10", "https://s3.example/p10"),
            ("2", "https://s3.example/p2"),
            ("1", "https://s3.example/p1"),
            ("3", "https://s3.example/p3"),
            ("4", "https://s3.example/p4"),
            ("5", "https://s3.example/p5"),
            ("6", "https://s3.example/p6"),
            ("7", "https://s3.example/p7"),
            ("8", "https://s3.example/p8"),
            ("9", "https://s3.example/p9"),
            ("X-Trace", "abc"),
        ]);
        let plan = plan_parts(&h, 38).unwrap().unwrap();
        assert_eq!(plan.chunk_size, 4);
        let paths: Vec<&str> = plan.urls.iter().map(Url::path).collect();
        assert_eq!(
            paths,
            ["/p1", "/p2", "/p3", "/p4", "/p5", "/p6", "/p7", "/p8", "/p9", "/p10"]
        );
        assert_eq!(plan.completion_headers, header(&[("X-Trace", "abc")]));
        assert_eq!(plan.range(0, 38), (0, 4));
        assert_eq!(plan.range(9, 38), (36, 2));
    }

    #[test]
    fn zero_padded_part_numbers_work() {
        let h = header(&[
            ("chunk_size", "5"),
            ("00002", "https://s3.example/b"),
            ("00001", "https://s3.example/a"),
        ]);
        let plan = plan_parts(&h, 10).unwrap().unwrap();
        assert_eq!(plan.urls[0].path(), "/a");
        assert_eq!(plan.range(1, 10), (5, 5));
    }

    #[test]
    fn part_count_must_match_the_size() {
        let two = header(&[
            ("chunk_size", "5"),
            ("1", "https://s3.example/a"),
            ("2", "https://s3.example/b"),
        ]);
        assert!(plan_parts(&two, 10).unwrap().is_some());
        assert!(plan_parts(&two, 6).unwrap().is_some());
        let too_many = plan_parts(&two, 5).unwrap_err();
        assert!(too_many.contains("1 parts are needed"), "{too_many}");
        let too_few = plan_parts(&two, 11).unwrap_err();
        assert!(too_few.contains("3 parts are needed"), "{too_few}");
    }

    #[test]
    fn bad_instructions_are_refused() {
        let cases = [
            (
                header(&[("chunk_size", "0"), ("1", "https://h/a")]),
                "positive",
            ),
            (
                header(&[("chunk_size", "abc"), ("1", "https://h/a")]),
                "positive",
            ),
            (
                header(&[
                    ("chunk_size", "5"),
                    ("1", "https://h/a"),
                    ("01", "https://h/b"),
                ]),
                "same number",
            ),
            (header(&[("chunk_size", "5"), ("1", "not a url")]), "part 1"),
            (
                header(&[
                    ("chunk_size", "5"),
                    ("1", "https://h/a"),
                    ("99999999999999999999999", "https://h/b"),
                ]),
                "too large",
            ),
        ];
        for (h, expected) in cases {
            let err = plan_parts(&h, 5).unwrap_err();
            assert!(err.contains(expected), "{h:?}: {err}");
        }
    }

    #[test]
    fn completion_body_numbers_parts_from_one_and_keeps_etags_verbatim() {
        let body = completion_body("abc", &["\"e1\"".to_owned(), "e2".to_owned()]);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "oid": "abc",
                "parts": [{"partNumber": 1, "etag": "\"e1\""}, {"partNumber": 2, "etag": "e2"}]
            })
        );
    }
}
