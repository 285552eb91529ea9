//! AllFrame capability audit: one small probe per capability the PRD promises, run against the real
//! allframe-core 0.1.28 API (no mocks). Prints one JSON object per line on stdout:
//! {"capability","area","promise","outcome":"works"|"partly"|"not","api","evidence"}.
//! A capability that does not work is a finding, not a failure: the binary exits 0. A panic inside a
//! probe is caught (each probe runs in its own tokio task) and reported as outcome "not".

// `#[derive(allframe_macros::GrpcError)]` expands to `::allframe::tonic::Status` (the umbrella crate), and its
// documented override `#[grpc_error(crate = "...")]` is not a registered helper attribute in 0.1.28, so a
// user of allframe-core alone needs this alias to use the derive at all (see the unified_error probe).
extern crate allframe_core as allframe;

mod probes;

use std::{future::Future, pin::Pin, time::Duration};

/// What one probe observed.
pub struct Finding {
    pub outcome: &'static str,
    pub evidence: String,
}

pub fn works(evidence: impl Into<String>) -> Finding {
    Finding {
        outcome: "works",
        evidence: evidence.into(),
    }
}
pub fn partly(evidence: impl Into<String>) -> Finding {
    Finding {
        outcome: "partly",
        evidence: evidence.into(),
    }
}
pub fn not(evidence: impl Into<String>) -> Finding {
    Finding {
        outcome: "not",
        evidence: evidence.into(),
    }
}

pub type ProbeFuture = Pin<Box<dyn Future<Output = Finding> + Send>>;

/// A capability the PRD promises and the probe that checks it.
pub struct Probe {
    pub capability: &'static str,
    pub area: &'static str,
    pub promise: &'static str,
    pub api: &'static str,
    pub run: fn() -> ProbeFuture,
}

/// One output line, fields in the documented order.
#[derive(serde::Serialize)]
struct Line<'a> {
    capability: &'a str,
    area: &'a str,
    promise: &'a str,
    outcome: &'a str,
    api: &'a str,
    evidence: &'a str,
}

/// Longest a single probe may take before it is reported as "not" (hung).
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

async fn run_probe(p: &Probe) -> Finding {
    let handle = tokio::spawn((p.run)());
    match tokio::time::timeout(PROBE_TIMEOUT, handle).await {
        Ok(Ok(finding)) => finding,
        Ok(Err(join_err)) if join_err.is_panic() => not(format!(
            "probe panicked: {}",
            panic_text(&*join_err.into_panic())
        )),
        Ok(Err(join_err)) => not(format!("probe task failed: {join_err}")),
        Err(_) => not(format!(
            "probe did not finish within {:?} (hang)",
            PROBE_TIMEOUT
        )),
    }
}

fn main() {
    // Panics inside probes are reported in the JSON; keep stderr to one short line each.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("capability-audit: probe panic: {info}");
    }));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("capability-audit: cannot start tokio runtime: {e}");
            std::process::exit(2);
        }
    };
    rt.block_on(async {
        for p in probes::all() {
            let f = run_probe(&p).await;
            let line = Line {
                capability: p.capability,
                area: p.area,
                promise: p.promise,
                outcome: f.outcome,
                api: p.api,
                evidence: &f.evidence,
            };
            let line = serde_json::to_string(&line).expect("a Line always serialises");
            println!("{line}");
        }
    });
    // Background tasks (servers, projection subscribers) are dropped with the runtime.
    rt.shutdown_timeout(Duration::from_secs(2));
}
