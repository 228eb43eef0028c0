//! The Hub's multipart upload: large objects go up in parts to presigned URLs, then one POST
//! stitches them together.
//!
//! There is no action of its own: with the `multipart` transfer, the upload action's `header`
//! carries `chunk_size` and one presigned PUT URL per part (all-digit keys, the part numbers), and
//! its `href` is the completion URL. None of those requests carries the token: the URLs authorize
//! themselves. Parts are independent jobs in the shared worker pool; whichever worker finishes the
//! last part sends the completion and the verify.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use url::Url;

use super::batch::Action;
use super::client::{header_text, Method, Outgoing, Payload, LFS_MEDIA_TYPE};
use super::remote::short_url;
use super::retry::{with_retries, Failure};
use super::upload::{drain, verify, Context};
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

/// One object's multipart upload, shared by the jobs of its parts.
pub(crate) struct MultipartUpload<'a> {
    item: &'a UploadItem,
    plan: PartPlan,
    completion: Url,
    verify: Option<Action>,
    etags: Mutex<Vec<Option<String>>>,
    remaining: AtomicUsize,
}

impl<'a> MultipartUpload<'a> {
    pub(crate) fn new(
        item: &'a UploadItem,
        plan: PartPlan,
        completion: Url,
        verify: Option<Action>,
    ) -> Self {
        let parts = plan.urls.len();
        Self {
            item,
            plan,
            completion,
            verify,
            etags: Mutex::new(vec![None; parts]),
            remaining: AtomicUsize::new(parts),
        }
    }

    pub(crate) fn part_count(&self) -> usize {
        self.plan.urls.len()
    }
}

/// PUT part `index`; the worker that puts the last part also completes and verifies the object.
pub(crate) fn upload_part(
    ctx: &Context<'_, '_>,
    upload: &MultipartUpload<'_>,
    index: usize,
) -> Result<(), LfsError> {
    let item = upload.item;
    let url = &upload.plan.urls[index];
    let (offset, len) = upload.plan.range(index, item.pointer.size);
    let during = format!(
        "uploading part {} of {} of {} to {}",
        index + 1,
        upload.part_count(),
        item.path,
        short_url(url)
    );
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
    let etag = with_retries(&ctx.policy, ctx.tracker, || {
        let mut response = ctx.remote.http.send(&outgoing, ctx.tracker)?;
        let etag = header_text(response.headers(), "etag").filter(|etag| !etag.is_empty());
        drain(&mut response);
        etag.ok_or_else(|| {
            Failure::Fatal(LfsError::Protocol {
                detail: format!(
                    "storage sent no ETag for part {} of {}",
                    index + 1,
                    item.path
                ),
            })
        })
    })
    .map_err(|failure| failure.into_error(&during, false))?;

    upload.etags.lock().unwrap_or_else(|p| p.into_inner())[index] = Some(etag);
    if upload.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
        complete(ctx, upload)?;
        if let Some(action) = &upload.verify {
            verify(ctx, action, item)?;
        }
        ctx.tracker.object_transferred(item.pointer.size);
    }
    Ok(())
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

/// POST the parts' ETags to the completion URL, without the token.
fn complete(ctx: &Context<'_, '_>, upload: &MultipartUpload<'_>) -> Result<(), LfsError> {
    let etags: Vec<String> = upload
        .etags
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|etag| etag.clone().unwrap_or_default())
        .collect();
    let body = completion_body(&upload.item.pointer.oid.to_hex(), &etags);
    let mut headers: Vec<(String, String)> = upload
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
        url: &upload.completion,
        headers,
        authorization: None,
        payload: Payload::Bytes(&body),
    };
    let during = format!(
        "completing the multipart upload of {} at {}",
        upload.item.path,
        short_url(&upload.completion)
    );
    with_retries(&ctx.policy, ctx.tracker, || {
        let mut response = ctx.remote.http.send(&outgoing, ctx.tracker)?;
        drain(&mut response);
        Ok(())
    })
    .map_err(|failure| failure.into_error(&during, false))
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
