//! The test harness the demos share (feature `testing`): the real app on an ephemeral port, a
//! malformed-input sweep over the routes of an OpenAPI document, a request body streamed over a raw TCP
//! connection, the RSS of this process, a seeded random generator, and [`report`], which leaves a test's
//! figures in `$DEMO_REPORT_DIR/<demo>.<test>.json` for the lab's demos page.
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::oneshot,
    task::JoinHandle,
};

use crate::{error::ErrorBody, jwt::JwtConfig, BODY_LIMIT};

/// The app served on `127.0.0.1:0` under the same [`layers`](crate::layers) as [`serve`](crate::serve).
pub struct TestServer {
    pub base: String,
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

pub async fn start(router: Router) -> TestServer {
    start_with_limit(router, BODY_LIMIT).await
}

pub async fn start_with_limit(router: Router, body_limit: usize) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("local address");
    let (tx, rx) = oneshot::channel::<()>();
    let app = crate::layers(router, body_limit);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                // Dropping the `TestServer` leaves the server running; `stop` shuts it down.
                if rx.await.is_err() {
                    std::future::pending::<()>().await;
                }
            })
            .await
            .expect("the test server runs");
    });
    TestServer {
        base: format!("http://{addr}"),
        addr,
        shutdown: Some(tx),
        task,
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Graceful shutdown: stops accepting, waits for the open requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Resident set size of this process, in bytes (`VmRSS` in `/proc/self/status`; 0 where unavailable).
pub fn rss_bytes() -> u64 {
    proc_status_kb("VmRSS:") * 1024
}

/// Peak resident set size of this process, in bytes (`VmHWM`).
pub fn peak_rss_bytes() -> u64 {
    proc_status_kb("VmHWM:") * 1024
}

fn proc_status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// SplitMix64: a seeded generator, so a failing run can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Writes `$DEMO_REPORT_DIR/<demo>.<test>.json` (through a temporary file and a rename) when
/// `DEMO_REPORT_DIR` is set: `{"demo": ..., "test": ..., "cases": N, "failures": N, ...figures}`.
/// `figures` must be an object with `cases` and `failures` (numbers). Returns the path written.
pub fn report(demo: &str, test: &str, figures: Value) -> Option<PathBuf> {
    let Value::Object(figures) = figures else {
        panic!("report figures must be a JSON object: {figures}");
    };
    for key in ["cases", "failures"] {
        assert!(
            figures.get(key).is_some_and(Value::is_u64),
            "report figures need a numeric {key:?}"
        );
    }
    let mut doc = serde_json::Map::new();
    doc.insert("demo".into(), demo.into());
    doc.insert("test".into(), test.into());
    doc.extend(figures);
    let dir = PathBuf::from(std::env::var_os("DEMO_REPORT_DIR")?);
    std::fs::create_dir_all(&dir).expect("create DEMO_REPORT_DIR");
    let path = dir.join(format!("{demo}.{test}.json"));
    let tmp = dir.join(format!(".{demo}.{test}.json.{}.tmp", std::process::id()));
    let text = serde_json::to_string_pretty(&Value::Object(doc)).expect("serialise report");
    std::fs::write(&tmp, text).expect("write report");
    std::fs::rename(&tmp, &path).expect("rename report");
    Some(path)
}

/// One operation of an OpenAPI document.
#[derive(Clone, Debug)]
pub struct Route {
    /// Upper case, e.g. `POST`.
    pub method: String,
    /// The path template, e.g. `/accounts/{id}`.
    pub path: String,
    /// The JSON schema of the request body, if the operation takes one.
    pub body: Option<Value>,
    /// The operation needs a bearer token (it has `security` in the document, or the caller set it).
    pub auth: bool,
    /// The documented response statuses (keys of `responses`).
    pub responses: Vec<String>,
}

/// Every operation of an OpenAPI 3 document.
pub fn routes_from_openapi(doc: &Value) -> Vec<Route> {
    let mut routes = Vec::new();
    let global_security = doc
        .get("security")
        .is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty()));
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
            let security = op
                .get("security")
                .and_then(Value::as_array)
                .map(|a| !a.is_empty());
            routes.push(Route {
                method: method.to_uppercase(),
                path: path.clone(),
                body: (!body.is_null()).then_some(body),
                auth: security.unwrap_or(global_security),
                responses: op["responses"]
                    .as_object()
                    .map(|r| r.keys().cloned().collect())
                    .unwrap_or_default(),
            });
        }
    }
    routes
}

pub use crate::openapi::path_params;

/// The template with every parameter replaced by `value(name)`.
pub fn fill_path(template: &str, value: impl Fn(&str) -> String) -> String {
    template
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => value(name),
                None => s.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// A value that satisfies the type (not necessarily every constraint) of a JSON schema.
pub fn sample(schema: &Value) -> Value {
    match schema["type"].as_str() {
        Some("object") => {
            let props = schema["properties"].as_object();
            Value::Object(
                props
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), sample(v)))
                    .collect(),
            )
        }
        Some("integer") => schema.get("minimum").cloned().unwrap_or(json!(1)),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        _ => json!("sweep"),
    }
}

/// What the sweep found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SweepReport {
    pub cases: usize,
    /// Answers with a 5xx status.
    pub server_errors: usize,
    /// Requests that got no HTTP answer at all.
    pub dropped: usize,
    /// 4xx answers whose body is not the JSON error shape (or whose `status` is not the HTTP status).
    pub non_json_errors: usize,
    /// Bad tokens a protected route accepted.
    pub accepted_bad_tokens: usize,
    /// Answers whose status the route's `responses` do not list (counted when `Sweep::documented_only`).
    pub undocumented_statuses: usize,
    /// One line per failed case.
    pub failures: Vec<String>,
}

impl SweepReport {
    /// `{"cases", "failures", "server_errors", "dropped", "non_json_errors", "accepted_bad_tokens",
    /// "failure_examples"}`, for [`report`].
    pub fn figures(&self) -> Value {
        json!({
            "cases": self.cases,
            "failures": self.failures.len(),
            "server_errors": self.server_errors,
            "dropped": self.dropped,
            "non_json_errors": self.non_json_errors,
            "accepted_bad_tokens": self.accepted_bad_tokens,
            "undocumented_statuses": self.undocumented_statuses,
            "failure_examples": self.failures.iter().take(20).collect::<Vec<_>>(),
        })
    }

    fn record(
        &mut self,
        label: &str,
        answer: Result<(u16, Vec<u8>), String>,
        bad_token: bool,
        documented: Option<&[String]>,
    ) {
        self.cases += 1;
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                self.dropped += 1;
                self.failures.push(format!("{label}: no answer ({e})"));
                return;
            }
        };
        let text = String::from_utf8_lossy(&body);
        let brief: String = text.chars().take(160).collect();
        if documented.is_some_and(|d| !d.contains(&status.to_string())) {
            self.undocumented_statuses += 1;
            self.failures
                .push(format!("{label}: {status} is not documented: {brief}"));
        }
        if status >= 500 {
            self.server_errors += 1;
            self.failures.push(format!("{label}: {status} {brief}"));
        } else if status >= 400 {
            let parsed: Option<Value> = serde_json::from_slice(&body).ok();
            let ok = parsed
                .as_ref()
                .is_some_and(|v| ErrorBody::matches(v) && v["status"] == json!(status));
            if !ok {
                self.non_json_errors += 1;
                self.failures.push(format!(
                    "{label}: {status} not the JSON error shape: {brief}"
                ));
            }
        } else if bad_token {
            self.accepted_bad_tokens += 1;
            self.failures
                .push(format!("{label}: {status} accepted a bad token"));
        }
    }
}

/// Forged, expired, wrong-audience, malformed and non-bearer `Authorization` values for `jwt`'s issuer and
/// audience, labelled.
pub fn bad_tokens(jwt: &JwtConfig) -> Vec<(String, String)> {
    let forger = JwtConfig::new(b"not the server's secret, but 32+ bytes long")
        .expect("a valid secret")
        .with_issuer(jwt.issuer())
        .with_audience(jwt.audience());
    let hour = Duration::from_secs(3600);
    let forged = forger.mint("mallory", "admin", hour).expect("mint");
    let expired = jwt.mint_expiring_at("mallory", "admin", 1).expect("mint");
    let other_audience = jwt
        .clone()
        .with_audience("some-other-api")
        .mint("mallory", "admin", hour)
        .expect("mint");
    vec![
        ("forged_token".into(), format!("Bearer {forged}")),
        ("expired_token".into(), format!("Bearer {expired}")),
        (
            "wrong_audience_token".into(),
            format!("Bearer {other_audience}"),
        ),
        ("garbage_token".into(), "Bearer not.a.jwt".into()),
        ("basic_auth".into(), "Basic YWRtaW46YWRtaW4=".into()),
    ]
}

/// A malformed-input sweep over `routes` of the server at `server`.
pub struct Sweep<'a> {
    pub server: &'a TestServer,
    pub routes: Vec<Route>,
    /// Value of a path parameter in cases that are not about that parameter (default: `"sweep"`).
    pub param: Box<dyn Fn(&str) -> String + 'a>,
    /// `Authorization` values tried on routes with `auth` (see [`bad_tokens`]); also tried: none at all.
    pub bad_tokens: Vec<(String, String)>,
    /// A valid `Authorization` value sent with the body cases of `auth` routes, so that they reach the body.
    pub good_token: Option<String>,
    /// Also count as a failure every status the route's documented `responses` do not list.
    pub documented_only: bool,
}

impl<'a> Sweep<'a> {
    pub fn new(server: &'a TestServer, routes: Vec<Route>) -> Self {
        Sweep {
            server,
            routes,
            param: Box::new(|_| "sweep".into()),
            bad_tokens: Vec::new(),
            good_token: None,
            documented_only: false,
        }
    }

    /// Tries, on every route: invalid UTF-8 and 8 KiB values in each path parameter, a malformed query
    /// string; on routes with a body: no body, wrong content type, empty, truncated and non-UTF-8 JSON,
    /// wrong top-level types, a wrong type and edge numbers in each field, missing fields, an unknown field,
    /// and a body over the limit (raw TCP); on `auth` routes: no token and each of `bad_tokens`.
    pub async fn run(&self) -> SweepReport {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("HTTP client");
        let mut report = SweepReport::default();
        for route in &self.routes {
            let documented = self.documented_only.then_some(route.responses.as_slice());
            let concrete = fill_path(&route.path, &self.param);
            for param in path_params(&route.path) {
                for (case, value) in [
                    ("invalid_utf8", "%FF".to_string()),
                    ("long", "x".repeat(8192)),
                ] {
                    let path = fill_path(&route.path, |p| {
                        if p == param {
                            value.clone()
                        } else {
                            (self.param)(p)
                        }
                    });
                    let label = format!("{} {} [{case} {{{param}}}]", route.method, route.path);
                    let body = route
                        .body
                        .as_ref()
                        .map(|s| sample(s).to_string().into_bytes());
                    let answer = self
                        .send(&client, route, &path, Some("application/json"), body)
                        .await;
                    report.record(&label, answer, false, documented);
                }
            }
            let label = format!("{} {} [malformed query]", route.method, route.path);
            let path = format!("{concrete}?%FF=%FE&limit=-1&a[=b");
            let body = route
                .body
                .as_ref()
                .map(|s| sample(s).to_string().into_bytes());
            let answer = self
                .send(&client, route, &path, Some("application/json"), body)
                .await;
            report.record(&label, answer, false, documented);
            if let Some(schema) = &route.body {
                for (case, content_type, body) in body_cases(schema) {
                    let label = format!("{} {} [{case}]", route.method, route.path);
                    let answer = self
                        .send(&client, route, &concrete, content_type, Some(body))
                        .await;
                    report.record(&label, answer, false, documented);
                }
                let label = format!("{} {} [body over the limit]", route.method, route.path);
                let total = (BODY_LIMIT * 2) as u64;
                let answer = send_body(
                    self.server.addr,
                    &route.method,
                    &concrete,
                    total,
                    false,
                    &[],
                )
                .await
                .map(|a| (a.status, a.body));
                report.record(&label, answer, false, documented);
            }
            if route.auth {
                let body = route
                    .body
                    .as_ref()
                    .map(|s| sample(s).to_string().into_bytes());
                let label = format!("{} {} [no token]", route.method, route.path);
                let answer = self
                    .send_with(
                        &client,
                        route,
                        &concrete,
                        Some("application/json"),
                        body.clone(),
                        None,
                    )
                    .await;
                report.record(&label, answer, true, documented);
                for (case, header) in &self.bad_tokens {
                    let label = format!("{} {} [{case}]", route.method, route.path);
                    let answer = self
                        .send_with(
                            &client,
                            route,
                            &concrete,
                            Some("application/json"),
                            body.clone(),
                            Some(header),
                        )
                        .await;
                    report.record(&label, answer, true, documented);
                }
            }
        }
        report
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        route: &Route,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), String> {
        let token = if route.auth {
            self.good_token.as_deref()
        } else {
            None
        };
        self.send_with(client, route, path, content_type, body, token)
            .await
    }

    async fn send_with(
        &self,
        client: &reqwest::Client,
        route: &Route,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
        authorization: Option<&str>,
    ) -> Result<(u16, Vec<u8>), String> {
        let method =
            reqwest::Method::from_bytes(route.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut req = client.request(method, self.server.url(path));
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        if let Some(authorization) = authorization {
            req = req.header("authorization", authorization);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().await.map_err(|e| format!("{e:?}"))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| format!("{e:?}"))?;
        Ok((status, body.to_vec()))
    }
}

/// The body cases of a route whose body has `schema`: (label, content type, bytes).
fn body_cases(schema: &Value) -> Vec<(String, Option<&'static str>, Vec<u8>)> {
    const JSON: Option<&str> = Some("application/json");
    let valid = sample(schema);
    let mut cases: Vec<(String, Option<&'static str>, Vec<u8>)> = vec![
        (
            "no content type".into(),
            None,
            valid.to_string().into_bytes(),
        ),
        (
            "text/plain body".into(),
            Some("text/plain"),
            valid.to_string().into_bytes(),
        ),
        (
            "form body".into(),
            Some("application/x-www-form-urlencoded"),
            b"a=1&b=2".to_vec(),
        ),
        ("empty body".into(), JSON, Vec::new()),
        ("truncated JSON".into(), JSON, {
            let text = valid.to_string();
            text.as_bytes()[..text.len() / 2].to_vec()
        }),
        (
            "invalid UTF-8 JSON".into(),
            JSON,
            b"{\"a\": \"\xff\xfe\"}".to_vec(),
        ),
        ("JSON array".into(), JSON, b"[]".to_vec()),
        ("JSON string".into(), JSON, b"\"sweep\"".to_vec()),
        ("JSON null".into(), JSON, b"null".to_vec()),
        ("missing fields".into(), JSON, b"{}".to_vec()),
        ("deeply nested JSON".into(), JSON, {
            let depth = 10_000;
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
        }),
    ];
    let mut unknown = valid.clone();
    unknown["sweep_unknown_field"] = json!({"nested": [1, 2, 3]});
    cases.push((
        "unknown field".into(),
        JSON,
        unknown.to_string().into_bytes(),
    ));
    for (field, field_schema) in schema["properties"].as_object().into_iter().flatten() {
        let wrong: Vec<Value> = match field_schema["type"].as_str() {
            Some("integer") | Some("number") => vec![
                json!("1"),
                json!(-1),
                json!(1.5),
                json!(u64::MAX),
                json!(i64::MIN),
                serde_json::from_str("18446744073709551616").unwrap_or(json!(1e20)),
                json!(1e308),
                Value::Null,
            ],
            Some("boolean") => vec![json!("yes"), json!(1), Value::Null],
            Some("string") => vec![
                json!(12345),
                json!(["a"]),
                Value::Null,
                json!("\u{0000}"),
                json!("x".repeat(100_000)),
            ],
            _ => vec![json!(12345), Value::Null],
        };
        for value in wrong {
            let mut body = valid.clone();
            let shown: String = value.to_string().chars().take(24).collect();
            body[field.as_str()] = value;
            cases.push((
                format!("{field} = {shown}"),
                JSON,
                body.to_string().into_bytes(),
            ));
        }
    }
    cases
}

/// An HTTP answer read off a raw connection.
#[derive(Clone, Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    /// Body bytes this side had written when the answer came (or the connection ended).
    pub bytes_sent: u64,
}

impl RawAnswer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Sends a request with a `total`-byte body of `a`s over a raw TCP connection, 64 KiB at a time (never
/// held in memory at once), chunked or with a declared `content-length`, reading the answer while it
/// writes. `Err` if no complete HTTP answer came.
pub async fn send_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    total: u64,
    chunked: bool,
    headers: &[(&str, &str)],
) -> Result<RawAnswer, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut read, mut write) = stream.into_split();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n");
    if chunked {
        head.push_str("transfer-encoding: chunked\r\n");
    } else {
        head.push_str(&format!("content-length: {total}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        let chunk = vec![b'a'; 64 * 1024];
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if chunked {
                write.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            }
            write.write_all(&chunk[..n]).await?;
            if chunked {
                write.write_all(b"\r\n").await?;
            }
            left -= n as u64;
            counter.fetch_add(n as u64, Ordering::Relaxed);
        }
        if chunked {
            write.write_all(b"0\r\n\r\n").await?;
        }
        write.flush().await?;
        Ok::<_, std::io::Error>(write)
    });
    let mut buf = Vec::new();
    let mut piece = vec![0u8; 16 * 1024];
    let answer = loop {
        if let Some(answer) = parse_answer(&buf) {
            break Some(answer);
        }
        match tokio::time::timeout(Duration::from_secs(60), read.read(&mut piece)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break parse_answer(&buf),
            Ok(Ok(n)) => buf.extend_from_slice(&piece[..n]),
        }
    };
    writer.abort();
    let bytes_sent = sent.load(Ordering::Relaxed);
    match answer {
        Some((status, body)) => Ok(RawAnswer {
            status,
            body,
            bytes_sent,
        }),
        None => Err(format!(
            "connection ended without a complete answer after {bytes_sent} body bytes: {:?}",
            String::from_utf8_lossy(&buf[..buf.len().min(200)])
        )),
    }
}

/// (status, body) of a complete HTTP/1.1 answer with a `content-length` body.
fn parse_answer(buf: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let body = buf.get(end + 4..end + 4 + length)?;
    Some((status, body.to_vec()))
}

/// What [`huge_body`] measured.
#[derive(Clone, Debug, Serialize)]
pub struct HugeBody {
    pub status: Option<u16>,
    pub error_body: Option<Value>,
    pub body_bytes_offered: u64,
    pub body_bytes_sent: u64,
    pub rss_before_bytes: u64,
    pub rss_peak_bytes: u64,
    pub rss_growth_bytes: u64,
}

/// Streams a `total`-byte chunked body to `method path` (so the server has to read it to know its size)
/// while sampling this process's RSS every 5 ms (the server under test runs in this process).
pub async fn huge_body(
    server: &TestServer,
    method: &str,
    path: &str,
    total: u64,
    headers: &[(&str, &str)],
) -> HugeBody {
    let before = rss_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let sampler_peak = peak.clone();
    let sampler = tokio::spawn(async move {
        loop {
            sampler_peak.fetch_max(rss_bytes(), Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let answer = send_body(server.addr, method, path, total, true, headers).await;
    peak.fetch_max(rss_bytes(), Ordering::Relaxed);
    sampler.abort();
    let peak = peak.load(Ordering::Relaxed);
    HugeBody {
        status: answer.as_ref().ok().map(|a| a.status),
        error_body: answer.as_ref().ok().and_then(RawAnswer::json),
        body_bytes_offered: total,
        body_bytes_sent: answer.as_ref().map_or(0, |a| a.bytes_sent),
        rss_before_bytes: before,
        rss_peak_bytes: peak,
        rss_growth_bytes: peak.saturating_sub(before),
    }
}

/// The body of a [`Case`].
pub enum CaseBody {
    None,
    Json(Value),
    /// Content type and bytes.
    Raw(&'static str, &'static str),
    /// A declared `content-length` over [`BODY_LIMIT`], sent over a raw connection.
    OverLimit,
}

/// One request of a contract test: `method template` of the OpenAPI document, asked at `path`,
/// expected to answer `expected`.
pub struct Case {
    pub method: &'static str,
    pub template: &'static str,
    pub path: String,
    pub body: CaseBody,
    pub expected: u16,
}

pub fn case(
    method: &'static str,
    template: &'static str,
    path: &str,
    body: CaseBody,
    expected: u16,
) -> Case {
    Case {
        method,
        template,
        path: path.into(),
        body,
        expected,
    }
}

/// Runs `cases` in order against `server` and compares them with `doc`, its OpenAPI document: each
/// answer has the expected status, that status is documented for its operation, every error answer
/// has the [`ErrorBody`] shape the document references, and every documented status of every
/// operation in the document was produced by some case. Returns one line per failure.
pub async fn check_contract(server: &TestServer, doc: &Value, cases: &[Case]) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut produced: std::collections::BTreeMap<
        (String, String),
        std::collections::BTreeSet<String>,
    > = Default::default();
    let mut failures = Vec::new();
    for c in cases {
        let documented = &doc["paths"][c.template][c.method.to_lowercase()]["responses"];
        let answer = match &c.body {
            CaseBody::OverLimit => {
                let total = (BODY_LIMIT + 1) as u64;
                send_body(server.addr, c.method, &c.path, total, false, &[])
                    .await
                    .map(|a| (a.status, a.json().unwrap_or(Value::Null)))
            }
            body => {
                let method = reqwest::Method::from_bytes(c.method.as_bytes()).expect("a method");
                let mut req = client.request(method, server.url(&c.path));
                req = match body {
                    CaseBody::Json(v) => req.json(v),
                    CaseBody::Raw(content_type, text) => {
                        req.header("content-type", *content_type).body(*text)
                    }
                    _ => req,
                };
                match req.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        Ok((status, r.json().await.unwrap_or(Value::Null)))
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                failures.push(format!("{} {}: no answer: {e}", c.method, c.path));
                continue;
            }
        };
        let key = (c.method.to_lowercase(), c.template.to_string());
        produced.entry(key).or_default().insert(status.to_string());
        if status != c.expected {
            failures.push(format!(
                "{} {}: expected {}, got {status} {body}",
                c.method, c.path, c.expected
            ));
        }
        let response = &documented[status.to_string()];
        if response.is_null() {
            failures.push(format!(
                "{} {}: {status} is not documented",
                c.method, c.template
            ));
        }
        let schema = &response["content"]["application/json"]["schema"]["$ref"];
        let error_shape = ErrorBody::matches(&body) && body["status"] == json!(status);
        if status >= 400 && (!error_shape || schema != "#/components/schemas/ErrorBody") {
            failures.push(format!(
                "{} {}: {status} error body {body}",
                c.method, c.path
            ));
        }
    }
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let documented: std::collections::BTreeSet<String> = operation["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone())
                .collect();
            let seen = produced
                .get(&(method.clone(), path.clone()))
                .cloned()
                .unwrap_or_default();
            if documented != seen {
                failures.push(format!(
                    "{method} {path}: documented {documented:?}, produced {seen:?}"
                ));
            }
        }
    }
    failures
}
