//! matchit: the path matched, then the route's handler (a plain function returning its String) called.
use std::time::{Duration, Instant};

use micro_domain::{route_table, Library};

pub const OPS: &[&str] = &["route_path_10", "route_path_100"];

type Handler = Box<dyn Fn() -> String + Send + Sync>;

pub fn timed(op: &str, n: u64) -> Duration {
    assert!(OPS.contains(&op), "unknown operation {op:?}; valid: {OPS:?}");
    let size = route_table(op);
    let mut router: matchit::Router<Handler> = matchit::Router::new();
    for k in 0..size {
        router.insert(format!("/api/r{k}"), Box::new(move || format!("r{k}"))).unwrap();
    }
    let paths: Vec<String> = (0..size).map(|k| format!("/api/r{k}")).collect();
    let t = Instant::now();
    for i in 0..n {
        let m = router.at(&paths[i as usize % size]).unwrap();
        std::hint::black_box((m.value)());
    }
    t.elapsed()
}

pub fn library() -> Library {
    Library { name: "matchit", ops: OPS, timed, scenario: None, fill: None, project: None }
}
