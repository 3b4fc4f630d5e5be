//! The generate page: pick a model (grouped by family), set its parameters, see the price
//! (live, through `POST /v1/quote`), submit. Submitting goes through the same
//! `generations::submit` as `POST /v1/generations`; uploaded images go to Kie's file upload
//! first, so Kie can fetch them.

use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use reelgate_domain::accounts::User;
use reelgate_domain::catalog::ModelView;
use reelgate_domain::generations::GenerationId;
use reelgate_domain::limits::Breach;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::compose::{self, Values};
use super::Chrome;
use crate::generations::submit::{self, Submission, SubmitError, SubmitOutcome};
use crate::web::error::WebError;
use crate::web::i18n::Locale;
use crate::web::session::Viewer;
use crate::web::WebContext;

mod upload;

pub fn router() -> Router<WebContext> {
    Router::new().route("/generate", get(page).post(create))
}

#[derive(Serialize)]
struct Family {
    name: String,
    models: Vec<ModelCard>,
}

#[derive(Serialize)]
struct ModelCard {
    id: String,
    title: String,
    description: String,
    mode: String,
    available: bool,
    /// Withdrawn by the upstream for now (`generations/model_pause.rs`).
    paused: bool,
    from_credits: Option<i64>,
}

/// A family's name and what it is good for, in the page's language when we have them.
fn family_text(lang: Locale, family: &str, what: &str) -> Option<String> {
    let key = format!("family.{family}.{what}");
    lang.has(&key).then(|| lang.text(&key).to_owned())
}

fn mode(model: &ModelView) -> String {
    serde_json::to_value(model.mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn families(models: &[ModelView], paused: &[String], lang: Locale) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    for m in models {
        let card = ModelCard {
            id: m.id.to_string(),
            title: m.title.clone(),
            description: family_text(lang, &m.family, "good_for")
                .unwrap_or_else(|| m.description.clone()),
            mode: mode(m),
            available: m.available,
            paused: paused.iter().any(|p| p == m.id.as_str()),
            from_credits: m.prices.iter().map(|p| p.credits.get()).min(),
        };
        let name = family_text(lang, &m.family, "name").unwrap_or_else(|| m.family.clone());
        match families.iter_mut().find(|f| f.name == name) {
            Some(family) => family.models.push(card),
            None => families.push(Family {
                name,
                models: vec![card],
            }),
        }
    }
    families
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    model: Option<String>,
    /// A generation of the customer's whose settings to start from.
    from: Option<String>,
    welcome: Option<String>,
}

/// What one rendering of the form shows beyond the catalog.
#[derive(Default)]
struct FormState {
    values: Values,
    errors: HashMap<String, String>,
    error: Option<String>,
    from: bool,
    welcome: bool,
    /// Refused for want of credits (or for debt): the error leads to the page that sells them.
    buy: bool,
}

async fn page(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    let (models, paused) = crate::http::catalog::offered(&web.api).await;
    let mut state = FormState {
        welcome: query.welcome.is_some(),
        ..FormState::default()
    };
    let mut wanted = query.model.clone();
    if let Some(id) = query
        .from
        .as_deref()
        .and_then(|id| id.parse::<GenerationId>().ok())
    {
        if let Some(earlier) = web.api.store.generation_of(&user.id, &id).await? {
            wanted = wanted.or(Some(earlier.model.clone()));
            if wanted.as_deref() == Some(earlier.model.as_str()) {
                state.values = earlier
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), compose::display(v)))
                    .collect();
                state.from = true;
            }
        }
    }
    let model = pick(&models, wanted.as_deref()).ok_or(WebError::NotFound)?;
    let shown = Shown {
        models: &models,
        paused: &paused,
    };
    render(&web, &chrome, &user, shown, model, state, StatusCode::OK)
}

/// The model asked for, else the first one offered.
fn pick<'a>(models: &'a [ModelView], id: Option<&str>) -> Option<&'a ModelView> {
    id.and_then(|id| models.iter().find(|m| m.id.as_str() == id))
        .or_else(|| models.iter().find(|m| m.available))
        .or_else(|| models.first())
}

/// The catalog as the page shows it: every model, and those paused for now.
#[derive(Clone, Copy)]
struct Shown<'a> {
    models: &'a [ModelView],
    paused: &'a [String],
}

fn render(
    web: &WebContext,
    chrome: &Chrome,
    user: &User,
    shown: Shown<'_>,
    model: &ModelView,
    state: FormState,
    status: StatusCode,
) -> Result<Response, WebError> {
    let lang = chrome.lang;
    // The price of what the form shows now; the page's script keeps it current.
    let price = compose::body(model, &state.values, &[])
        .ok()
        .and_then(|body| web.api.catalog.parse(&compose::priceable(model, body)).ok())
        .map(|request| request.quote().credits.get());
    let balance = user.balance.get();
    let short = price.map(|p| p - balance).filter(|missing| *missing > 0);
    let description = if lang == Locale::En {
        model.description.clone()
    } else {
        family_text(lang, &model.family, "good_for").unwrap_or_else(|| model.description.clone())
    };
    let page = chrome.render(
        "generate.html",
        "generate",
        context! {
            families => families(shown.models, shown.paused, lang),
            model => context! {
                id => model.id.as_str(),
                title => model.title,
                family => family_text(lang, &model.family, "name").unwrap_or_else(|| model.family.clone()),
                description => description,
                mode => mode(model),
                available => model.available,
                reason => model.reason,
                paused => shown.paused.iter().any(|p| p == model.id.as_str()),
            },
            params => compose::fields(model, &state.values, &state.errors, lang),
            price => price,
            balance => balance,
            short => short,
            buy_link => state.buy,
            error => state.error,
            submission => hex::encode(rand::random::<[u8; 16]>()),
            from => state.from,
            welcome => state.welcome,
        },
    )?;
    Ok((status, page).into_response())
}

/// Submits the form: fields are read, uploaded images go to Kie's file storage (only once the
/// request is known to be valid and affordable), and the generation is created.
async fn create(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let form = upload::read(multipart).await?;
    chrome.csrf.check(form.csrf())?;
    let (models, paused) = crate::http::catalog::offered(&web.api).await;
    let model =
        pick(&models, form.values.get("model").map(String::as_str)).ok_or(WebError::NotFound)?;
    let lang = chrome.lang;
    let shown = Shown {
        models: &models,
        paused: &paused,
    };
    let refuse = |state: FormState, status: StatusCode| {
        render(&web, &chrome, &user, shown, model, state, status)
    };
    let state = |error: Option<String>, errors: HashMap<String, String>| FormState {
        values: form.values.clone(),
        errors,
        error,
        ..FormState::default()
    };
    let wanting = |error: String| FormState {
        buy: true,
        ..state(Some(error), HashMap::new())
    };

    // Everything but the uploads first, with stand-ins for the files: a request that would be
    // refused uploads nothing.
    let stand_ins: Vec<String> = (0..form.images.len())
        .map(|i| format!("https://upload.invalid/pending-{i}.png"))
        .collect();
    let checked = match compose::body(model, &form.values, &stand_ins) {
        Ok(body) => web.api.catalog.parse(&body),
        Err(bad) => {
            let errors =
                HashMap::from([(bad.field, lang.text("generate.invalid_number").to_owned())]);
            return refuse(state(None, errors), StatusCode::BAD_REQUEST);
        }
    };
    match checked {
        Err(errors) => {
            let (general, by_field) = field_errors(model, errors.into_vec());
            return refuse(state(general, by_field), StatusCode::BAD_REQUEST);
        }
        Ok(_) if user.debt.is_positive() => {
            let error = lang.text("generate.in_debt").to_owned();
            return refuse(wanting(error), StatusCode::PAYMENT_REQUIRED);
        }
        Ok(request) if request.quote().credits > user.balance => {
            let error = need_more(lang, request.quote().credits.get() - user.balance.get());
            return refuse(wanting(error), StatusCode::PAYMENT_REQUIRED);
        }
        Ok(_) => {}
    }
    let mut image_urls = Vec::new();
    for image in &form.images {
        match upload::to_upstream(&web, &user, image).await {
            Ok(url) => image_urls.push(url),
            Err(key) => {
                let error = lang.text(key).to_owned();
                return refuse(state(Some(error), HashMap::new()), StatusCode::BAD_REQUEST);
            }
        }
    }
    let body = compose::body(model, &form.values, &image_urls)
        .map_err(|bad| WebError::BadForm(format!("{} changed between checks", bad.field)))?;
    let submission = Submission {
        body,
        // The form's one-time id: a double-clicked submit creates one generation, not two.
        idempotency_key: form
            .values
            .get("submission")
            .filter(|s| !s.is_empty())
            .cloned(),
    };
    match submit::submit(&web.api.lifecycle, &web.api.catalog, &user.id, submission).await {
        Ok(SubmitOutcome::Created(generation, _)) => {
            Ok(Redirect::to(&format!("/videos?submitted={}", generation.id)).into_response())
        }
        Ok(SubmitOutcome::Replayed(_)) => Ok(Redirect::to("/videos").into_response()),
        Err(SubmitError::Invalid(errors)) => {
            let (general, by_field) = field_errors(model, errors);
            refuse(state(general, by_field), StatusCode::BAD_REQUEST)
        }
        Err(SubmitError::Store(reelgate_store::StoreError::InDebt { .. })) => {
            let error = lang.text("generate.in_debt").to_owned();
            refuse(wanting(error), StatusCode::PAYMENT_REQUIRED)
        }
        Err(SubmitError::InsufficientCredits { balance, needed }) => {
            let error = need_more(lang, needed.get() - balance.get());
            refuse(wanting(error), StatusCode::PAYMENT_REQUIRED)
        }
        Err(SubmitError::IdempotencyConflict) => Ok(Redirect::to("/videos").into_response()),
        Err(SubmitError::LimitReached(breach)) => {
            let (error, status) = limit_text(lang, &breach);
            refuse(state(Some(error), HashMap::new()), status)
        }
        Err(SubmitError::ModelUnavailable { .. }) => {
            let error = lang.text("generate.paused").to_owned();
            refuse(
                state(Some(error), HashMap::new()),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
        Err(SubmitError::Store(error)) => Err(error.into()),
    }
}

/// "You need N more credits for this video."
fn need_more(lang: crate::web::Locale, credits: i64) -> String {
    lang.text("buy.need_more")
        .replace("{credits}", &credits.max(1).to_string())
}

/// Which of the customer's limits refused the video, and when it frees.
fn limit_text(lang: Locale, breach: &Breach) -> (String, StatusCode) {
    match breach {
        Breach::TooManyActive { limit } => (
            lang.text("generate.too_many_active")
                .replace("{limit}", &limit.to_string()),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Breach::TooManyPerMinute { quota } => (
            lang.text("generate.rate_limited")
                .replace("{limit}", &quota.limit.to_string())
                .replace("{seconds}", &quota.reset_secs.max(1).to_string()),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Breach::DailyCap {
            cap,
            spent,
            price,
            resets_at,
        } => (
            lang.text("generate.daily_cap")
                .replace("{price}", &price.to_string())
                .replace("{spent}", &spent.to_string())
                .replace("{cap}", &cap.to_string())
                .replace("{time}", &resets_at.format("%H:%M").to_string()),
            StatusCode::PAYMENT_REQUIRED,
        ),
    }
}

/// The catalog's errors: those about a parameter the form shows go next to it; any other
/// (an unknown model, a malformed URL list) above the form.
fn field_errors(
    model: &ModelView,
    errors: Vec<reelgate_domain::catalog::FieldError>,
) -> (Option<String>, HashMap<String, String>) {
    let mut general = None;
    let mut by_field = HashMap::new();
    for error in errors {
        let shown = model
            .parameters
            .iter()
            .any(|p| p.available && p.name == error.field);
        if shown {
            by_field.entry(error.field).or_insert(error.message);
        } else if general.is_none() {
            general = Some(error.message);
        }
    }
    (general, by_field)
}
