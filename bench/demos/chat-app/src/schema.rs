//! The GraphQL API (async-graphql; AllFrame's GraphQL adapters serve nothing and AllFrame has no
//! subscriptions): queries and mutations over AllFrame's buses, a `messages` subscription fed by
//! `EventStore::subscribe`. The caller (`Option<Claims>`) is in each request's data.
use allframe_core::cqrs::{CommandBus, QueryBus};
use async_graphql::futures_util::{stream, Stream};
use async_graphql::{
    Context, Error, ErrorExtensions, Object, Result, Schema, SimpleObject, Subscription,
};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::chat::*;

pub type ChatSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

fn commands<'a>(ctx: &Context<'a>) -> &'a CommandBus<ChatEvent> {
    ctx.data_unchecked()
}

fn user(ctx: &Context<'_>) -> Result<String> {
    let claims = ctx.data_opt::<Option<Claims>>().and_then(|c| c.as_ref());
    let sub = claims.map(|c| c.sub.clone());
    sub.ok_or_else(|| Error::new("sign in first"))
}

#[derive(SimpleObject)]
pub struct Channel {
    name: String,
    messages: u64,
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// Every channel with its message count (the directory projection).
    async fn channels(&self, ctx: &Context<'_>) -> Vec<Channel> {
        let directory = ctx.data_unchecked::<Directory>().0.read().unwrap().clone();
        let channel = |(name, messages)| Channel { name, messages };
        directory.into_iter().map(channel).collect()
    }

    /// The last `last` messages of a channel, replayed from the event log.
    async fn history(
        &self,
        ctx: &Context<'_>,
        channel: String,
        #[graphql(default = 50)] last: u32,
    ) -> Result<Vec<Message>> {
        let last = last as usize;
        let query = History { channel, last };
        let found: Option<Vec<Message>> = ctx.data_unchecked::<QueryBus>().dispatch(query).await?;
        found.ok_or_else(|| Error::new("channel not found"))
    }

    /// Users with an open subscription connection.
    async fn online(&self, ctx: &Context<'_>) -> Vec<String> {
        ctx.data_unchecked::<Presence>().online()
    }
}

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    async fn create_channel(&self, ctx: &Context<'_>, name: String) -> Result<Channel> {
        let by = user(ctx)?;
        let create = CreateChannel { by, name };
        let name = create.name.clone();
        commands(ctx).dispatch(create).await?;
        Ok(Channel { name, messages: 0 })
    }

    async fn post_message(
        &self,
        ctx: &Context<'_>,
        channel: String,
        text: String,
    ) -> Result<Message> {
        let author = user(ctx)?;
        let post = PostMessage {
            author,
            channel,
            text,
        };
        let events = commands(ctx).dispatch(post).await?;
        match events.into_iter().next() {
            Some(ChatEvent::MessagePosted(m)) => Ok(m),
            _ => Err(Error::new("no message was posted")),
        }
    }
}

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Messages posted to `channel` from now on (signed-in connections only). A subscriber that falls
    /// more than the live buffer behind gets an error with code `lagged` (and how many it missed), then
    /// the end of its stream: it can read `history` and subscribe again.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        channel: String,
    ) -> Result<impl Stream<Item = Result<Message>>> {
        user(ctx)?;
        let live = ctx.data_unchecked::<broadcast::Sender<ChatEvent>>();
        let rx = live.subscribe();
        Ok(stream::unfold(Some(rx), move |rx| {
            let channel = channel.clone();
            async move {
                let mut rx = rx?;
                loop {
                    match rx.recv().await {
                        Ok(ChatEvent::MessagePosted(m)) if m.channel == channel => {
                            return Some((Ok(m), Some(rx)))
                        }
                        Ok(_) => continue,
                        Err(RecvError::Lagged(missed)) => return Some((Err(lagged(missed)), None)),
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }
}

fn lagged(missed: u64) -> Error {
    let message = format!("lagged: {missed} messages were dropped; read history, subscribe again");
    Error::new(message).extend_with(|_, e| {
        e.set("code", "lagged");
        e.set("missed", missed);
    })
}
