//! axum's `Router`: one request through routing and the handler, the response built (not sent).
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, Uri};
use axum::routing::get;
use micro_domain::{route_table, runtime, Library};
use tower::ServiceExt;

pub const OPS: &[&str] = &["route_path_10", "route_path_100"];

pub fn timed(op: &str, n: u64) -> Duration {
    assert!(OPS.contains(&op), "unknown operation {op:?}; valid: {OPS:?}");
    let size = route_table(op);
    let mut router = axum::Router::new();
    for k in 0..size {
        router = router.route(&format!("/api/r{k}"), get(move || async move { format!("r{k}") }));
    }
    let uris: Vec<Uri> = (0..size).map(|k| format!("/api/r{k}").parse().unwrap()).collect();
    runtime().block_on(async {
        let t = Instant::now();
        for i in 0..n {
            let req = Request::get(uris[i as usize % size].clone()).body(Body::empty()).unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            debug_assert_eq!(res.status(), 200);
            std::hint::black_box(res);
        }
        t.elapsed()
    })
}

pub fn library() -> Library {
    Library { name: "axum", ops: OPS, timed, scenario: None, fill: None, project: None }
}
