//! What the client puts on the wire, checked against a tiny scripted HTTP server on 127.0.0.1.
//!
//! The server only records requests and plays back canned answers; the real round trips against
//! LocalHub and git-lfs live in the Python suite.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use sha2::{Digest, Sha256};
use url::Url;

use super::*;
use crate::lfs::pointer::Oid256;

const TOKEN: &str = "hf_wiretestTOKENabcdefghijklmnopqrstu";
const LFS_TYPE: &str = "application/vnd.git-lfs+json";

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    fn json(value: serde_json::Value) -> Self {
        let mut reply = Self::new(200, value.to_string());
        reply.headers.push(("Content-Type", LFS_TYPE.to_owned()));
        reply
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// Answers each request with `handler(request, how many times this method+path was seen before)`.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(handler: impl Fn(&str) -> Box<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handler: Arc<Handler> = Arc::from(handler(&format!("http://{addr}")));
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen_in, stop_in) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_in.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (handler, seen) = (handler.clone(), seen_in.clone());
                std::thread::spawn(move || serve(stream, &*handler, &seen));
            }
        });
        Self { addr, seen, stop }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn seen_at(&self, method: &str, path_prefix: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|seen| seen.method == method && seen.target.starts_with(path_prefix))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, handler: &Handler, seen: &Mutex<Vec<Seen>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers
        .get("content-length")
        .map_or(0, |value| value.parse().unwrap());
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    let request = Seen {
        method,
        target,
        headers,
        body,
    };
    let count = {
        let mut all = seen.lock().unwrap();
        let path = request.target.split('?').next().unwrap_or_default();
        let count = all
            .iter()
            .filter(|s| s.method == request.method && s.target.split('?').next() == Some(path))
            .count();
        all.push(request.clone());
        count
    };
    let reply = handler(&request, count);
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&reply.body);
    let _ = out.flush();
}

fn pointer_of(bytes: &[u8]) -> Pointer {
    let digest: [u8; 32] = Sha256::digest(bytes).into();
    Pointer::new(Oid256::from_bytes(digest), bytes.len() as u64)
}

fn fast_config() -> TransferConfig {
    TransferConfig {
        concurrency: 4,
        ref_name: Some("refs/heads/main".to_owned()),
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..TransferConfig::default()
    }
}

fn remote_for(server: &Server, token: bool) -> LfsRemote {
    LfsRemote::new(
        &server.url("/alice/model.git/info/lfs"),
        token.then(|| SecretString::from(TOKEN.to_owned())),
    )
    .unwrap()
}

fn bearer_auth() -> String {
    format!("Bearer {TOKEN}")
}

fn basic_auth() -> String {
    // base64("hf_user:" + TOKEN), computed independently of the client's encoder
    let pair = format!("hf_user:{TOKEN}");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bits: String = pair.bytes().map(|b| format!("{b:08b}")).collect();
    let mut out: String = bits
        .as_bytes()
        .chunks(6)
        .map(|six| {
            let text = std::str::from_utf8(six).unwrap();
            let value = u8::from_str_radix(&format!("{text:0<6}"), 2).unwrap();
            char::from(alphabet[value as usize])
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    format!("Basic {out}")
}

#[test]
fn upload_sends_the_token_to_batch_and_verify_but_not_to_storage() {
    let dir = tempfile::tempdir().unwrap();
    let content = b"some model weights".to_vec();
    let stored = pointer_of(b"already on the server");
    let pointer = pointer_of(&content);
    let source = dir.path().join("object");
    std::fs::write(&source, &content).unwrap();

    let server = Server::start(|base| {
        let base = base.to_owned();
        Box::new(
            move |request: &Seen, _: usize| match request.target.as_str() {
                "/alice/model.git/info/lfs/objects/batch" => {
                    let asked = request.json();
                    let objects = asked["objects"].as_array().unwrap();
                    Reply::json(serde_json::json!({
                        "transfer": "basic",
                        "objects": objects.iter().map(|object| {
                            if object["size"] == 21 {
                                object.clone()
                            } else {
                                serde_json::json!({
                                    "oid": object["oid"], "size": object["size"],
                                    "actions": {
                                        "upload": {"href": format!("{base}/storage/obj?X-Sig=secret"),
                                                   "header": {"X-Custom": "kept as given"}},
                                        "verify": {"href": format!("{base}/alice/model.git/info/lfs/verify")}
                                    }
                                })
                            }
                        }).collect::<Vec<_>>()
                    }))
                }
                _ => Reply::new(200, ""),
            },
        )
    });
    let items = vec![
        UploadItem {
            pointer,
            source: source.clone(),
            path: "weights.bin".into(),
        },
        UploadItem {
            pointer: stored,
            source: dir.path().join("not-read"),
            path: "old.bin".into(),
        },
        UploadItem {
            pointer,
            source,
            path: "copy-of-weights.bin".into(),
        },
    ];
    let monitor = Monitor::new();
    let summary = upload(&remote_for(&server, true), items, &fast_config(), &monitor).unwrap();
    assert_eq!(
        (summary.transferred, summary.skipped, summary.bytes),
        (1, 1, content.len() as u64)
    );
    let snapshot = monitor.snapshot();
    assert_eq!((snapshot.done, snapshot.total), (2, 2));
    assert_eq!(snapshot.bytes, content.len() as u64);

    let batch = &server.seen_at("POST", "/alice/model.git/info/lfs/objects/batch")[0];
    assert_eq!(batch.header("authorization"), Some(bearer_auth().as_str()));
    assert_eq!(batch.header("accept"), Some(LFS_TYPE));
    assert_eq!(batch.header("content-type"), Some(LFS_TYPE));
    assert_eq!(
        batch.json(),
        serde_json::json!({
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "ref": {"name": "refs/heads/main"},
            "objects": [
                {"oid": pointer.oid.to_hex(), "size": pointer.size},
                {"oid": stored.oid.to_hex(), "size": stored.size}
            ],
            "hash_algo": "sha256"
        })
    );

    let puts = server.seen_at("PUT", "/storage/obj");
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].target, "/storage/obj?X-Sig=secret");
    assert_eq!(puts[0].header("authorization"), None);
    assert_eq!(puts[0].header("x-custom"), Some("kept as given"));
    assert_eq!(puts[0].header("content-length"), Some("18"));
    assert_eq!(puts[0].body, content);

    let verify = &server.seen_at("POST", "/alice/model.git/info/lfs/verify")[0];
    assert_eq!(verify.header("authorization"), Some(bearer_auth().as_str()));
    assert_eq!(verify.header("content-type"), Some(LFS_TYPE));
    assert_eq!(
        verify.json(),
        serde_json::json!({"oid": pointer.oid.to_hex(), "size": 18})
    );
    assert_eq!(server.seen().len(), 3);
}

#[test]
fn multipart_upload_puts_each_range_and_completes_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0u8..10).collect();
    let pointer = pointer_of(&content);
    let source = dir.path().join("object");
    std::fs::write(&source, &content).unwrap();

    let server = Server::start(|base| {
        let base = base.to_owned();
        Box::new(move |request: &Seen, _: usize| {
            let path = request.target.split('?').next().unwrap();
            if path.ends_with("/objects/batch") {
                let object = &request.json()["objects"][0];
                return Reply::json(serde_json::json!({
                    "transfer": "multipart",
                    "objects": [{
                        "oid": object["oid"], "size": object["size"],
                        "actions": {"upload": {
                            // under the LFS path on purpose: completion never carries the token
                            "href": format!("{base}/alice/model.git/info/lfs/complete?sig=1"),
                            "header": {
                                "chunk_size": "4",
                                "00003": format!("{base}/part/3?sig=3"),
                                "00001": format!("{base}/part/1?sig=1"),
                                "00002": format!("{base}/part/2?sig=2"),
                            }
                        }}
                    }]
                }));
            }
            if let Some(number) = path.strip_prefix("/part/") {
                return Reply::new(200, "").with("ETag", format!("\"etag-{number}\""));
            }
            Reply::new(200, "{}")
        })
    });
    let items = vec![UploadItem {
        pointer,
        source,
        path: "big.bin".into(),
    }];
    let summary = upload(
        &remote_for(&server, true),
        items,
        &fast_config(),
        &Monitor::new(),
    )
    .unwrap();
    assert_eq!(summary.transferred, 1);

    let mut parts = server.seen_at("PUT", "/part/");
    parts.sort_by(|a, b| a.target.cmp(&b.target));
    let bodies: Vec<&[u8]> = parts.iter().map(|part| part.body.as_slice()).collect();
    assert_eq!(bodies, [&content[0..4], &content[4..8], &content[8..10]]);
    for part in &parts {
        assert_eq!(part.header("authorization"), None);
        assert_eq!(part.header("chunk_size"), None);
    }
    let completion = &server.seen_at("POST", "/alice/model.git/info/lfs/complete")[0];
    assert_eq!(completion.header("authorization"), None);
    assert_eq!(completion.header("content-type"), Some(LFS_TYPE));
    assert_eq!(completion.header("chunk_size"), None);
    assert_eq!(
        completion.json(),
        serde_json::json!({
            "oid": pointer.oid.to_hex(),
            "parts": [
                {"partNumber": 1, "etag": "\"etag-1\""},
                {"partNumber": 2, "etag": "\"etag-2\""},
                {"partNumber": 3, "etag": "\"etag-3\""}
            ]
        })
    );
}

#[test]
fn many_small_objects_go_in_batches_of_at_most_100() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<UploadItem> = (0..250)
        .map(|index| {
            let content = format!("object number {index}");
            let source = dir.path().join(format!("o{index}"));
            std::fs::write(&source, &content).unwrap();
            UploadItem {
                pointer: pointer_of(content.as_bytes()),
                source,
                path: format!("files/{index}.txt"),
            }
        })
        .collect();
    let server = Server::start(|base| {
        let base = base.to_owned();
        Box::new(move |request: &Seen, _: usize| {
            if !request.target.ends_with("/objects/batch") {
                return Reply::new(200, "");
            }
            let asked = request.json();
            let objects: Vec<serde_json::Value> = asked["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|object| {
                    serde_json::json!({
                        "oid": object["oid"], "size": object["size"],
                        "actions": {"upload": {"href": format!("{base}/s/{}", object["oid"].as_str().unwrap())}}
                    })
                })
                .collect();
            Reply::json(serde_json::json!({"objects": objects}))
        })
    });
    let summary = upload(
        &remote_for(&server, true),
        items,
        &fast_config(),
        &Monitor::new(),
    )
    .unwrap();
    assert_eq!(summary.transferred, 250);
    let sizes: Vec<usize> = server
        .seen_at("POST", "/alice/model.git/info/lfs/objects/batch")
        .iter()
        .map(|batch| batch.json()["objects"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(server.seen_at("PUT", "/s/").len(), 250);
}

fn download_server(content: Vec<u8>, first_storage_status: u16) -> Server {
    Server::start(move |base| {
        let base = base.to_owned();
        let content = content.clone();
        Box::new(move |request: &Seen, count: usize| {
            if request.target.ends_with("/objects/batch") {
                let object = &request.json()["objects"][0];
                return Reply::json(serde_json::json!({
                    "objects": [{
                        "oid": object["oid"], "size": object["size"],
                        "actions": {"download": {
                            "href": format!("{base}/alice/model.git/info/lfs/objects/x"),
                            "header": {"X-Trace": "t"}
                        }}
                    }]
                }));
            }
            if count == 0 && first_storage_status != 200 {
                return Reply::new(first_storage_status, "try later").with("Retry-After", "0");
            }
            Reply::new(200, content.clone())
        })
    })
}

#[test]
fn download_retries_a_503_and_stores_the_verified_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = LfsStore::new(&dir.path().join(".git"));
    let content = b"downloaded bytes".to_vec();
    let pointer = pointer_of(&content);
    let server = download_server(content.clone(), 503);
    let items = vec![DownloadItem {
        pointer,
        path: "data.bin".into(),
    }];
    let summary = download(
        &remote_for(&server, true),
        items.clone(),
        &store,
        &fast_config(),
        &Monitor::new(),
    )
    .unwrap();
    assert_eq!(
        (summary.transferred, summary.bytes),
        (1, content.len() as u64)
    );
    assert_eq!(
        std::fs::read(store.object_path(&pointer.oid)).unwrap(),
        content
    );

    let gets = server.seen_at("GET", "/alice/model.git/info/lfs/objects/x");
    assert_eq!(gets.len(), 2);
    // This href is under the LFS base, so it gets the token; and the action's own header.
    assert_eq!(
        gets[1].header("authorization"),
        Some(bearer_auth().as_str())
    );
    assert_eq!(gets[1].header("x-trace"), Some("t"));

    let batch = &server.seen_at("POST", "/alice/model.git/info/lfs/objects/batch")[0];
    assert_eq!(batch.json()["transfers"], serde_json::json!(["basic"]));

    // Present now: a second run asks the server nothing.
    let before = server.seen().len();
    let again = download(
        &remote_for(&server, true),
        items,
        &store,
        &fast_config(),
        &Monitor::new(),
    )
    .unwrap();
    assert_eq!((again.transferred, again.skipped), (0, 1));
    assert_eq!(server.seen().len(), before);
}

#[test]
fn corrupt_download_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = LfsStore::new(&dir.path().join(".git"));
    let pointer = pointer_of(b"the real content");
    let server = download_server(b"tampered content".to_vec(), 200);
    let err = download(
        &remote_for(&server, false),
        vec![DownloadItem {
            pointer,
            path: "data.bin".into(),
        }],
        &store,
        &fast_config(),
        &Monitor::new(),
    )
    .unwrap_err();
    assert!(matches!(err, LfsError::ObjectMismatch { .. }), "{err}");
    assert!(!store.contains(&pointer.oid, pointer.size));
    let leftovers = std::fs::read_dir(store.tmp_dir()).map_or(0, |dir| dir.count());
    assert_eq!(leftovers, 0);
    // Without a token, nothing carries Authorization.
    assert!(server
        .seen()
        .iter()
        .all(|seen| seen.header("authorization").is_none()));
}

#[test]
fn storage_client_error_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let store = LfsStore::new(&dir.path().join(".git"));
    let pointer = pointer_of(b"x");
    let server = download_server(Vec::new(), 404);
    let err = download(
        &remote_for(&server, false),
        vec![DownloadItem {
            pointer,
            path: "gone.bin".into(),
        }],
        &store,
        &fast_config(),
        &Monitor::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, LfsError::Server { status: 404, ref during, .. } if during.contains("gone.bin")),
        "{err}"
    );
    assert_eq!(
        server
            .seen_at("GET", "/alice/model.git/info/lfs/objects/x")
            .len(),
        1
    );
}

#[test]
fn batch_401_is_an_authentication_error_with_the_redacted_server_message() {
    let server = Server::start(|_| {
        Box::new(|_: &Seen, _: usize| {
            Reply::new(
                401,
                format!(r#"{{"message":"Invalid credentials in Authorization header {TOKEN}."}}"#),
            )
        })
    });
    let err = download(
        &remote_for(&server, true),
        vec![DownloadItem {
            pointer: pointer_of(b"x"),
            path: "a.bin".into(),
        }],
        &LfsStore::new(tempfile::tempdir().unwrap().path()),
        &fast_config(),
        &Monitor::new(),
    )
    .unwrap_err();
    assert!(matches!(err, LfsError::Authentication { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("Invalid credentials"), "{text}");
    assert!(text.contains("header ***. Check"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    // 401 is final once both schemes were refused: Bearer, then Basic, and no retries.
    let schemes: Vec<String> = server
        .seen()
        .iter()
        .map(|seen| seen.header("authorization").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(schemes, [bearer_auth(), basic_auth()]);
}

#[test]
fn a_server_refusing_bearer_gets_basic_for_the_batch_and_every_later_request() {
    let dir = tempfile::tempdir().unwrap();
    let content = b"weights for a basic-only server".to_vec();
    let pointer = pointer_of(&content);
    let source = dir.path().join("object");
    std::fs::write(&source, &content).unwrap();
    let server = Server::start(|base| {
        let base = base.to_owned();
        Box::new(move |request: &Seen, _: usize| {
            let lfs_api = request.target.starts_with("/alice/model.git/info/lfs/");
            if lfs_api && request.header("authorization") != Some(basic_auth().as_str()) {
                return Reply::new(401, r#"{"message":"Basic only"}"#);
            }
            if request.target.ends_with("/objects/batch") {
                let object = &request.json()["objects"][0];
                return Reply::json(serde_json::json!({
                    "objects": [{
                        "oid": object["oid"], "size": object["size"],
                        "actions": {
                            "upload": {"href": format!("{base}/storage/obj")},
                            "verify": {"href": format!("{base}/alice/model.git/info/lfs/verify")}
                        }
                    }]
                }));
            }
            Reply::new(200, "")
        })
    });
    let items = vec![UploadItem {
        pointer,
        source,
        path: "w.bin".into(),
    }];

    let summary = upload(
        &remote_for(&server, true),
        items,
        &fast_config(),
        &Monitor::new(),
    )
    .unwrap();

    assert_eq!(summary.transferred, 1);
    let batches = server.seen_at("POST", "/alice/model.git/info/lfs/objects/batch");
    let schemes: Vec<_> = batches
        .iter()
        .map(|seen| seen.header("authorization").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(schemes, [bearer_auth(), basic_auth()]);
    let verify = &server.seen_at("POST", "/alice/model.git/info/lfs/verify")[0];
    assert_eq!(verify.header("authorization"), Some(basic_auth().as_str()));
    assert_eq!(
        server.seen_at("PUT", "/storage/obj")[0].header("authorization"),
        None
    );
}

#[test]
fn batch_server_errors_are_retried_up_to_max_attempts() {
    let server = Server::start(|_| Box::new(|_: &Seen, _: usize| Reply::new(502, "bad gateway")));
    let config = TransferConfig {
        max_attempts: 3,
        ..fast_config()
    };
    let err = download(
        &remote_for(&server, false),
        vec![DownloadItem {
            pointer: pointer_of(b"x"),
            path: "a.bin".into(),
        }],
        &LfsStore::new(tempfile::tempdir().unwrap().path()),
        &config,
        &Monitor::new(),
    )
    .unwrap_err();
    assert!(matches!(err, LfsError::Server { status: 502, .. }), "{err}");
    assert_eq!(server.seen().len(), 3);
}

#[test]
fn per_object_error_names_the_repo_path() {
    let server = Server::start(|_| {
        Box::new(|request: &Seen, _: usize| {
            let object = &request.json()["objects"][0];
            Reply::json(serde_json::json!({"objects": [{
                "oid": object["oid"], "size": object["size"],
                "error": {"code": 404, "message": "Object does not exist"}
            }]}))
        })
    });
    let err = download(
        &remote_for(&server, false),
        vec![DownloadItem {
            pointer: pointer_of(b"x"),
            path: "models/missing.bin".into(),
        }],
        &LfsStore::new(tempfile::tempdir().unwrap().path()),
        &fast_config(),
        &Monitor::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, LfsError::ObjectRejected { code: 404, ref path, .. } if path == "models/missing.bin"),
        "{err}"
    );
    assert!(err.to_string().contains("Object does not exist"));
}

#[test]
fn a_cancelled_monitor_stops_before_any_request() {
    let server = Server::start(|_| Box::new(|_: &Seen, _: usize| Reply::new(500, "")));
    let monitor = Monitor::new();
    monitor.cancel();
    let err = download(
        &remote_for(&server, false),
        vec![DownloadItem {
            pointer: pointer_of(b"x"),
            path: "a.bin".into(),
        }],
        &LfsStore::new(tempfile::tempdir().unwrap().path()),
        &fast_config(),
        &monitor,
    )
    .unwrap_err();
    assert!(matches!(err, LfsError::Cancelled), "{err}");
    assert!(server.seen().is_empty());
}

#[test]
fn a_batch_endpoint_that_never_answers_fails_within_the_metadata_timeout() {
    use super::client::HttpClient;
    use crate::net::timeouts::{HttpTimeouts, Timeouts};

    // The kernel accepts the connection; nothing ever reads the request or answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!(
        "http://{}/alice/model.git/info/lfs",
        silent.local_addr().unwrap()
    );
    let mut remote = LfsRemote::new(&Url::parse(&endpoint).unwrap(), None).unwrap();
    let quick = Timeouts {
        connect: Duration::from_secs(2),
        read: Duration::from_millis(500),
    };
    let slow = Timeouts {
        connect: Duration::from_secs(60),
        read: Duration::from_secs(60),
    };
    remote.http = HttpClient::with_timeouts(HttpTimeouts {
        transfer: slow,
        metadata: quick,
    });
    let config = TransferConfig {
        max_attempts: 2,
        ..fast_config()
    };
    let started = std::time::Instant::now();
    let err = download(
        &remote,
        vec![DownloadItem {
            pointer: pointer_of(b"x"),
            path: "a.bin".into(),
        }],
        &LfsStore::new(tempfile::tempdir().unwrap().path()),
        &config,
        &Monitor::new(),
    )
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    assert!(matches!(err, LfsError::Network { .. }), "{err}");
    assert!(err.to_string().contains("timeout"), "{err}");
}
