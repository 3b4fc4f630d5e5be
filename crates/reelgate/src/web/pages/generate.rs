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
use crate::generations::model_pause;
use crate::generations::submit::{self, Submission, SubmitError, SubmitOutcome};
use crate::web::catalog_text;
use crate::web::error::WebError;
use crate::web::i18n::Locale;
use crate::web::session::Viewer;
use crate::web::WebContext;
use reelgate_store::StoreError;

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

fn families(models: &[ModelView], paused: &[String], lang: Locale) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    for m in models {
        let card = ModelCard {
            id: m.id.to_string(),
            title: catalog_text::model_title(&m.title, lang),
            description: catalog_text::good_for(m, lang),
            mode: catalog_text::mode_tag(m).to_owned(),
            available: m.available,
            paused: paused.iter().any(|p| p == m.id.as_str()),
            from_credits: cheapest(m),
        };
        let name = catalog_text::family_name(&m.family, lang);
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

fn cheapest(model: &ModelView) -> Option<i64> {
    model.prices.iter().map(|p| p.credits.get()).min()
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
    let (models, paused) = model_pause::offered(&web.api.lifecycle, &web.api.catalog).await;
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
                keep_uploaded(&web, &user, &earlier.params, &mut state.values).await;
                state.from = true;
            }
        }
    }
    let model = pick(&models, wanted.as_deref(), user.balance.get()).ok_or(WebError::NotFound)?;
    let shown = Shown {
        models: &models,
        paused: &paused,
    };
    render(&web, &chrome, &user, shown, model, state, StatusCode::OK)
}

/// Kie's links of images reelgate uploaded are not offered again (they expire, and they name
/// the customer): the kept copies are, as `kept_images`, and go to Kie afresh on submit.
async fn keep_uploaded(
    web: &WebContext,
    user: &User,
    params: &serde_json::Map<String, serde_json::Value>,
    values: &mut Values,
) {
    let Some(urls) = params.get("image_urls").and_then(|v| v.as_array()) else {
        return;
    };
    let mut given = Vec::new();
    let mut kept = Vec::new();
    for url in urls.iter().filter_map(|u| u.as_str()) {
        match web.api.media.input_behind(&user.id, url).await {
            Some(key) => kept.push(key.as_str().to_owned()),
            None => given.push(url),
        }
    }
    values.insert("image_urls".to_owned(), given.join("\n"));
    if !kept.is_empty() {
        values.insert("kept_images".to_owned(), kept.join(" "));
    }
}

/// The model asked for; else the first offered one the customer can afford, so that a
/// newcomer with no credits does not land on the dearest; else the cheapest offered.
fn pick<'a>(models: &'a [ModelView], id: Option<&str>, balance: i64) -> Option<&'a ModelView> {
    let offered = || models.iter().filter(|m| m.available);
    id.and_then(|id| models.iter().find(|m| m.id.as_str() == id))
        .or_else(|| offered().find(|m| cheapest(m).is_some_and(|c| c <= balance)))
        .or_else(|| offered().min_by_key(|m| cheapest(m).unwrap_or(i64::MAX)))
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
    // The catalog's full description says more than a card has room for; it is English.
    let description = if lang == Locale::En {
        model.description.clone()
    } else {
        catalog_text::good_for(model, lang)
    };
    let page = chrome.render(
        "generate.html",
        "generate",
        context! {
            families => families(shown.models, shown.paused, lang),
            model => context! {
                id => model.id.as_str(),
                title => catalog_text::model_title(&model.title, lang),
                family => catalog_text::family_name(&model.family, lang),
                description => description,
                mode => catalog_text::mode_tag(model),
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
            kept_images => state.values.get("kept_images").cloned().unwrap_or_default(),
            kept_count => upload::kept_keys(&state.values).len(),
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
    let mut form = upload::read(multipart).await?;
    chrome.csrf.check(form.csrf())?;
    for key in upload::kept_keys(&form.values) {
        match web.api.media.input(&user.id, &key).await {
            Ok(bytes) => form.images.push(upload::Image::kept(bytes, &key)),
            Err(error) => {
                tracing::warn!(%error, user = %user.id, "a kept image is gone");
                return Err(WebError::BadForm(
                    "an earlier image is no longer kept".into(),
                ));
            }
        }
    }
    let (models, paused) = model_pause::offered(&web.api.lifecycle, &web.api.catalog).await;
    let model = pick(
        &models,
        form.values.get("model").map(String::as_str),
        user.balance.get(),
    )
    .ok_or(WebError::NotFound)?;
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
    let required = web.api.mail.settings.require_verified_email;
    match crate::accounts::verification::may_generate(&web.api.store, required, &user.id).await {
        Err(crate::accounts::VerificationError::Unverified) => {
            let error = lang.text("generate.email_unverified").to_owned();
            return refuse(state(Some(error), HashMap::new()), StatusCode::FORBIDDEN);
        }
        Err(crate::accounts::VerificationError::Store(error)) => return Err(error.into()),
        Err(crate::accounts::VerificationError::Throttled(_)) | Ok(()) => {}
    }
    match submit::submit(&web.api.lifecycle, &web.api.catalog, &user.id, submission).await {
        Ok(SubmitOutcome::Created(generation, _)) => {
            Ok(Redirect::to(&format!("/videos?submitted={}", generation.id)).into_response())
        }
        Ok(SubmitOutcome::Replayed(_)) => Ok(Redirect::to("/videos").into_response()),
        Err(SubmitError::Invalid(errors)) => {
            let (general, by_field) = field_errors(model, errors);
            refuse(state(general, by_field), StatusCode::BAD_REQUEST)
        }
        Err(SubmitError::Store(StoreError::InDebt { .. })) => {
            let error = lang.text("generate.in_debt").to_owned();
            refuse(wanting(error), StatusCode::PAYMENT_REQUIRED)
        }
        Err(SubmitError::Store(StoreError::InsufficientCredits { balance, needed })) => {
            let error = need_more(lang, needed.get() - balance.get());
            refuse(wanting(error), StatusCode::PAYMENT_REQUIRED)
        }
        Err(SubmitError::Store(StoreError::IdempotencyConflict)) => {
            Ok(Redirect::to("/videos").into_response())
        }
        Err(SubmitError::Store(StoreError::LimitReached(breach))) => {
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
