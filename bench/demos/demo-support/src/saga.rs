//! A saga endpoint that holds up when its client leaves (feature `cqrs`): the handler [`spawn`]s the
//! command on a `TaskTracker`, so AllFrame's `SagaOrchestrator` runs to completion or compensation even
//! if hyper drops the request; [`run`] turns AllFrame's `SagaError` into a typed [`Failure`] (the step,
//! the cause the step itself recorded in its [`Blame`], and the message), from which the demo writes its
//! one outcome event; [`answer`] is the HTTP answer; [`serve`] is `main`, waiting for those tasks at
//! shutdown.
use std::{
    future::Future,
    sync::{Arc, Mutex},
};

use allframe_core::cqrs::saga_orchestrator::SagaError;
use allframe_core::cqrs::{Event, SagaDefinition, SagaOrchestrator};
use axum::{http::StatusCode, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_util::task::TaskTracker;

/// A demo's cause of failure, with the two causes no step records itself.
pub trait Cause: Copy + std::fmt::Display {
    /// A step ran past its `timeout_duration`.
    const TIMEOUT: Self;
    /// A step failed without saying why.
    const INTERNAL: Self;
}

/// Why a step failed, recorded by the step (AllFrame's `SagaError` carries only its text).
#[derive(Clone)]
pub struct Blame<C>(Arc<Mutex<Option<C>>>);

impl<C> Default for Blame<C> {
    fn default() -> Self {
        Blame(Arc::new(Mutex::new(None)))
    }
}

impl<C: Copy> Blame<C> {
    /// Records `cause` (the first one recorded stays) and returns `reason`, the step's `Err`.
    pub fn fail(&self, cause: C, reason: impl Into<String>) -> String {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(cause);
        reason.into()
    }

    /// Records `cause` and returns its text, the step's `Err`.
    pub fn failed(&self, cause: C) -> String
    where
        C: std::fmt::Display,
    {
        self.fail(cause, cause.to_string())
    }

    fn take(&self) -> Option<C> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// How a saga failed, as its outcome event stores it: `{"step", "kind", "reason"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure<C> {
    pub step: String,
    pub kind: C,
    pub reason: String,
}

impl<C: Cause> Failure<C> {
    /// A failure outside the saga's steps (e.g. a restart), its reason the cause's text.
    pub fn new(step: &str, kind: C) -> Self {
        let reason = kind.to_string();
        let step = step.into();
        Failure { step, kind, reason }
    }
}

impl<C: Serialize> Failure<C> {
    /// The answer of the saga that failed: the JSON error shape (`error` the reason, `code` the
    /// kind), the saga's `id` under `key`, and its `events`.
    pub fn answer(
        &self,
        status: StatusCode,
        key: &str,
        id: &str,
        events: impl Serialize,
    ) -> (StatusCode, Json<Value>) {
        let body = json!({key: id, "error": self.reason, "code": self.kind});
        answer(status, body, events)
    }
}

/// Runs `saga` (whose steps are named `steps`, in order): its events, and how it failed, if it did. A
/// timed-out step's cause is [`Cause::TIMEOUT`]; a failed step's is the one it recorded in `blame`.
pub async fn run<E: Event, C: Cause>(
    sagas: &SagaOrchestrator<E>,
    saga: SagaDefinition<E>,
    steps: &[&str],
    blame: &Blame<C>,
) -> (Vec<E>, Option<Failure<C>>) {
    let error = match sagas.execute(saga).await {
        Ok(events) => return (events, None),
        Err(error) => error,
    };
    let step = match &error {
        SagaError::Timeout { step_index, .. } => steps[*step_index].into(),
        SagaError::StepFailed { step_name, .. } => step_name.clone(),
        _ => String::new(),
    };
    let kind = match error {
        SagaError::Timeout { .. } => C::TIMEOUT,
        _ => blame.take().unwrap_or(C::INTERNAL),
    };
    let reason = error.to_string();
    (Vec::new(), Some(Failure { step, kind, reason }))
}

/// Runs `work` as a task of `tasks`: it runs to its end even when the request that awaits it is dropped.
pub async fn spawn<T: Send + 'static>(
    tasks: &TaskTracker,
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    tasks.spawn(work).await.map_err(|e| e.to_string())
}

/// A saga's answer: `body` plus its `events`, and for an error status also `status` (with `error`
/// and `code` in `body`, the JSON error shape).
pub fn answer(
    status: StatusCode,
    mut body: Value,
    events: impl Serialize,
) -> (StatusCode, Json<Value>) {
    if status.is_client_error() || status.is_server_error() {
        body["status"] = status.as_u16().into();
    }
    body["events"] = json!(events);
    (status, Json(body))
}

/// A saga demo's `main`: builds the app with a `TaskTracker` for its sagas, [`crate::serve`]s it on
/// [`crate::addr`], and after SIGTERM or Ctrl-C waits for the sagas whose clients went away.
pub async fn serve<F, A>(app: F) -> Result<(), Box<dyn std::error::Error>>
where
    F: FnOnce(TaskTracker) -> A,
    A: Future<Output = Result<Router, String>>,
{
    let tasks = TaskTracker::new();
    let router = app(tasks.clone()).await?;
    crate::serve(router, &crate::addr()).await?;
    tasks.close();
    tasks.wait().await;
    Ok(())
}
