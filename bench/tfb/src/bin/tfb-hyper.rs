//! Raw hyper 1.x: the ceiling a framework built on hyper can approach on this machine.
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{header, service::service_fn, Request, Response, StatusCode};
use tfb::{json_body, queries_param, query_value, Db, HELLO};

fn reply(ct: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    r.headers_mut().insert(header::SERVER, header::HeaderValue::from_static("hyper"));
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(ct));
    r
}

async fn handle(db: Arc<Db>, req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let q = || queries_param(query_value(req.uri().query()));
    Ok(match req.uri().path() {
        "/plaintext" => reply("text/plain", HELLO),
        "/json" => reply("application/json", json_body()),
        "/db" => reply("application/json", serde_json::to_vec(&db.db().await).unwrap()),
        "/queries" => reply("application/json", serde_json::to_vec(&db.queries(q()).await).unwrap()),
        "/updates" => reply("application/json", serde_json::to_vec(&db.updates(q()).await).unwrap()),
        "/fortunes" => reply("text/html; charset=utf-8", db.fortunes_html().await),
        _ => {
            let mut r = reply("text/plain", "not found");
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    })
}

fn main() {
    let s = tfb::setup();
    tfb::runtime().block_on(async move {
        let db = Db::connect(&s.database_url, s.pool).await.expect("database");
        tfb::serve_http1(&s.addr, "tfb-hyper", move || {
            let db = db.clone();
            service_fn(move |req| handle(db.clone(), req))
        })
        .await;
    });
}
