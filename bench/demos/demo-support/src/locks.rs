//! One async lock per aggregate: a command reads an aggregate's stream, checks it, and appends, holding
//! that aggregate's lock, so two concurrent commands cannot both pass the same check (AllFrame 0.1.28's
//! `EventStore::append` takes no expected version).
use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Clone, Default)]
pub struct KeyedLocks {
    locks: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

/// Held locks; dropping it releases them.
pub struct Guard(#[allow(dead_code)] Vec<OwnedMutexGuard<()>>);

impl KeyedLocks {
    fn entry(&self, key: &str) -> Arc<AsyncMutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        if locks.len() >= 1024 {
            // Forget the locks nobody holds or waits for (the map's own reference is the only one).
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        locks.entry(key.to_string()).or_default().clone()
    }

    /// Waits for the lock of `key`.
    pub async fn lock(&self, key: &str) -> Guard {
        Guard(vec![self.entry(key).lock_owned().await])
    }

    /// Waits for the locks of all `keys`, taken in sorted order so two callers never deadlock.
    pub async fn lock_all<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> Guard {
        let mut guards = Vec::new();
        for key in keys.into_iter().collect::<BTreeSet<_>>() {
            guards.push(self.entry(key).lock_owned().await);
        }
        Guard(guards)
    }
}
