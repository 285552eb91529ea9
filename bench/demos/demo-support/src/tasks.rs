//! Writes that outlive a cancelled future. AllFrame's saga orchestrator drops a step's future when
//! the step's timeout fires, and hyper drops a handler's future when its client disconnects; a write
//! cut at an `.await` may still land (SQLite runs it on a blocking thread). [`Busy::run`] runs a
//! write in a task of its own, and [`Busy::wait`] waits until no write started through it is running.
use std::{future::Future, sync::Arc};

use tokio::sync::Mutex;

#[derive(Clone, Default)]
pub struct Busy(Arc<Mutex<()>>);

impl Busy {
    /// Runs `write` to its end in a spawned task, even if the caller's future is dropped.
    pub async fn run<T: Send + 'static>(
        &self,
        write: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        let guard = self.0.clone().lock_owned().await;
        tokio::spawn(async move {
            let _guard = guard;
            write.await
        })
        .await
    }

    /// Waits for the write started through [`run`](Self::run) that is still running, if any.
    pub async fn wait(&self) {
        let _ = self.0.lock().await;
    }
}
