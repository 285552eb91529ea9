//! Axum, written the idiomatic way (as its TechEmpower entry does: a Router with State).
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
        let listener = tokio::net::TcpListener::bind(&s.addr).await.expect("bind");
        eprintln!("tfb-axum listening on {}", s.addr);
        axum::serve(listener, app).await.expect("serve");
    });
}
