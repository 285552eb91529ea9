//! The GraphQL API (async-graphql; AllFrame's `GraphQLAdapter` serves nothing): the same commands and read
//! models as the REST API. The signed-in user (or none) is put into each request's data by `lib.rs`.
use allframe_core::cqrs::{CommandBus, CommandError, EventStore};
use async_graphql::{Context, EmptySubscription, Object, Result, Schema};

use crate::articles::{load, Action, Article, ArticleCommand, ArticleEvent, Claims, Index};

pub type CmsSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The articles the caller may see (the article index projection).
    async fn articles(&self, ctx: &Context<'_>) -> Vec<Article> {
        ctx.data_unchecked::<Index>().visible(ctx.data_unchecked::<Option<Claims>>())
    }

    /// One article with its version history, folded from its events.
    async fn article(&self, ctx: &Context<'_>, id: String) -> Result<Option<Article>> {
        let article = load(ctx.data_unchecked::<EventStore<ArticleEvent>>(), &id).await?;
        Ok(article.filter(|a| a.visible_to(ctx.data_unchecked::<Option<Claims>>())))
    }
}

pub struct MutationRoot;

async fn run(ctx: &Context<'_>, article_id: String, action: Action) -> Result<Article> {
    let user = ctx.data_unchecked::<Option<Claims>>().clone();
    let (bus, store) =
        (ctx.data_unchecked::<CommandBus<ArticleEvent>>(), ctx.data_unchecked::<EventStore<ArticleEvent>>());
    bus.dispatch(ArticleCommand { user, article_id: article_id.clone(), action })
        .await
        .map_err(|e: CommandError| e.to_string())?;
    Ok(load(store, &article_id).await?.unwrap_or_default())
}

#[Object]
impl MutationRoot {
    async fn create_article(&self, ctx: &Context<'_>, title: String, body: String) -> Result<Article> {
        run(ctx, uuid::Uuid::new_v4().simple().to_string(), Action::Create { title, body }).await
    }
    async fn edit_article(&self, ctx: &Context<'_>, id: String, title: String, body: String) -> Result<Article> {
        run(ctx, id, Action::Edit { title, body }).await
    }
    async fn submit_for_review(&self, ctx: &Context<'_>, id: String) -> Result<Article> {
        run(ctx, id, Action::Submit).await
    }
    async fn publish(&self, ctx: &Context<'_>, id: String) -> Result<Article> {
        run(ctx, id, Action::Publish).await
    }
    async fn reject(&self, ctx: &Context<'_>, id: String, reason: String) -> Result<Article> {
        run(ctx, id, Action::Reject { reason }).await
    }
}

pub fn schema(bus: CommandBus<ArticleEvent>, store: EventStore<ArticleEvent>, index: Index) -> CmsSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription).data(bus).data(store).data(index).finish()
}
