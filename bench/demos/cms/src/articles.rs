//! Articles, event-sourced: AllFrame `Event`s in an `EventStore`, the `Article` `Aggregate` (with its version
//! history) folded from them, one `CommandHandler` for the publishing workflow draft → review → published,
//! and an article index kept by a `Projection` through AllFrame's `ProjectionRegistry` subscription.
//!
//! Who may ask for a step is checked before the command, by [`authorize`] (typed: 401 or 403); whether the
//! article's state allows it is checked by the handler while it holds the article's lock, so two
//! concurrent requests cannot both pass the same check (404, 409 or 422).
use std::{collections::BTreeMap, sync::Arc, sync::RwLock};

use allframe_core::cqrs::{
    Aggregate, Command, CommandBus, CommandError, CommandHandler, CommandResult, Event, EventStore,
    EventTypeName, Projection, ValidationError,
};
use async_graphql::{Enum, SimpleObject};
use axum::http::StatusCode;
use demo_support::{auth::TokenError, graphql::RequestError, upload::UploadError};
use demo_support::{error::ApiError, locks::KeyedLocks};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Author,
    Editor,
}

/// The JWT claims of a signed-in user, validated by AllFrame's `JwtValidator` (which checks `iss` and
/// `aud` only when a token has them: this type makes them required).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("unknown user or wrong password")]
    BadCredentials,
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    GraphQl(#[from] RequestError),
    #[error("{0}")]
    Internal(String),
}

impl ApiError for CmsError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            CmsError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            CmsError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            CmsError::Token(e) => e.status_code(),
            CmsError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            CmsError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            CmsError::Conflict(_) => (StatusCode::CONFLICT, "invalid_state"),
            CmsError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_article"),
            CmsError::Upload(e) => e.status_code(),
            CmsError::GraphQl(e) => e.status_code(),
            CmsError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

demo_support::json_error!(CmsError);

/// The workflow's failures come back through AllFrame's `CommandBus` as `CommandError`s; each variant
/// maps to one `CmsError` variant.
impl From<CommandError> for CmsError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::NotFound(_) => CmsError::NotFound,
            CommandError::BusinessLogic(m) | CommandError::AlreadyExecuted(m) => {
                CmsError::Conflict(m)
            }
            CommandError::Validation(_) => CmsError::Invalid(e.to_string()),
            CommandError::Internal(m) => CmsError::Internal(m),
        }
    }
}

/// One change to an article, by a user: what a command asks for, and the event that records it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArticleEvent {
    pub article_id: String,
    pub by: String,
    #[serde(flatten)]
    pub change: Change,
}
impl EventTypeName for ArticleEvent {}
impl Event for ArticleEvent {}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Change {
    Created(Draft),
    Edited(Draft),
    SubmittedForReview,
    Published,
    Rejected(Reason),
}

/// An article's title and body: the body of `POST /articles` and `PUT /articles/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub title: String,
    pub body: String,
}

/// Why an editor sent an article in review back to draft: the body of `POST /articles/{id}/reject`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Enum)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Draft,
    InReview,
    Published,
}

#[derive(Clone, Debug, Serialize, SimpleObject)]
pub struct Version {
    pub version: u32,
    pub title: String,
    pub body: String,
    pub by: String,
}

#[derive(Clone, Debug, Default, Serialize, SimpleObject)]
pub struct Article {
    pub id: String,
    pub author: String,
    pub title: String,
    pub body: String,
    pub status: Status,
    pub version: u32,
    /// Every version, from the `Created` and `Edited` events.
    pub versions: Vec<Version>,
}

impl Aggregate for Article {
    type Event = ArticleEvent;
    /// An edit sends a draft or an article in review back to draft; an edit of a published article (by
    /// an editor: a correction) is a new version that stays published.
    fn apply_event(&mut self, event: &ArticleEvent) {
        match &event.change {
            Change::Created(draft) | Change::Edited(draft) => {
                if self.id.is_empty() {
                    self.id = event.article_id.clone();
                    self.author = event.by.clone();
                }
                if self.status != Status::Published {
                    self.status = Status::Draft;
                }
                self.title = draft.title.clone();
                self.body = draft.body.clone();
                self.version += 1;
                self.versions.push(Version {
                    version: self.version,
                    title: draft.title.clone(),
                    body: draft.body.clone(),
                    by: event.by.clone(),
                });
            }
            Change::SubmittedForReview => self.status = Status::InReview,
            Change::Published => self.status = Status::Published,
            Change::Rejected(_) => self.status = Status::Draft,
        }
    }
}

impl Article {
    /// Who may see it: published articles everyone, drafts and reviews their author and editors.
    pub fn visible_to(&self, user: Option<&Claims>) -> bool {
        let editor = user.is_some_and(|u| u.role == Role::Editor);
        let author = user.is_some_and(|u| u.sub == self.author);
        self.status == Status::Published || author || editor
    }
}

pub fn stream(id: &str) -> String {
    format!("article-{id}")
}

pub async fn load(store: &EventStore<ArticleEvent>, id: &str) -> Result<Option<Article>, String> {
    let mut article = Article::default();
    for event in store.get_events(&stream(id)).await? {
        article.apply_event(&event);
    }
    Ok(Some(article).filter(|a| !a.id.is_empty()))
}

/// Who may ask for `change` on `article` (`None`: not created yet): from the token's role and the
/// article's author, which never changes. Returns the signed-in user.
pub fn authorize(
    user: Option<&Claims>,
    article: Option<&Article>,
    change: &Change,
) -> Result<Claims, CmsError> {
    let user = user.ok_or(CmsError::Unauthenticated)?;
    let editor = user.role == Role::Editor;
    let writes = matches!(change, Change::Created(_) | Change::Edited(_));
    if writes && user.role == Role::Reader {
        return Err(CmsError::Forbidden("readers cannot write"));
    }
    if matches!(change, Change::Published | Change::Rejected(_)) && !editor {
        return Err(CmsError::Forbidden("editors only"));
    }
    if article.is_some_and(|a| a.author != user.sub) && !editor {
        return Err(CmsError::Forbidden("not your article"));
    }
    Ok(user.clone())
}

/// Every workflow step is one command, dispatched through AllFrame's `CommandBus` by an authorized user:
/// the event it asks to append, and whether its author is an editor.
pub struct ArticleCommand {
    pub event: ArticleEvent,
    pub editor: bool,
}
impl Command for ArticleCommand {}

#[derive(Clone)]
pub struct Workflow {
    pub store: EventStore<ArticleEvent>,
    pub locks: KeyedLocks,
}

#[async_trait::async_trait]
impl CommandHandler<ArticleCommand, ArticleEvent> for Workflow {
    async fn handle(&self, c: ArticleCommand) -> CommandResult<ArticleEvent> {
        let event = c.event;
        if let Change::Created(draft) | Change::Edited(draft) = &event.change {
            if draft.title.trim().is_empty() {
                let empty = ValidationError::new("title", "must not be empty");
                return Err(CommandError::Validation(vec![empty]));
            }
        }
        // Read, check and append under the article's lock: AllFrame's `append` takes no expected version.
        let _guard = self.locks.lock(&event.article_id).await;
        let article = load(&self.store, &event.article_id).await;
        let status = article.map_err(CommandError::Internal)?.map(|a| a.status);
        allowed(&event.change, status, c.editor)?;
        let stream = stream(&event.article_id);
        let appended = self.store.append(&stream, vec![event.clone()]).await;
        appended.map_err(CommandError::Internal)?;
        Ok(vec![event])
    }
}

/// Whether `change` may happen to an article in `status` (`None`: not created yet).
fn allowed(change: &Change, status: Option<Status>, editor: bool) -> Result<(), CommandError> {
    use CommandError::{AlreadyExecuted, BusinessLogic, NotFound};
    match (change, status) {
        (Change::Created(_), None) => Ok(()),
        (Change::Created(_), Some(_)) => Err(AlreadyExecuted("article exists".into())),
        (_, None) => Err(NotFound("no such article".into())),
        (Change::Edited(_), Some(Status::Published)) if !editor => {
            let message = "a published article is edited by an editor";
            Err(BusinessLogic(message.into()))
        }
        (Change::Edited(_), _)
        | (Change::SubmittedForReview, Some(Status::Draft))
        | (Change::Published | Change::Rejected(_), Some(Status::InReview)) => Ok(()),
        (_, Some(status)) => Err(BusinessLogic(format!("not allowed while {status:?}"))),
    }
}

/// The workflow's entry point for the REST and GraphQL faces.
#[derive(Clone)]
pub struct Cms {
    pub commands: CommandBus<ArticleEvent>,
    pub store: EventStore<ArticleEvent>,
}

impl Cms {
    pub async fn load(&self, id: &str) -> Result<Option<Article>, CmsError> {
        load(&self.store, id).await.map_err(CmsError::Internal)
    }

    /// The article if `user` may see it, else `NotFound`.
    pub async fn visible(&self, user: Option<&Claims>, id: &str) -> Result<Article, CmsError> {
        let visible = self.load(id).await?.filter(|a| a.visible_to(user));
        visible.ok_or(CmsError::NotFound)
    }

    /// Runs a workflow step as `user`: authorized first (401, 403), then the command (404, 409, 422).
    pub async fn act(
        &self,
        user: Option<Claims>,
        article_id: String,
        change: Change,
    ) -> Result<Article, CmsError> {
        let article = self.load(&article_id).await?;
        let user = authorize(user.as_ref(), article.as_ref(), &change)?;
        let editor = user.role == Role::Editor;
        let id = article_id.clone();
        let event = ArticleEvent {
            article_id,
            by: user.sub,
            change,
        };
        let command = ArticleCommand { event, editor };
        self.commands.dispatch(command).await?;
        self.load(&id).await?.ok_or(CmsError::NotFound)
    }
}

/// The article index: the latest state of every article (`ProjectionRegistry::get` returns `None` in
/// AllFrame 0.1.28, so the state is shared through an `Arc` the readers also hold).
#[derive(Clone, Default)]
pub struct Index(pub Arc<RwLock<BTreeMap<String, Article>>>);

impl Projection for Index {
    type Event = ArticleEvent;
    fn apply(&mut self, event: &ArticleEvent) {
        let mut index = self.0.write().unwrap();
        let article = index.entry(event.article_id.clone()).or_default();
        article.apply_event(event);
    }
}

impl Index {
    pub fn visible(&self, user: Option<&Claims>) -> Vec<Article> {
        let index = self.0.read().unwrap();
        index
            .values()
            .filter(|a| a.visible_to(user))
            .cloned()
            .collect()
    }
}
