//! Articles, event-sourced: AllFrame `Event`s in an `EventStore`, the `Article` `Aggregate` (with its version
//! history) folded from them, one `CommandHandler` for the publishing workflow draft → review → published,
//! and an article index kept by a `Projection` through AllFrame's `ProjectionRegistry` subscription.
//!
//! Who may ask for a step is checked before the command, by [`authorize`] (typed: 401 or 403); whether the
//! article's state allows it is checked by the handler while it holds the article's lock, so two
//! concurrent requests cannot both pass the same check (404, 409 or 422).
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use allframe_core::cqrs::{
    Aggregate, Command, CommandBus, CommandError, CommandHandler, CommandResult, Event, EventStore,
    EventTypeName, Projection, ValidationError,
};
use async_graphql::{Enum, SimpleObject};
use axum::http::StatusCode;
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
    #[error("{0}")]
    Token(#[from] allframe_core::auth::AuthError),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("only PNG, JPEG or GIF images")]
    NotAnImage,
    #[error("{0}")]
    Upload(#[from] axum::extract::multipart::MultipartError),
    #[error("{0}")]
    NotMultipart(#[from] axum::extract::multipart::MultipartRejection),
    #[error("{0}")]
    Body(#[from] axum::extract::rejection::BytesRejection),
    #[error("{0}")]
    GraphQl(#[from] async_graphql::ParseRequestError),
    #[error(transparent)]
    Jwt(#[from] demo_support::jwt::JwtError),
    #[error("{0}")]
    Internal(String),
}

impl ApiError for CmsError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        use allframe_core::auth::AuthError::TokenExpired;
        match self {
            CmsError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            CmsError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            CmsError::Token(TokenExpired) => (StatusCode::UNAUTHORIZED, "expired_token"),
            CmsError::Token(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            CmsError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            CmsError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            CmsError::Conflict(_) => (StatusCode::CONFLICT, "invalid_state"),
            CmsError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_article"),
            CmsError::NotAnImage => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_an_image"),
            CmsError::Upload(e) => (e.status(), "invalid_upload"),
            CmsError::NotMultipart(r) => (r.status(), "invalid_upload"),
            CmsError::Body(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (r.status(), "payload_too_large")
            }
            CmsError::Body(r) => (r.status(), "unreadable_body"),
            CmsError::GraphQl(_) => (StatusCode::BAD_REQUEST, "invalid_graphql_request"),
            CmsError::Jwt(e) => e.status_code(),
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
    Created { title: String, body: String },
    Edited { title: String, body: String },
    SubmittedForReview,
    Published,
    Rejected { reason: String },
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
            Change::Created { title, body } | Change::Edited { title, body } => {
                if self.id.is_empty() {
                    self.id = event.article_id.clone();
                    self.author = event.by.clone();
                }
                if self.status != Status::Published {
                    self.status = Status::Draft;
                }
                self.title = title.clone();
                self.body = body.clone();
                self.version += 1;
                let version = self.version;
                let title = title.clone();
                let body = body.clone();
                let by = event.by.clone();
                self.versions.push(Version {
                    version,
                    title,
                    body,
                    by,
                });
            }
            Change::SubmittedForReview => self.status = Status::InReview,
            Change::Published => self.status = Status::Published,
            Change::Rejected { .. } => self.status = Status::Draft,
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
    let writes = matches!(change, Change::Created { .. } | Change::Edited { .. });
    if writes && user.role == Role::Reader {
        return Err(CmsError::Forbidden("readers cannot write"));
    }
    if matches!(change, Change::Published | Change::Rejected { .. }) && !editor {
        return Err(CmsError::Forbidden("editors only"));
    }
    if article.is_some_and(|a| a.author != user.sub) && !editor {
        return Err(CmsError::Forbidden("not your article"));
    }
    Ok(user.clone())
}

/// Every workflow step is one command, dispatched through AllFrame's `CommandBus` by an authorized user.
pub struct ArticleCommand {
    pub user: Claims,
    pub article_id: String,
    pub change: Change,
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
        if let Change::Created { title, .. } | Change::Edited { title, .. } = &c.change {
            if title.trim().is_empty() {
                let empty = ValidationError::new("title", "must not be empty");
                return Err(CommandError::Validation(vec![empty]));
            }
        }
        // Read, check and append under the article's lock: AllFrame's `append` takes no expected version.
        let _guard = self.locks.lock(&c.article_id).await;
        let article = load(&self.store, &c.article_id).await;
        let status = article.map_err(CommandError::Internal)?.map(|a| a.status);
        let editor = c.user.role == Role::Editor;
        match (&c.change, status) {
            (Change::Created { .. }, None) => {}
            (Change::Created { .. }, Some(_)) => {
                return Err(CommandError::AlreadyExecuted("article exists".into()))
            }
            (_, None) => return Err(CommandError::NotFound(c.article_id)),
            (Change::Edited { .. }, Some(Status::Published)) if !editor => {
                let message = "a published article is edited by an editor";
                return Err(CommandError::BusinessLogic(message.into()));
            }
            (Change::Edited { .. }, _)
            | (Change::SubmittedForReview, Some(Status::Draft))
            | (Change::Published | Change::Rejected { .. }, Some(Status::InReview)) => {}
            (_, Some(status)) => {
                let message = format!("not allowed while {status:?}");
                return Err(CommandError::BusinessLogic(message));
            }
        }
        let stream = stream(&c.article_id);
        let event = ArticleEvent {
            article_id: c.article_id,
            by: c.user.sub,
            change: c.change,
        };
        let appended = self.store.append(&stream, vec![event.clone()]).await;
        appended.map_err(CommandError::Internal)?;
        Ok(vec![event])
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
        let article = self.load(id).await?;
        article
            .filter(|a| a.visible_to(user))
            .ok_or(CmsError::NotFound)
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
        let id = article_id.clone();
        let command = ArticleCommand {
            user,
            article_id,
            change,
        };
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
