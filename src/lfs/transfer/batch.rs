//! The batch API: ask the server what to do with up to 100 objects, and check its answer.
//!
//! Everything the rest of the client relies on is checked here, once: that each object asked
//! about is answered with the same oid and size, that hrefs are absolute http(s) URLs, that header
//! values are strings, that the server picked a transfer we offered and hashes with SHA-256. What
//! comes out is typed, so the transfers never see raw JSON.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use url::Url;

use super::client::{Method, Outgoing, Payload, LFS_MEDIA_TYPE};
use super::remote::{short_url, LfsRemote};
use super::retry::{with_retries, Failure, RetryPolicy};
use super::tracker::Tracker;
use crate::lfs::error::LfsError;
use crate::lfs::pointer::{Oid256, Pointer};

/// How many objects one batch request asks about, as git-lfs and huggingface.js send.
pub(crate) const BATCH_SIZE: usize = 100;

/// A batch answer for a big multipart upload lists one URL per part; allow for thousands.
const RESPONSE_LIMIT: u64 = 128 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Upload,
    /// An upload that also offers `xet`, after `basic` and `multipart` as git-xet does.
    UploadOfferingXet,
    Download,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Upload | Self::UploadOfferingXet => "upload",
            Self::Download => "download",
        }
    }

    /// The transfer adapters this client offers for the operation.
    fn offered(self) -> &'static [&'static str] {
        match self {
            Self::Upload => &["basic", "multipart"],
            Self::UploadOfferingXet => &["basic", "multipart", "xet"],
            Self::Download => &["basic"],
        }
    }
}

/// The adapter the server chose for a whole batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transfer {
    Basic,
    Multipart,
    /// Each upload action's `href` is the Hub's token route and its headers carry the CAS URL
    /// and a first token (`X-Xet-*`): the bytes go to Xet storage, see the `xet` module.
    Xet,
}

impl Transfer {
    /// The adapter's name in the protocol.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Multipart => "multipart",
            Self::Xet => "xet",
        }
    }
}

/// One request the server wants made: where, with which headers, until when.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub href: Url,
    pub header: BTreeMap<String, String>,
    pub expires_at: Option<Instant>,
}

// One per object and short-lived: boxing the actions would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// `transfer` is the upload or download action; an upload without one is already stored.
    Actions {
        transfer: Option<Action>,
        verify: Option<Action>,
    },
    /// The server's per-object error.
    Rejected { code: i64, message: String },
}

#[derive(Debug, Clone)]
pub(crate) struct ObjectAnswer {
    pub pointer: Pointer,
    /// The server's `authenticated: true`: its hrefs need no credentials of ours.
    pub authenticated: bool,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub(crate) struct BatchAnswer {
    pub transfer: Transfer,
    /// In the order the objects were asked about.
    pub objects: Vec<ObjectAnswer>,
}

#[derive(Serialize)]
struct RequestBody<'a> {
    operation: &'static str,
    transfers: &'static [&'static str],
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<RefName<'a>>,
    objects: Vec<ObjectId>,
    hash_algo: &'static str,
}

#[derive(Serialize)]
struct RefName<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct ObjectId {
    oid: String,
    size: u64,
}

pub(crate) fn request_body(
    operation: Operation,
    objects: &[Pointer],
    ref_name: Option<&str>,
) -> Vec<u8> {
    let body = RequestBody {
        operation: operation.as_str(),
        transfers: operation.offered(),
        reference: ref_name.map(|name| RefName { name }),
        objects: objects
            .iter()
            .map(|pointer| ObjectId {
                oid: pointer.oid.to_hex(),
                size: pointer.size,
            })
            .collect(),
        hash_algo: "sha256",
    };
    serde_json::to_vec(&body).expect("a batch request always serializes")
}

#[derive(Deserialize)]
struct RawAnswer {
    transfer: Option<String>,
    objects: Option<Vec<RawObject>>,
    hash_algo: Option<String>,
}

#[derive(Deserialize)]
struct RawObject {
    oid: Option<String>,
    size: Option<u64>,
    authenticated: Option<bool>,
    actions: Option<BTreeMap<String, RawAction>>,
    error: Option<RawError>,
}

#[derive(Deserialize)]
struct RawAction {
    href: Option<String>,
    header: Option<BTreeMap<String, String>>,
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct RawError {
    code: Option<i64>,
    message: Option<String>,
}

/// Check a batch answer against the objects asked about; `Err` is the protocol violation.
pub(crate) fn parse_answer(
    body: &[u8],
    operation: Operation,
    asked: &[Pointer],
    received_at: Instant,
) -> Result<BatchAnswer, String> {
    let raw: RawAnswer = serde_json::from_slice(body).map_err(|err| {
        format!("the batch answer is not valid JSON of the expected shape: {err}")
    })?;
    if let Some(algo) = raw.hash_algo.as_deref() {
        if !algo.eq_ignore_ascii_case("sha256") {
            return Err(format!(
                "the server hashes objects with {algo:?}, but only sha256 is supported"
            ));
        }
    }
    let transfer = match raw.transfer.as_deref().unwrap_or("basic") {
        name if !operation.offered().contains(&name) => {
            return Err(format!(
                "the server chose the transfer {name:?}, which was not offered"
            ));
        }
        "multipart" => Transfer::Multipart,
        "xet" => Transfer::Xet,
        _ => Transfer::Basic,
    };
    let raw_objects = raw
        .objects
        .ok_or_else(|| "the batch answer has no objects list".to_owned())?;

    let mut answered: BTreeMap<Oid256, ObjectAnswer> = BTreeMap::new();
    for raw in raw_objects {
        let answer = parse_object(raw, operation, received_at)?;
        answered.entry(answer.pointer.oid).or_insert(answer);
    }
    let objects = asked
        .iter()
        .map(|pointer| {
            let answer = answered
                .get(&pointer.oid)
                .ok_or_else(|| format!("the batch answer leaves out sha256:{}", pointer.oid))?;
            if answer.pointer.size != pointer.size {
                return Err(format!(
                    "the batch answer gives sha256:{} a size of {} bytes, not {}",
                    pointer.oid, answer.pointer.size, pointer.size
                ));
            }
            Ok(answer.clone())
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(BatchAnswer { transfer, objects })
}

fn parse_object(
    raw: RawObject,
    operation: Operation,
    received_at: Instant,
) -> Result<ObjectAnswer, String> {
    let oid_text = raw
        .oid
        .ok_or_else(|| "an object in the batch answer has no oid".to_owned())?;
    let oid = Oid256::from_hex(&oid_text)
        .map_err(|_| format!("the batch answer has an invalid oid {oid_text:?}"))?;
    let size = raw
        .size
        .ok_or_else(|| format!("sha256:{oid} in the batch answer has no size"))?;
    let outcome = if let Some(error) = raw.error {
        Outcome::Rejected {
            code: error.code.unwrap_or(0),
            message: error.message.unwrap_or_default(),
        }
    } else {
        let mut actions = raw.actions.unwrap_or_default();
        let mut take = |name: &str| {
            actions
                .remove(name)
                .map(|action| parse_action(action, name, &oid, received_at))
                .transpose()
        };
        Outcome::Actions {
            transfer: take(operation.as_str())?,
            verify: match operation {
                Operation::Upload | Operation::UploadOfferingXet => take("verify")?,
                Operation::Download => None,
            },
        }
    };
    Ok(ObjectAnswer {
        pointer: Pointer::new(oid, size),
        authenticated: raw.authenticated.unwrap_or(false),
        outcome,
    })
}

fn parse_action(
    raw: RawAction,
    name: &str,
    oid: &Oid256,
    received_at: Instant,
) -> Result<Action, String> {
    let text = raw
        .href
        .ok_or_else(|| format!("the {name} action of sha256:{oid} has no href"))?;
    let href = Url::parse(&text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| {
            format!("the {name} action of sha256:{oid} has an href that is not an http(s) URL")
        })?;
    // As git-lfs: no `expires_in` (or 0) means no expiry known; a negative one has expired.
    let expires_at = match raw.expires_in {
        None | Some(0) => None,
        Some(seconds) if seconds < 0 => Some(received_at),
        Some(seconds) => Some(received_at + Duration::from_secs(seconds.unsigned_abs())),
    };
    Ok(Action {
        href,
        header: raw.header.unwrap_or_default(),
        expires_at,
    })
}

/// POST one batch request (with retries) and check the answer.
pub(crate) fn request_batch(
    remote: &LfsRemote,
    policy: &RetryPolicy,
    tracker: &Tracker<'_>,
    operation: Operation,
    objects: &[Pointer],
    ref_name: Option<&str>,
) -> Result<BatchAnswer, LfsError> {
    let url = Url::parse(&remote.batch_url()).map_err(|err| LfsError::Protocol {
        detail: format!("invalid batch URL: {err}"),
    })?;
    let body = request_body(operation, objects, ref_name);
    let during = format!(
        "asking {} how to {} {} object(s)",
        short_url(&url),
        operation.as_str(),
        objects.len()
    );
    let ask = || {
        let outgoing = Outgoing {
            method: Method::Post,
            url: &url,
            headers: vec![
                ("Accept".to_owned(), LFS_MEDIA_TYPE.to_owned()),
                ("Content-Type".to_owned(), LFS_MEDIA_TYPE.to_owned()),
            ],
            authorization: remote.authorization_for(&url),
            payload: Payload::Bytes(&body),
        };
        with_retries(policy, tracker, || {
            let mut response = remote.http.send(&outgoing, tracker)?;
            let received_at = Instant::now();
            let bytes = response
                .body_mut()
                .with_config()
                .limit(RESPONSE_LIMIT)
                .read_to_vec()
                .map_err(|err| super::client::transport_failure(err, tracker))?;
            parse_answer(&bytes, operation, objects, received_at)
                .map_err(|detail| Failure::Fatal(LfsError::Protocol { detail }))
        })
    };
    // Bearer first (see `remote`); a server that answers it with 401 gets Basic once, and the
    // remote keeps Basic for every later request of this run.
    let answer = match ask() {
        Err(Failure::Status { status: 401, .. }) if remote.fall_back_to_basic() => ask(),
        other => other,
    };
    answer.map_err(|failure| {
        let error = failure.into_error(&during, true);
        match error {
            LfsError::Authentication { message } if !remote.has_token() => {
                LfsError::Authentication {
                    message: format!("{message} (no token was given)"),
                }
            }
            other => other,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OID_A: &str = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
    const OID_B: &str = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";

    fn pointer(oid: &str, size: u64) -> Pointer {
        Pointer::new(oid.parse().unwrap(), size)
    }

    fn parse(json: &str, operation: Operation, asked: &[Pointer]) -> Result<BatchAnswer, String> {
        parse_answer(json.as_bytes(), operation, asked, Instant::now())
    }

    #[test]
    fn upload_request_body_has_the_documented_shape() {
        let body = request_body(
            Operation::Upload,
            &[pointer(OID_A, 12345), pointer(OID_B, 12)],
            Some("refs/heads/main"),
        );
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "operation": "upload",
                "transfers": ["basic", "multipart"],
                "ref": {"name": "refs/heads/main"},
                "objects": [{"oid": OID_A, "size": 12345}, {"oid": OID_B, "size": 12}],
                "hash_algo": "sha256"
            })
        );
    }

    #[test]
    fn download_request_offers_basic_only_and_omits_an_unknown_ref() {
        let body = request_body(Operation::Download, &[pointer(OID_A, 1)], None);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "operation": "download",
                "transfers": ["basic"],
                "objects": [{"oid": OID_A, "size": 1}],
                "hash_algo": "sha256"
            })
        );
    }

    #[test]
    fn upload_answer_without_actions_means_already_stored() {
        let json = format!(
            r#"{{"transfer":"basic","hash_algo":"sha256","objects":[
                {{"oid":"{OID_B}","size":12}},
                {{"oid":"{OID_A}","size":5,"authenticated":true,"actions":{{
                    "upload":{{"href":"https://s3.example/b/k?sig=1","header":{{"x-amz":"v"}},"expires_in":900}},
                    "verify":{{"href":"https://hub.example/r.git/info/lfs/objects/verify"}}}}}}]}}"#
        );
        let asked = [pointer(OID_A, 5), pointer(OID_B, 12)];
        let answer = parse(&json, Operation::Upload, &asked).unwrap();
        assert_eq!(answer.transfer, Transfer::Basic);
        // In the order asked, not the order answered.
        assert_eq!(answer.objects[0].pointer, asked[0]);
        assert!(answer.objects[0].authenticated);
        match &answer.objects[0].outcome {
            Outcome::Actions {
                transfer: Some(upload),
                verify: Some(verify),
            } => {
                assert_eq!(upload.href.as_str(), "https://s3.example/b/k?sig=1");
                assert_eq!(upload.header.get("x-amz").map(String::as_str), Some("v"));
                assert!(upload
                    .expires_at
                    .is_some_and(|at| at > Instant::now() + Duration::from_secs(800)));
                assert!(verify.expires_at.is_none());
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            answer.objects[1].outcome,
            Outcome::Actions {
                transfer: None,
                verify: None
            }
        ));
    }

    #[test]
    fn per_object_error_is_kept_with_code_and_message() {
        let json = format!(
            r#"{{"objects":[{{"oid":"{OID_A}","size":5,"error":{{"code":404,"message":"Object does not exist"}}}}]}}"#
        );
        let answer = parse(&json, Operation::Download, &[pointer(OID_A, 5)]).unwrap();
        assert_eq!(answer.transfer, Transfer::Basic);
        assert!(matches!(
            &answer.objects[0].outcome,
            Outcome::Rejected { code: 404, message } if message == "Object does not exist"
        ));
    }

    #[test]
    fn multipart_is_accepted_for_upload_only() {
        let json =
            format!(r#"{{"transfer":"multipart","objects":[{{"oid":"{OID_A}","size":5}}]}}"#);
        let asked = [pointer(OID_A, 5)];
        assert_eq!(
            parse(&json, Operation::Upload, &asked).unwrap().transfer,
            Transfer::Multipart
        );
        let err = parse(&json, Operation::Download, &asked).unwrap_err();
        assert!(err.contains("not offered"), "{err}");
        let xet = format!(r#"{{"transfer":"xet","objects":[{{"oid":"{OID_A}","size":5}}]}}"#);
        assert!(parse(&xet, Operation::Upload, &asked).is_err());
    }

    #[test]
    fn xet_is_offered_after_basic_and_multipart_and_accepted_only_when_offered() {
        let body = request_body(Operation::UploadOfferingXet, &[pointer(OID_A, 5)], None);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["operation"], "upload");
        assert_eq!(
            value["transfers"],
            serde_json::json!(["basic", "multipart", "xet"])
        );
        let json = format!(
            r#"{{"transfer":"xet","objects":[{{"oid":"{OID_A}","size":5,"actions":{{"upload":{{
                "href":"https://hub.example/api/models/u/r/xet-write-token/main",
                "header":{{"X-Xet-Cas-Url":"https://cas.example","X-Xet-Access-Token":"t",
                           "X-Xet-Token-Expiration":"1700000000"}}}}}}}}]}}"#
        );
        let asked = [pointer(OID_A, 5)];
        let answer = parse(&json, Operation::UploadOfferingXet, &asked).unwrap();
        assert_eq!(answer.transfer, Transfer::Xet);
        assert!(parse(&json, Operation::Upload, &asked).is_err());
    }

    #[test]
    fn malformed_answers_are_protocol_errors() {
        let asked = [pointer(OID_A, 5)];
        let cases = [
            ("not json".to_owned(), "not valid JSON"),
            (r#"{"transfer":"basic"}"#.to_owned(), "no objects"),
            (r#"{"objects":[{"size":5}]}"#.to_owned(), "no oid"),
            (
                r#"{"objects":[{"oid":"ABC","size":5}]}"#.to_owned(),
                "invalid oid",
            ),
            (format!(r#"{{"objects":[{{"oid":"{OID_A}"}}]}}"#), "no size"),
            (
                format!(r#"{{"objects":[{{"oid":"{OID_B}","size":5}}]}}"#),
                "leaves out",
            ),
            (
                format!(r#"{{"objects":[{{"oid":"{OID_A}","size":6}}]}}"#),
                "size of 6",
            ),
            (
                format!(
                    r#"{{"objects":[{{"oid":"{OID_A}","size":5,"actions":{{"download":{{"href":7}}}}}}]}}"#
                ),
                "not valid JSON",
            ),
            (
                format!(
                    r#"{{"objects":[{{"oid":"{OID_A}","size":5,"actions":{{"download":{{"header":{{}}}}}}}}]}}"#
                ),
                "has no href",
            ),
            (
                format!(
                    r#"{{"objects":[{{"oid":"{OID_A}","size":5,"actions":{{"download":{{"href":"/relative"}}}}}}]}}"#
                ),
                "not an http(s) URL",
            ),
            (
                format!(
                    r#"{{"objects":[{{"oid":"{OID_A}","size":5,"actions":{{"download":{{"href":"https://h/x","header":{{"n":1}}}}}}}}]}}"#
                ),
                "not valid JSON",
            ),
            (
                format!(r#"{{"hash_algo":"sha512","objects":[{{"oid":"{OID_A}","size":5}}]}}"#),
                "only sha256",
            ),
        ];
        for (json, expected) in cases {
            let err = parse(&json, Operation::Download, &asked).unwrap_err();
            assert!(err.contains(expected), "{json}: {err}");
        }
    }

    #[test]
    fn negative_expiry_means_already_expired() {
        let json = format!(
            r#"{{"objects":[{{"oid":"{OID_A}","size":5,"actions":{{"download":{{"href":"https://h/x","expires_in":-1}}}}}}]}}"#
        );
        let answer = parse(&json, Operation::Download, &[pointer(OID_A, 5)]).unwrap();
        match &answer.objects[0].outcome {
            Outcome::Actions {
                transfer: Some(action),
                ..
            } => assert!(action.expires_at.is_some_and(|at| at <= Instant::now())),
            other => panic!("unexpected {other:?}"),
        }
    }
}
