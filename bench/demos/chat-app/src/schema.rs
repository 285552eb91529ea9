//! The GraphQL API (async-graphql; AllFrame's GraphQL adapters serve nothing and AllFrame has no
//! subscriptions): queries and mutations over AllFrame's buses, a `messages` subscription fed by
//! `EventStore::subscribe`. The caller (`Option<Claims>`) is in each request's data.
use allframe_core::cqrs::{CommandBus, QueryBus};
use async_graphql::{futures_util::Stream, Context, Error, Object, Result, Schema, SimpleObject, Subscription};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::chat::*;

pub type ChatSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

fn user(ctx: &Context<'_>) -> Result<String> {
    let claims = ctx.data_opt::<Option<Claims>>().and_then(|c| c.as_ref());
    claims.map(|c| c.sub.clone()).ok_or_else(|| Error::new("sign in first"))
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
        directory.into_iter().map(|(name, messages)| Channel { name, messages }).collect()
    }

    /// The last `last` messages of a channel, replayed from the event log.
    async fn history(
        &self,
        ctx: &Context<'_>,
        channel: String,
        #[graphql(default = 50)] last: u32,
    ) -> Result<Vec<Message>> {
        let query = History { channel: channel.clone(), last: last as usize };
        let found = ctx.data_unchecked::<QueryBus>().dispatch::<History, Option<Vec<Message>>>(query).await?;
        found.ok_or_else(|| Error::new(format!("channel {channel} not found")))
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
        let cmd = CreateChannel { by: user(ctx)?, name: name.clone() };
        ctx.data_unchecked::<CommandBus<ChatEvent>>().dispatch(cmd).await.map_err(|e| Error::new(e.to_string()))?;
        Ok(Channel { name, messages: 0 })
    }

    async fn post_message(&self, ctx: &Context<'_>, channel: String, text: String) -> Result<Message> {
        let cmd = PostMessage { author: user(ctx)?, channel, text };
        let events =
            ctx.data_unchecked::<CommandBus<ChatEvent>>().dispatch(cmd).await.map_err(|e| Error::new(e.to_string()))?;
        match events.into_iter().next() {
            Some(ChatEvent::MessagePosted(m)) => Ok(m),
            _ => Err(Error::new("no message was posted")),
        }
    }
}

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Messages posted to `channel` from now on (signed-in connections only).
    async fn messages(&self, ctx: &Context<'_>, channel: String) -> Result<impl Stream<Item = Message>> {
        user(ctx)?;
        let rx = ctx.data_unchecked::<broadcast::Sender<ChatEvent>>().subscribe();
        Ok(async_graphql::futures_util::stream::unfold(rx, move |mut rx| {
            let channel = channel.clone();
            async move {
                loop {
                    match rx.recv().await {
                        Ok(ChatEvent::MessagePosted(m)) if m.channel == channel => return Some((m, rx)),
                        Ok(_) | Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }
}
