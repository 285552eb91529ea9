//! AllFrame router on hyper: AllFrame's REST adapter does not serve HTTP (it is a stub), so this
//! serves it the way an AllFrame user does today: hyper 1.x accepts connections and every request
//! is dispatched through an `allframe_core::router::Router` handler by the name "METHOD:/path",
//! with the URL's query parameters passed as the handler's JSON arguments.
use std::convert::Infallible;
use std::sync::Arc;

use allframe_core::router::Router;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{header, service::service_fn, Request, Response, StatusCode};
use tfb::{json_body, queries_param, query_value, Db, HELLO};

#[derive(serde::Deserialize)]
struct QueryArgs {
    queries: Option<String>,
}

fn router(db: Arc<Db>) -> Router {
    let mut r = Router::new();
    r.register("GET:/plaintext", || async { HELLO.to_string() });
    r.register("GET:/json", || async { String::from_utf8(json_body()).unwrap() });
    let d = db.clone();
    r.register("GET:/db", move || {
        let d = d.clone();
        async move { serde_json::to_string(&d.db().await).unwrap() }
    });
    let d = db.clone();
    r.register_with_args("GET:/queries", move |a: QueryArgs| {
        let d = d.clone();
        async move { serde_json::to_string(&d.queries(queries_param(a.queries.as_deref())).await).unwrap() }
    });
    let d = db.clone();
    r.register_with_args("GET:/updates", move |a: QueryArgs| {
        let d = d.clone();
        async move { serde_json::to_string(&d.updates(queries_param(a.queries.as_deref())).await).unwrap() }
    });
    let d = db;
    r.register("GET:/fortunes", move || {
        let d = d.clone();
        async move { d.fortunes_html().await }
    });
    r
}

fn content_type(path: &str) -> &'static str {
    match path {
        "/plaintext" => "text/plain",
        "/fortunes" => "text/html; charset=utf-8",
        _ => "application/json",
    }
}

async fn handle(r: Arc<Router>, req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let name = format!("{}:{}", req.method(), req.uri().path());
    let args = serde_json::json!({ "queries": query_value(req.uri().query()) }).to_string();
    let (status, body) = match r.call_handler(&name, &args).await {
        Ok(body) => (StatusCode::OK, body),
        Err(e) if e.ends_with("not found") => (StatusCode::NOT_FOUND, e),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::SERVER, header::HeaderValue::from_static("allframe"));
    resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type(req.uri().path())));
    Ok(resp)
}

fn main() {
    let s = tfb::setup();
    tfb::runtime().block_on(async move {
        let db = Db::connect(&s.database_url, s.pool).await.expect("database");
        let r = Arc::new(router(db));
        tfb::serve_http1(&s.addr, "tfb-allframe", move || {
            let r = r.clone();
            service_fn(move |req| handle(r.clone(), req))
        })
        .await;
    });
}
