//! Articles, event-sourced: AllFrame `Event`s in an `EventStore`, the `Article` `Aggregate` (with its version
//! history) folded from them, one `CommandHandler` for the publishing workflow draft → review → published,
//! and an article index kept by a `Projection` through AllFrame's `ProjectionRegistry` subscription.
use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use allframe_core::cqrs::{
    Aggregate, Command, CommandError, CommandHandler, CommandResult, Event, EventStore, EventTypeName, Projection,
    ValidationError,
};
use async_graphql::{Enum, SimpleObject};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Author,
    Editor,
}

/// The JWT claims of a signed-in user (validated by AllFrame's `JwtValidator`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub exp: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ArticleEvent {
    Created { article_id: String, author: String, title: String, body: String },
    Edited { article_id: String, by: String, title: String, body: String },
    SubmittedForReview { article_id: String, by: String },
    Published { article_id: String, by: String },
    Rejected { article_id: String, by: String, reason: String },
}
impl EventTypeName for ArticleEvent {}
impl Event for ArticleEvent {}

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
    fn apply_event(&mut self, event: &ArticleEvent) {
        let (by, title, body) = match event {
            ArticleEvent::Created { article_id, author, title, body } => {
                (self.id, self.author) = (article_id.clone(), author.clone());
                (author, title, body)
            }
            ArticleEvent::Edited { by, title, body, .. } => {
                self.status = Status::Draft;
                (by, title, body)
            }
            ArticleEvent::SubmittedForReview { .. } => return self.status = Status::InReview,
            ArticleEvent::Published { .. } => return self.status = Status::Published,
            ArticleEvent::Rejected { .. } => return self.status = Status::Draft,
        };
        (self.title, self.body, self.version) = (title.clone(), body.clone(), self.version + 1);
        self.versions.push(Version { version: self.version, title: title.clone(), body: body.clone(), by: by.clone() });
    }
}

impl Article {
    /// Who may see it: published articles everyone, drafts and reviews their author and editors.
    pub fn visible_to(&self, user: &Option<Claims>) -> bool {
        let (author, editor) = user.as_ref().map_or((false, false), |u| (u.sub == self.author, u.role == Role::Editor));
        self.status == Status::Published || author || editor
    }
}

pub fn stream(id: &str) -> String {
    format!("article-{id}")
}

pub async fn load(store: &EventStore<ArticleEvent>, id: &str) -> Result<Option<Article>, String> {
    let mut article = Article::default();
    store.get_events(&stream(id)).await?.iter().for_each(|e| article.apply_event(e));
    Ok(Some(article).filter(|a| !a.id.is_empty()))
}

pub enum Action {
    Create { title: String, body: String },
    Edit { title: String, body: String },
    Submit,
    Publish,
    Reject { reason: String },
}

/// Every workflow step is one command, dispatched through AllFrame's `CommandBus`.
pub struct ArticleCommand {
    pub user: Option<Claims>,
    pub article_id: String,
    pub action: Action,
}
impl Command for ArticleCommand {}

/// Permission failures carry the code `forbidden` (the HTTP layer answers 403, not 422), a missing sign-in
/// the code `unauthenticated` (401).
pub fn forbidden(message: &str) -> CommandError {
    let code = if message == SIGN_IN { "unauthenticated" } else { "forbidden" };
    CommandError::Validation(vec![ValidationError::with_code("role", message, code)])
}
const SIGN_IN: &str = "sign in first";

fn invalid(field: &str, message: &str) -> CommandError {
    CommandError::Validation(vec![ValidationError::new(field, message)])
}

#[derive(Clone)]
pub struct Workflow(pub EventStore<ArticleEvent>);

#[async_trait::async_trait]
impl CommandHandler<ArticleCommand, ArticleEvent> for Workflow {
    async fn handle(&self, c: ArticleCommand) -> CommandResult<ArticleEvent> {
        let user = c.user.clone().ok_or_else(|| forbidden(SIGN_IN))?;
        let (by, article_id) = (user.sub.clone(), c.article_id.clone());
        let article = load(&self.0, &c.article_id).await.map_err(CommandError::Internal)?;
        let is_editor = user.role == Role::Editor;
        let event = match (c.action, article) {
            (Action::Create { .. } | Action::Edit { .. }, _) if user.role == Role::Reader => {
                return Err(forbidden("readers cannot write"))
            }
            (Action::Create { title, .. } | Action::Edit { title, .. }, _) if title.trim().is_empty() => {
                return Err(invalid("title", "must not be empty"))
            }
            (Action::Create { title, body }, None) => ArticleEvent::Created { article_id, author: by, title, body },
            (Action::Create { .. }, Some(_)) => return Err(CommandError::AlreadyExecuted("article exists".into())),
            (_, None) => return Err(CommandError::NotFound(format!("article {article_id} not found"))),
            (_, Some(a)) if !(a.author == by || is_editor) => return Err(forbidden("not your article")),
            (Action::Edit { title, body }, Some(a)) if a.status != Status::Published || is_editor => {
                ArticleEvent::Edited { article_id, by, title, body }
            }
            (Action::Submit, Some(a)) if a.status == Status::Draft => {
                ArticleEvent::SubmittedForReview { article_id, by }
            }
            (Action::Publish | Action::Reject { .. }, _) if !is_editor => return Err(forbidden("editors only")),
            (Action::Publish, Some(a)) if a.status == Status::InReview => ArticleEvent::Published { article_id, by },
            (Action::Reject { reason }, Some(a)) if a.status == Status::InReview => {
                ArticleEvent::Rejected { article_id, by, reason }
            }
            (_, Some(a)) => return Err(CommandError::BusinessLogic(format!("not allowed while {:?}", a.status))),
        };
        self.0.append(&stream(&c.article_id), vec![event.clone()]).await.map_err(CommandError::Internal)?;
        Ok(vec![event])
    }
}

/// The article index: the latest state of every article (`ProjectionRegistry::get` returns `None` in
/// AllFrame 0.1.28, so the state is shared through an `Arc` the readers also hold).
#[derive(Clone, Default)]
pub struct Index(pub Arc<RwLock<BTreeMap<String, Article>>>);

impl Projection for Index {
    type Event = ArticleEvent;
    fn apply(&mut self, event: &ArticleEvent) {
        let id = match event {
            ArticleEvent::Created { article_id, .. }
            | ArticleEvent::Edited { article_id, .. }
            | ArticleEvent::SubmittedForReview { article_id, .. }
            | ArticleEvent::Published { article_id, .. }
            | ArticleEvent::Rejected { article_id, .. } => article_id,
        };
        self.0.write().unwrap().entry(id.clone()).or_default().apply_event(event);
    }
}

impl Index {
    pub fn visible(&self, user: &Option<Claims>) -> Vec<Article> {
        self.0.read().unwrap().values().filter(|a| a.visible_to(user)).cloned().collect()
    }
}
