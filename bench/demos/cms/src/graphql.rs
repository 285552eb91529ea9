//! The GraphQL API (async-graphql; AllFrame's `GraphQLAdapter` serves nothing): the same workflow and read
//! models as the REST API; errors carry the REST error's code in `extensions.code` (demo-support's
//! `graphql::error`). The signed-in user (or none) is put into each request's data by `lib.rs`.
use async_graphql::{Context, EmptySubscription, Object, Result, Schema};
use demo_support::graphql::error as graphql_error;

use crate::articles::{Article, Change, Claims, Cms, CmsError, Draft, Index, Reason};

pub type CmsSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

fn user(ctx: &Context<'_>) -> Option<Claims> {
    ctx.data_unchecked::<Option<Claims>>().clone()
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The articles the caller may see (the article index projection).
    async fn articles(&self, ctx: &Context<'_>) -> Vec<Article> {
        ctx.data_unchecked::<Index>().visible(user(ctx).as_ref())
    }

    /// One article with its version history, folded from its events.
    async fn article(&self, ctx: &Context<'_>, id: String) -> Result<Option<Article>> {
        let cms = ctx.data_unchecked::<Cms>();
        match cms.visible(user(ctx).as_ref(), &id).await {
            Err(CmsError::NotFound) => Ok(None),
            found => Ok(Some(found.map_err(graphql_error)?)),
        }
    }
}

pub struct MutationRoot;

async fn run(ctx: &Context<'_>, id: String, change: Change) -> Result<Article> {
    let cms = ctx.data_unchecked::<Cms>();
    cms.act(user(ctx), id, change).await.map_err(graphql_error)
}

#[Object]
impl MutationRoot {
    async fn create_article(
        &self,
        ctx: &Context<'_>,
        title: String,
        body: String,
    ) -> Result<Article> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        run(ctx, id, Change::Created(Draft { title, body })).await
    }
    async fn edit_article(
        &self,
        ctx: &Context<'_>,
        id: String,
        title: String,
        body: String,
    ) -> Result<Article> {
        run(ctx, id, Change::Edited(Draft { title, body })).await
    }
    async fn submit_for_review(&self, ctx: &Context<'_>, id: String) -> Result<Article> {
        run(ctx, id, Change::SubmittedForReview).await
    }
    async fn publish(&self, ctx: &Context<'_>, id: String) -> Result<Article> {
        run(ctx, id, Change::Published).await
    }
    async fn reject(&self, ctx: &Context<'_>, id: String, reason: String) -> Result<Article> {
        run(ctx, id, Change::Rejected(Reason { reason })).await
    }
}

pub fn schema(cms: Cms, index: Index) -> CmsSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(cms)
        .data(index)
        .finish()
}
