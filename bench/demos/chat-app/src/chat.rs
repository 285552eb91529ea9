//! The chat, event-sourced: channels and messages are AllFrame `Event`s in an `EventStore`; posting goes
//! through AllFrame's `CommandBus`, history through its `QueryBus`, the channel directory is a `Projection`
//! kept by the `ProjectionRegistry` subscription. Live delivery taps `EventStore::subscribe`.
use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
    time::{SystemTime, UNIX_EPOCH},
};

use allframe_core::cqrs::{
    Command, CommandError, CommandHandler, CommandResult, Event, EventStore, EventTypeName,
    Projection, Query, QueryError, QueryHandler, QueryResult, ValidationError,
};
use async_graphql::SimpleObject;
use serde::{Deserialize, Serialize};

/// The JWT claims of a signed-in user (`sub`, `role`, `iss`, `aud`, `iat`, `exp`; validated by AllFrame's
/// `JwtValidator`).
pub use demo_support::jwt::Claims;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, SimpleObject)]
pub struct Message {
    pub channel: String,
    /// Position in the channel, from 1.
    pub seq: u64,
    pub author: String,
    pub text: String,
    pub at_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ChatEvent {
    ChannelCreated { channel: String, by: String },
    MessagePosted(Message),
}
impl EventTypeName for ChatEvent {}
impl Event for ChatEvent {}

pub fn stream(channel: &str) -> String {
    format!("channel-{channel}")
}

pub struct CreateChannel {
    pub by: String,
    pub name: String,
}
impl Command for CreateChannel {}

pub struct PostMessage {
    pub author: String,
    pub channel: String,
    pub text: String,
}
impl Command for PostMessage {}

fn invalid(field: &str, message: &str) -> CommandError {
    CommandError::Validation(vec![ValidationError::new(field, message)])
}

#[derive(Clone)]
pub struct Chat {
    pub store: EventStore<ChatEvent>,
    /// One write at a time, so message sequence numbers are dense.
    pub lock: Arc<tokio::sync::Mutex<()>>,
}

impl Chat {
    async fn events(&self, channel: &str) -> Result<Vec<ChatEvent>, String> {
        self.store.get_events(&stream(channel)).await
    }

    async fn append(&self, channel: &str, event: ChatEvent) -> CommandResult<ChatEvent> {
        let events = vec![event.clone()];
        let appended = self.store.append(&stream(channel), events).await;
        appended.map_err(CommandError::Internal)?;
        Ok(vec![event])
    }
}

#[async_trait::async_trait]
impl CommandHandler<CreateChannel, ChatEvent> for Chat {
    async fn handle(&self, c: CreateChannel) -> CommandResult<ChatEvent> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
        if !(1..=32).contains(&c.name.len()) || !c.name.bytes().all(allowed) {
            return Err(invalid("name", "1 to 32 letters, digits or '-'"));
        }
        let _one_at_a_time = self.lock.lock().await;
        let events = self.events(&c.name).await.map_err(CommandError::Internal)?;
        if !events.is_empty() {
            let exists = format!("channel {} exists", c.name);
            return Err(CommandError::AlreadyExecuted(exists));
        }
        let channel = c.name.clone();
        let by = c.by;
        self.append(&c.name, ChatEvent::ChannelCreated { channel, by })
            .await
    }
}

#[async_trait::async_trait]
impl CommandHandler<PostMessage, ChatEvent> for Chat {
    async fn handle(&self, c: PostMessage) -> CommandResult<ChatEvent> {
        if c.text.trim().is_empty() || c.text.len() > 2000 {
            return Err(invalid("text", "1 to 2000 bytes"));
        }
        let _one_at_a_time = self.lock.lock().await;
        let events = self
            .events(&c.channel)
            .await
            .map_err(CommandError::Internal)?;
        if events.is_empty() {
            let missing = format!("channel {} not found", c.channel);
            return Err(CommandError::NotFound(missing));
        }
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
        let message = Message {
            channel: c.channel.clone(),
            seq: events.len() as u64,
            author: c.author,
            text: c.text,
            at_ms: since_epoch.map_or(0, |d| d.as_millis() as u64),
        };
        self.append(&c.channel, ChatEvent::MessagePosted(message))
            .await
    }
}

/// The last `last` messages of a channel, replayed from its events (`None` if there is no such channel).
pub struct History {
    pub channel: String,
    pub last: usize,
}
impl Query for History {}

#[async_trait::async_trait]
impl QueryHandler<History, Option<Vec<Message>>> for Chat {
    async fn handle(&self, q: History) -> QueryResult<Option<Vec<Message>>> {
        let events = self
            .events(&q.channel)
            .await
            .map_err(QueryError::Internal)?;
        if events.is_empty() {
            return Ok(None);
        }
        let messages: Vec<Message> = events.into_iter().filter_map(ChatEvent::message).collect();
        let from = messages.len().saturating_sub(q.last);
        Ok(Some(messages[from..].to_vec()))
    }
}

impl ChatEvent {
    fn message(self) -> Option<Message> {
        match self {
            ChatEvent::MessagePosted(m) => Some(m),
            ChatEvent::ChannelCreated { .. } => None,
        }
    }
}

/// The channel directory (name → messages posted), a projection (`ProjectionRegistry::get` returns `None` in
/// AllFrame 0.1.28, so the state is shared through an `Arc` the readers also hold).
#[derive(Clone, Default)]
pub struct Directory(pub Arc<RwLock<BTreeMap<String, u64>>>);

impl Projection for Directory {
    type Event = ChatEvent;
    fn apply(&mut self, event: &ChatEvent) {
        let mut channels = self.0.write().unwrap();
        match event {
            ChatEvent::ChannelCreated { channel, .. } => channels.insert(channel.clone(), 0),
            ChatEvent::MessagePosted(m) => channels.insert(m.channel.clone(), m.seq),
        };
    }
}

/// Who is online: users with an open, signed-in subscription WebSocket (counted per connection).
#[derive(Clone, Default)]
pub struct Presence(pub Arc<RwLock<BTreeMap<String, usize>>>);

impl Presence {
    pub fn join(&self, user: &str) {
        *self.0.write().unwrap().entry(user.to_string()).or_default() += 1;
    }
    pub fn leave(&self, user: &str) {
        let mut online = self.0.write().unwrap();
        if let Some(n) = online.get_mut(user) {
            *n -= 1;
        }
        online.retain(|_, n| *n > 0);
    }
    pub fn online(&self) -> Vec<String> {
        self.0.read().unwrap().keys().cloned().collect()
    }
}
