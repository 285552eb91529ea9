//! The floor for AllFrame's typed JSON handlers: parse the same text into the same type and write it back.
use std::time::{Duration, Instant};

use micro_domain::{payload, Library, Order, Small};

pub const OPS: &[&str] = &["json_small", "json_order"];

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(body: &str, n: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        let v: T = serde_json::from_str(std::hint::black_box(body)).unwrap();
        std::hint::black_box(serde_json::to_string(&v).unwrap());
    }
    t.elapsed()
}

pub fn timed(op: &str, n: u64) -> Duration {
    let body = payload(op);
    match op {
        "json_small" => round_trip::<Small>(&body, n),
        "json_order" => round_trip::<Order>(&body, n),
        other => panic!("unknown operation {other:?}; valid: {OPS:?}"),
    }
}

pub fn library() -> Library {
    Library { name: "serde_json", ops: OPS, timed, scenario: None, fill: None, project: None }
}
