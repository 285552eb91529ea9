//! What AllFrame's saga orchestrator is compared with: no peer orchestrates sagas with per-step timeouts
//! and compensation, so the baseline is the loop a user would write by hand with the same steps, the same
//! 30 s timeout per step (tokio::time::timeout, as AllFrame's default) and compensation in reverse.
use std::time::{Duration, Instant};

use micro_domain::{runtime, Library};

micro_domain::domain!();

const STEP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy)]
enum SagaStep {
    Reserve,
    Charge { fail: bool },
}

impl SagaStep {
    async fn execute(self) -> Result<Vec<OrderEvent>, String> {
        match self {
            SagaStep::Reserve => Ok(vec![placed("reserve", 1)]),
            SagaStep::Charge { fail: true } => Err("card declined".into()),
            SagaStep::Charge { fail: false } => Ok(vec![placed("charge", 2)]),
        }
    }
    async fn compensate(self) -> Result<Vec<OrderEvent>, String> {
        Ok(vec![])
    }
}

/// Steps in order, each under its timeout; on a failure, the completed steps compensated in reverse.
async fn run_saga(steps: &[SagaStep]) -> Result<Vec<OrderEvent>, String> {
    let mut events = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let failure = match tokio::time::timeout(STEP_TIMEOUT, step.execute()).await {
            Ok(Ok(evs)) => {
                events.extend(evs);
                continue;
            }
            Ok(Err(e)) => e,
            Err(_) => "timed out".to_string(),
        };
        for done in steps[..i].iter().rev() {
            let _ = tokio::time::timeout(STEP_TIMEOUT, done.compensate()).await;
        }
        return Err(format!("step {i} failed: {failure}"));
    }
    Ok(events)
}

pub const OPS: &[&str] = &["saga_2step", "saga_compensation"];

pub fn timed(op: &str, n: u64) -> Duration {
    let fail = match op {
        "saga_2step" => false,
        "saga_compensation" => true,
        other => panic!("unknown operation {other:?}; valid: {OPS:?}"),
    };
    runtime().block_on(async {
        let steps = [SagaStep::Reserve, SagaStep::Charge { fail }];
        let t = Instant::now();
        for _ in 0..n {
            assert_eq!(std::hint::black_box(run_saga(&steps).await).is_err(), fail, "saga outcome");
        }
        t.elapsed()
    })
}

pub fn library() -> Library {
    Library { name: "handwritten", ops: OPS, timed, scenario: None, fill: None, project: None }
}
