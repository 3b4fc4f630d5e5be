//! "My videos": every generation of the customer's, with live status, the video itself,
//! its settings and price, and what went wrong for failed ones.

use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use minijinja::context;
use reelgate_domain::generations::{Generation, GenerationId, Status};
use reelgate_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Chrome;
use crate::generations::cancel::{self, Cancel};
use crate::generations::view::VideoView;
use crate::generations::GenerationView;
use crate::media::present;
use crate::web::error::{WebError, WebForm};
use crate::web::i18n::Locale;
use crate::web::session::Viewer;
use crate::web::WebContext;
use reelgate_domain::catalog::Catalog;

const PAGE_SIZE: u32 = 12;

pub fn router() -> Router<WebContext> {
    Router::new()
        .route("/videos", get(list))
        .route("/videos/{id}/card", get(card))
        .route("/videos/{id}/cancel", post(cancel))
}

/// One generation as its card shows it.
#[derive(Debug, Serialize)]
pub struct CardView {
    pub id: String,
    pub model: String,
    /// The catalog's name for the model (its id when the catalog no longer has it).
    pub model_title: String,
    pub status: &'static str,
    pub is_final: bool,
    /// Still waiting to be sent upstream, so it can be canceled and refunded.
    pub cancelable: bool,
    /// Queued while the video service refuses new work.
    pub held_up: bool,
    pub credits: i64,
    pub prompt: Option<String>,
    /// The other settings, in catalog order, as `name: value` pairs for display.
    pub options: Vec<(String, String)>,
    pub images: Vec<String>,
    /// Kie's links, or signed links to reelgate's own copies once it has them.
    pub videos: Vec<VideoView>,
    /// The first video's first frame, once reelgate has made it.
    pub poster: Option<String>,
    /// Deleted by their owner or the retention policy.
    pub videos_deleted: bool,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Minutes until it should be sent upstream, while queued and that can be said.
    pub starts_in_min: Option<i64>,
    /// Minutes until its videos should be ready, while queued or running.
    pub ready_in_min: Option<i64>,
    /// What extending it costs, if a finished Veo video that can be extended.
    pub extend_credits: Option<i64>,
    /// What its 4K version costs, if it can have one.
    pub upscale_credits: Option<i64>,
}

impl CardView {
    /// With the videos as the API presents them (reelgate's copies where it has them).
    pub fn with_media(mut self, view: &GenerationView) -> Self {
        self.videos = view.videos.clone();
        self.poster = view.thumbnail_url.clone();
        self.videos_deleted = view.videos_deleted;
        let now = Utc::now();
        self.starts_in_min = view.estimated_start_at.map(|at| minutes_until(at, now));
        self.ready_in_min = view.estimated_ready_at.map(|at| minutes_until(at, now));
        self
    }

    /// The card in the page's language, with the catalog's name for the model. Failure
    /// reasons are stored in English; other languages get the translation of their code.
    pub fn new(g: &Generation, catalog: &Catalog, lang: Locale) -> Self {
        let mut card = CardView::from(g);
        if let Some(model) = catalog.model(&g.model) {
            card.model_title = crate::web::catalog_text::model_title(&model.title, lang);
        }
        card.extend_credits = crate::generations::extend::offer(catalog, g);
        card.upscale_credits = crate::generations::upscale::offer(catalog, g);
        card.options = g
            .params
            .iter()
            .filter(|(name, _)| {
                !matches!(name.as_str(), "prompt" | "image_urls" | "negative_prompt")
            })
            .map(|(name, value)| (option_label(lang, name), option_value(lang, name, value)))
            .collect();
        card.error_message = match (&card.error_code, lang) {
            (Some(code), lang) if lang != Locale::En && lang.has(&format!("gen_error.{code}")) => {
                // Kie's own reason has no translation, but it is the reason: keep it.
                let said = card
                    .error_message
                    .as_deref()
                    .and_then(crate::generations::decide::upstream_words);
                let with_words = format!("gen_error.{code}_said");
                Some(match said {
                    Some(said) if lang.has(&with_words) => {
                        lang.text(&with_words).replace("{said}", said)
                    }
                    _ => lang.text(&format!("gen_error.{code}")).to_owned(),
                })
            }
            // The card says the credits came back in its own words.
            _ => card
                .error_message
                .map(|m| m.replace(" Your credits have been returned.", "")),
        };
        card
    }
}

impl From<&Generation> for CardView {
    fn from(g: &Generation) -> Self {
        let text = |name: &str| {
            g.params
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let images = g
            .params
            .get("image_urls")
            .and_then(Value::as_array)
            .map(|urls| {
                urls.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let options = g
            .params
            .iter()
            .filter(|(name, _)| {
                !matches!(name.as_str(), "prompt" | "image_urls" | "negative_prompt")
            })
            .map(|(name, value)| {
                let shown = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (name.clone(), shown)
            })
            .collect();
        CardView {
            id: g.id.to_string(),
            model: g.model.clone(),
            model_title: g.model.clone(),
            status: g.status.as_str(),
            is_final: g.status.is_final(),
            held_up: g.status == Status::Queued && g.blocked_since.is_some(),
            cancelable: g.status == Status::Queued
                && g.dispatch == reelgate_domain::generations::Dispatch::Waiting,
            credits: g.credits.get(),
            prompt: text("prompt"),
            options,
            images,
            videos: g.videos.iter().map(VideoView::from).collect(),
            poster: None,
            videos_deleted: false,
            error_code: g.error.as_ref().map(|e| e.code.clone()),
            error_message: g.error.as_ref().map(|e| e.message.clone()),
            created_at: g.created_at,
            finished_at: g.finished_at,
            starts_in_min: None,
            ready_in_min: None,
            extend_credits: None,
            upscale_credits: None,
        }
    }
}

/// "About N minutes", never less than one: the page's script rounds the same way.
fn minutes_until(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let seconds = (at - now).num_seconds().max(0);
    ((seconds + 30) / 60).max(1)
}

fn option_label(lang: Locale, name: &str) -> String {
    let key = format!("param.{name}");
    if lang.has(&key) {
        lang.text(&key).to_owned()
    } else {
        name.replace('_', " ")
    }
}

fn option_value(lang: Locale, name: &str, value: &Value) -> String {
    match (name, value) {
        ("duration", Value::Number(n)) => {
            lang.text("generate.seconds").replace("{n}", &n.to_string())
        }
        (_, Value::Bool(true)) => lang.text("common.on").to_owned(),
        (_, Value::Bool(false)) => lang.text("common.off").to_owned(),
        (_, Value::String(s)) => {
            crate::web::catalog_text::value_label(name, s, lang).unwrap_or_else(|| s.clone())
        }
        (_, other) => other.to_string(),
    }
}

/// One generation as the operator's tables show it, upstream details included.
#[derive(Debug, Serialize)]
pub struct AdminRow {
    #[serde(flatten)]
    pub card: CardView,
    pub user_id: String,
    pub upstream_task_id: Option<String>,
    pub upstream_error: Option<String>,
    pub upstream_cost_usd: String,
}

impl AdminRow {
    /// In the page's language, as the customer's card; Kie's own words are in
    /// `upstream_error`.
    pub fn new(g: &Generation, catalog: &Catalog, lang: Locale) -> Self {
        AdminRow {
            card: CardView::new(g, catalog, lang),
            user_id: g.user_id.to_string(),
            upstream_task_id: g.upstream_task_id.clone(),
            upstream_error: g.upstream_error.clone(),
            upstream_cost_usd: g.upstream_cost_usd.normalize().to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    cursor: Option<String>,
    status: Option<String>,
    /// The generation just submitted from the generate page.
    submitted: Option<String>,
    /// Why an extension or an upscale asked for from a card was not queued.
    refused: Option<String>,
}

async fn list(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let status = query
        .status
        .as_deref()
        .and_then(|s| s.parse::<Status>().ok());
    let store = &web.api.store;
    let page = match store
        .generations_of(&user.id, status, query.cursor.as_deref(), PAGE_SIZE)
        .await
    {
        Err(StoreError::InvalidCursor) => {
            store
                .generations_of(&user.id, status, None, PAGE_SIZE)
                .await?
        }
        other => other?,
    };
    let catalog = &web.api.catalog;
    let views = present::views(&web.api.lifecycle, &web.api.media.links, &page.items).await?;
    let cards: Vec<CardView> = page
        .items
        .iter()
        .zip(&views)
        .map(|(g, view)| CardView::new(g, catalog, chrome.lang).with_media(view))
        .collect();
    Ok(chrome
        .render(
            "videos.html",
            "videos",
            context! {
                cards => cards,
                next_cursor => page.next_cursor,
                status => status.map(Status::as_str),
                statuses => Status::ALL.map(Status::as_str),
                submitted => query.submitted,
                refused => query.refused.filter(|r| super::follow_ups::REFUSALS.contains(&r.as_str())),
            },
        )?
        .into_response())
}

/// One card alone, for the page's script to swap in when the generation changes.
async fn card(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: GenerationId = id.parse().map_err(|_| WebError::NotFound)?;
    let (generation, copies) = web
        .api
        .store
        .generation_with_media_of(&user.id, &id)
        .await?
        .ok_or(WebError::NotFound)?;
    let view = present::with_copies(
        &web.api.lifecycle,
        &generation,
        &copies,
        &web.api.media.links,
    )
    .await?;
    Ok(chrome
        .render(
            "video_card.html",
            "videos",
            context! { card => CardView::new(&generation, &web.api.catalog, chrome.lang).with_media(&view) },
        )?
        .into_response())
}

#[derive(Deserialize)]
struct CancelForm {
    #[serde(default)]
    csrf: String,
}

/// Cancels a generation not yet sent upstream, as `POST /v1/generations/{id}/cancel` does;
/// one already sent simply shows its card as it is.
async fn cancel(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Path(id): Path<String>,
    WebForm(form): WebForm<CancelForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let id: GenerationId = id.parse().map_err(|_| WebError::NotFound)?;
    match cancel::cancel(&web.api.lifecycle, &user.id, &id).await? {
        Cancel::Done(_) | Cancel::TooLate(_) => {}
        Cancel::NotFound => return Err(WebError::NotFound),
    }
    Ok(Redirect::to(&format!("/videos#{id}")).into_response())
}
