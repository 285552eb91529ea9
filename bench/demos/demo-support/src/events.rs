//! What a command handler does around AllFrame's `EventStore` (feature `cqrs`): name a stream, fold an
//! aggregate from it, refuse a command whose stream already exists, append one event; and the query of
//! one stream's events.
use allframe_core::cqrs::{
    Aggregate, CommandError, CommandResult, Event, EventStore, EventStoreBackend, Query,
    QueryError, QueryHandler, QueryResult, ValidationError,
};

use crate::locks::{Guard, KeyedLocks};

/// A stream name (AllFrame aggregate id): `stream("account", "bob")` is `account-bob`.
pub fn stream(kind: &str, id: &str) -> String {
    format!("{kind}-{id}")
}

/// An AllFrame `Aggregate` rebuilt from its stream.
pub fn fold<A: Aggregate>(events: &[A::Event]) -> A {
    let mut aggregate = A::default();
    events.iter().for_each(|e| aggregate.apply_event(e));
    aggregate
}

/// The client's own id if it gave one, not empty (so it can ask for the outcome later), else a new one.
pub fn new_id(given: String) -> String {
    match given.is_empty() {
        true => uuid::Uuid::new_v4().simple().to_string(),
        false => given,
    }
}

/// A refused field: `CommandError::Validation` with one error.
pub fn invalid(field: &str, message: &str) -> CommandError {
    CommandError::Validation(vec![ValidationError::new(field, message)])
}

/// Appends `event` to `stream_name` and returns it, as a `CommandHandler` does.
pub async fn append<E: Event, B: EventStoreBackend<E>>(
    store: &EventStore<E, B>,
    stream_name: &str,
    event: E,
) -> CommandResult<E> {
    let stored = store.append(stream_name, vec![event.clone()]).await;
    stored.map_err(CommandError::Internal)?;
    Ok(vec![event])
}

/// Takes the lock of stream `KIND-ID` and refuses (`AlreadyExecuted("KIND ID exists")`) if the stream has
/// events: a command that creates an aggregate under a client-given id creates it once. Returns the
/// stream's name and its lock, held until dropped.
pub async fn claim<E: Event, B: EventStoreBackend<E>>(
    store: &EventStore<E, B>,
    locks: &KeyedLocks,
    kind: &str,
    id: &str,
) -> Result<(String, Guard), CommandError> {
    let stream_name = stream(kind, id);
    let lock = locks.lock(&stream_name).await;
    ensure_new(store, &stream_name, &format!("{kind} {id}")).await?;
    Ok((stream_name, lock))
}

/// `AlreadyExecuted("WHAT exists")` if `stream_name` has events. Call it holding the stream's lock
/// ([`crate::locks::KeyedLocks`]), before the append that creates the stream.
pub async fn ensure_new<E: Event, B: EventStoreBackend<E>>(
    store: &EventStore<E, B>,
    stream_name: &str,
    what: &str,
) -> Result<(), CommandError> {
    let known = store.get_events(stream_name).await;
    match known.map_err(CommandError::Internal)?.is_empty() {
        true => Ok(()),
        false => Err(CommandError::AlreadyExecuted(format!("{what} exists"))),
    }
}

/// The events of one stream, as an AllFrame query: an aggregate's history or a saga's audit trail.
pub struct GetStream(pub String);
impl Query for GetStream {}

/// Answers [`GetStream`] from an event store (register it on a `QueryBus`).
#[derive(Clone)]
pub struct Streams<E: Event, B: EventStoreBackend<E>>(pub EventStore<E, B>);

#[async_trait::async_trait]
impl<E: Event, B: EventStoreBackend<E> + 'static> QueryHandler<GetStream, Vec<E>>
    for Streams<E, B>
{
    async fn handle(&self, q: GetStream) -> QueryResult<Vec<E>> {
        self.0.get_events(&q.0).await.map_err(QueryError::Internal)
    }
}
