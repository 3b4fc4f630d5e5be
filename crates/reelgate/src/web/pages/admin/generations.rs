//! Operator: every customer's generations, filtered by status, model and customer, with the
//! upstream task id and Kie's raw error.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use reelgate_domain::accounts::{Email, UserId};
use reelgate_domain::generations::Status;
use reelgate_store::{GenerationFilter, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::web::error::WebError;
use crate::web::pages::videos::AdminRow;
use crate::web::pages::Chrome;
use crate::web::session::{encode, Operator};
use crate::web::WebContext;

const PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct FilterQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    model: String,
    /// An email address or a user id.
    #[serde(default)]
    customer: String,
    #[serde(default, skip_serializing)]
    cursor: Option<String>,
}

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    row: AdminRow,
    email: Option<String>,
}

/// The customer named by an email address or an id; `Err` when nobody is.
async fn customer(web: &WebContext, raw: &str) -> Result<Option<UserId>, WebError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(id) = UserId::parse(raw) {
        return Ok(Some(id));
    }
    let Ok(email) = Email::parse(raw) else {
        return Err(WebError::NotFound);
    };
    match web.api.store.user_by_email(&email).await {
        Ok(user) => Ok(Some(user.id)),
        Err(StoreError::UserNotFound) => Err(WebError::NotFound),
        Err(other) => Err(other.into()),
    }
}

pub async fn list(
    State(web): State<WebContext>,
    _operator: Operator,
    chrome: Chrome,
    Query(query): Query<FilterQuery>,
) -> Result<Response, WebError> {
    let catalog = &web.api.catalog;
    let user = match customer(&web, &query.customer).await {
        Ok(user) => Some(user),
        Err(WebError::NotFound) => None,
        Err(other) => return Err(other),
    };
    let filter = GenerationFilter {
        status: query.status.parse::<Status>().ok(),
        model: Some(query.model.trim().to_owned()).filter(|m| !m.is_empty()),
        user: user.clone().flatten(),
        with_upstream_error: false,
    };
    // A customer who does not exist has no generations.
    let page = match user {
        None => reelgate_store::Page {
            items: Vec::new(),
            next_cursor: None,
        },
        Some(_) => match web
            .api
            .store
            .find_generations(&filter, query.cursor.as_deref(), PAGE_SIZE)
            .await
        {
            Err(StoreError::InvalidCursor) => {
                web.api
                    .store
                    .find_generations(&filter, None, PAGE_SIZE)
                    .await?
            }
            other => other?,
        },
    };
    let mut emails: HashMap<UserId, Option<String>> = HashMap::new();
    let mut rows = Vec::with_capacity(page.items.len());
    for generation in &page.items {
        if !emails.contains_key(&generation.user_id) {
            let email = match web.api.store.user(&generation.user_id).await {
                Ok(user) => Some(user.email.to_string()),
                Err(StoreError::UserNotFound) => None,
                Err(other) => return Err(other.into()),
            };
            emails.insert(generation.user_id.clone(), email);
        }
        rows.push(Row {
            row: AdminRow::new(generation, catalog, chrome.lang),
            email: emails.get(&generation.user_id).cloned().flatten(),
        });
    }
    let next_link = page.next_cursor.as_ref().map(|cursor| {
        format!(
            "/admin/generations?status={}&model={}&customer={}&cursor={}",
            encode(&query.status),
            encode(&query.model),
            encode(&query.customer),
            encode(cursor)
        )
    });
    let models: Vec<_> = catalog
        .models()
        .iter()
        .map(|m| context! { id => m.id.as_str(), title => crate::web::catalog_text::model_title(&m.title, chrome.lang) })
        .collect();
    Ok(chrome
        .render(
            "admin/generations.html",
            "admin_generations",
            context! {
                rows => rows,
                filter => query,
                statuses => Status::ALL.map(Status::as_str),
                models => models,
                next_cursor => page.next_cursor,
                next_link => next_link,
            },
        )?
        .into_response())
}
