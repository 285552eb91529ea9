//! Axum, written the idiomatic way: a Router with State. Like Axum's TechEmpower entry, the Router
//! is served by hyper's HTTP/1 connection builder with pipeline flushing (what `axum::serve` does not
//! expose: with it, pipelined plaintext ran at 23k req/s with the server core 89 % idle), the same
//! accept loop (`tfb::serve_http1`) the Hyper and AllFrame servers use.
use std::collections::HashMap;
use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::header,
    response::{Html, IntoResponse},
    routing::get,
    Json, Router,
};
use tfb::{queries_param, Db, Message, HELLO};

type Params = Query<HashMap<String, String>>;

fn q(p: &Params) -> usize {
    queries_param(p.get("queries").or_else(|| p.get("q")).map(String::as_str))
}

fn main() {
    let s = tfb::setup();
    tfb::runtime().block_on(async move {
        let db: Arc<Db> = Db::connect(&s.database_url, s.pool).await.expect("database");
        let app = Router::new()
            .route("/plaintext", get(|| async { ([(header::CONTENT_TYPE, "text/plain")], HELLO) }))
            .route("/json", get(|| async { Json(Message { message: HELLO }) }))
            .route("/db", get(|State(db): State<Arc<Db>>| async move { Json(db.db().await) }))
            .route("/queries", get(|State(db): State<Arc<Db>>, p: Params| async move { Json(db.queries(q(&p)).await) }))
            .route("/updates", get(|State(db): State<Arc<Db>>, p: Params| async move { Json(db.updates(q(&p)).await) }))
            .route("/fortunes", get(|State(db): State<Arc<Db>>| async move { Html(db.fortunes_html().await) }))
            .layer(axum::middleware::map_response(|mut r: axum::response::Response| async move {
                r.headers_mut().insert(header::SERVER, header::HeaderValue::from_static("axum"));
                r.into_response()
            }))
            .with_state(db);
        tfb::serve_http1(&s.addr, "tfb-axum", move || hyper_util::service::TowerToHyperService::new(app.clone())).await;
    });
}
