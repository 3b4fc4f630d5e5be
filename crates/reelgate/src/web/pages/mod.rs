//! The pages, one module per area, and what every page shares: [`Chrome`], the frame around
//! a page (language, CSRF token, the signed-in user, simulator banner).

mod account;
mod account_security;
mod admin;
mod auth;
mod buy;
mod compose;
mod follow_ups;
mod generate;
mod history;
mod recovery;
pub mod videos;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Html;
use axum::Router;
use minijinja::{context, Value};
use reelgate_domain::accounts::User;
use serde::Serialize;

use super::csrf::Csrf;
use super::error::WebError;
use super::i18n::Locale;
use super::session::current_user;
use super::{templates, WebContext};

pub fn router() -> Router<WebContext> {
    Router::new()
        .merge(auth::router())
        .merge(recovery::router())
        .merge(generate::router())
        .merge(videos::router())
        .merge(follow_ups::router())
        .merge(account::router())
        .merge(buy::router())
        .merge(admin::router())
}

/// The signed-in user as the page header shows them.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub is_admin: bool,
    pub balance: i64,
    pub held: i64,
    pub debt: i64,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id.to_string(),
            email: user.email.to_string(),
            is_admin: user.is_admin(),
            balance: user.balance.get(),
            held: user.held.get(),
            debt: user.debt.get(),
        }
    }
}

/// What every page needs around its content.
pub struct Chrome {
    pub lang: Locale,
    pub csrf: Csrf,
    pub user: Option<User>,
    simulated: bool,
    /// This page's path and query, for the language switcher to come back to.
    here: String,
}

impl FromRequestParts<WebContext> for Chrome {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, web: &WebContext) -> Result<Self, WebError> {
        let csrf = Csrf::from_request_parts(parts, web).await?;
        let user = current_user(parts, web).await?;
        Ok(Chrome {
            lang: Locale::negotiate(&parts.headers),
            csrf,
            user,
            simulated: web.api.upstream.is_simulated(),
            here: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into()),
        })
    }
}

impl Chrome {
    /// The text of `key` in the page's language.
    pub fn text(&self, key: &str) -> &'static str {
        self.lang.text(key)
    }

    /// Renders `template` with the frame's values and the page's own. `nav` marks the
    /// current item of the navigation.
    pub fn render(&self, template: &str, nav: &str, page: Value) -> Result<Html<String>, WebError> {
        let frame = context! {
            lang => self.lang.code(),
            csrf => self.csrf.token(),
            user => self.user.as_ref().map(UserView::from),
            simulated => self.simulated,
            nav => nav,
            here => self.here,
        };
        let html = templates::render(template, context! { ..frame, ..page })?;
        Ok(Html(html))
    }
}
