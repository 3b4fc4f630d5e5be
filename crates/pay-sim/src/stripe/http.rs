//! The stand-in's HTTP face: the API subset (form-encoded requests, `Authorization: Bearer`,
//! Stripe's error envelope), the hosted payment page, and `/_sim/…` controls for clients that
//! are not in-process (the Python check).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

use super::{Session, SimError, StripeSim};
use crate::{html_escape, random_id};

pub(crate) fn router(sim: StripeSim) -> Router {
    Router::new()
        .route(
            "/v1/checkout/sessions",
            post(create_session).get(list_sessions),
        )
        .route("/v1/checkout/sessions/{id}", get(retrieve_session))
        .route("/v1/refunds", post(create_refund))
        .route("/pay/{id}", get(hosted_page).post(hosted_choice))
        .route("/_sim/events", get(list_events))
        .route("/_sim/events/{id}/signed", get(signed_event))
        .with_state(sim)
}

type Answer = Result<Response, Response>;

fn error(status: StatusCode, kind: &str, message: &str, param: Option<&str>) -> Response {
    let body = json!({"error": {"type": kind, "message": message, "param": param}});
    (status, Json(body)).into_response()
}

fn invalid(message: &str, param: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message,
        Some(param),
    )
}

// One answer per request in a test tool: boxing the refusal would buy nothing.
#[allow(clippy::result_large_err)]
fn authorize(sim: &StripeSim, headers: &HeaderMap) -> Result<(), Response> {
    let want = format!("Bearer {}", sim.config().secret_key);
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(got) if got == want => Ok(()),
        _ => Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
            None,
        )),
    }
}

/// Stripe's form keys (`line_items[0][price_data][currency]`) as sent.
fn fields(body: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn prefixed(fields: &HashMap<String, String>, prefix: &str) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix(prefix)?.strip_suffix(']')?;
            Some((key.to_owned(), Value::from(v.clone())))
        })
        .collect()
}

async fn create_session(State(sim): State<StripeSim>, headers: HeaderMap, body: String) -> Answer {
    authorize(&sim, &headers)?;
    let f = fields(&body);
    let get = |k: &str| f.get(k).cloned();
    if get("mode").as_deref() != Some("payment") {
        return Err(invalid("mode must be payment", "mode"));
    }
    let success_url = get("success_url")
        .ok_or_else(|| invalid("Missing required param: success_url.", "success_url"))?;
    let item = "line_items[0][price_data]";
    let currency = get(&format!("{item}[currency]"))
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase()))
        .ok_or_else(|| invalid("Invalid currency", &format!("{item}[currency]")))?;
    let unit_amount: i64 = get(&format!("{item}[unit_amount]"))
        .and_then(|a| a.parse().ok())
        .filter(|a| *a > 0)
        .ok_or_else(|| invalid("Invalid integer", &format!("{item}[unit_amount]")))?;
    let quantity: i64 = get("line_items[0][quantity]")
        .and_then(|q| q.parse().ok())
        .filter(|q| *q > 0)
        .ok_or_else(|| {
            invalid(
                "Missing required param: line_items[0][quantity].",
                "line_items[0][quantity]",
            )
        })?;
    let product_name = get(&format!("{item}[product_data][name]")).ok_or_else(|| {
        invalid(
            "Missing required param: product_data[name].",
            &format!("{item}[product_data][name]"),
        )
    })?;
    let id = random_id("cs_test_", 58);
    let mut state = sim.lock();
    let session = Session {
        url: format!("{}/pay/{id}", state.base_url),
        id,
        amount_total: unit_amount * quantity,
        currency,
        client_reference_id: get("client_reference_id"),
        customer_email: get("customer_email"),
        metadata: prefixed(&f, "metadata["),
        intent_metadata: prefixed(&f, "payment_intent_data[metadata]["),
        product_name,
        status: "open".into(),
        payment_status: "unpaid".into(),
        payment_intent: None,
        success_url,
        cancel_url: get("cancel_url"),
        created: chrono::Utc::now().timestamp(),
    };
    let answer = session.to_json();
    state.sessions.push(session);
    Ok(Json(answer).into_response())
}

/// `expand[]=payment_intent` and `expand[]=payment_intent.latest_charge`, as Stripe expands.
fn session_json(sim: &StripeSim, session: &Session, expand: &[String]) -> Value {
    let mut answer = session.to_json();
    let wants = |path: &str| expand.iter().any(|e| e == path);
    if wants("payment_intent") || wants("payment_intent.latest_charge") {
        let state = sim.lock();
        let charge = session
            .payment_intent
            .as_ref()
            .and_then(|pi| state.charges.iter().find(|c| &c.payment_intent == pi));
        if let Some(charge) = charge {
            answer["payment_intent"] = charge.intent_json(wants("payment_intent.latest_charge"));
        }
    }
    answer
}

fn expansions(query: &str) -> Vec<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k == "expand[]" || k.starts_with("expand["))
        .map(|(_, v)| v)
        .collect()
}

async fn retrieve_session(
    State(sim): State<StripeSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Answer {
    authorize(&sim, &headers)?;
    sim.pass_hold().await;
    let session = sim.session(&id).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &SimError::NoSuchSession(id.clone()).to_string(),
            Some("id"),
        )
    })?;
    let expand = expansions(uri.query().unwrap_or_default());
    Ok(Json(session_json(&sim, &session, &expand)).into_response())
}

async fn list_sessions(
    State(sim): State<StripeSim>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    authorize(&sim, &headers)?;
    let wanted = query.get("payment_intent");
    let data: Vec<Value> = sim
        .lock()
        .sessions
        .iter()
        .rev()
        .filter(|s| wanted.is_none() || s.payment_intent.as_ref() == wanted)
        .map(Session::to_json)
        .collect();
    Ok(Json(
        json!({"object": "list", "data": data, "has_more": false, "url": "/v1/checkout/sessions"}),
    )
    .into_response())
}

async fn create_refund(State(sim): State<StripeSim>, headers: HeaderMap, body: String) -> Answer {
    authorize(&sim, &headers)?;
    let f = fields(&body);
    let pi = f
        .get("payment_intent")
        .ok_or_else(|| invalid("One of the following params should be provided for this request: payment_intent or charge.", "payment_intent"))?;
    let amount = match f.get("amount") {
        Some(a) => Some(
            a.parse::<i64>()
                .map_err(|_| invalid("Invalid integer", "amount"))?,
        ),
        None => None,
    };
    match sim.refund(pi, amount).await {
        Ok(refund) => Ok(Json(refund).into_response()),
        Err(e @ SimError::NoSuchPayment(_)) => Err(invalid(&e.to_string(), "payment_intent")),
        Err(e) => Err(invalid(&e.to_string(), "amount")),
    }
}

async fn hosted_page(State(sim): State<StripeSim>, Path(id): Path<String>) -> Answer {
    let session = sim
        .session(&id)
        .ok_or_else(|| (StatusCode::NOT_FOUND, "no such checkout session").into_response())?;
    let amount = rust_decimal::Decimal::new(session.amount_total, 2);
    Ok(Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Stripe stand-in checkout</title></head>\
         <body><p><strong>Stripe stand-in</strong>: no money moves.</p>\
         <h1 id=product>{}</h1><p id=amount>{} {}</p>\
         <form method=post><button id=pay name=choice value=pay>Pay</button>\
         <button id=cancel name=choice value=cancel>Cancel</button></form></body></html>",
        html_escape(&session.product_name),
        amount,
        session.currency.to_uppercase()
    ))
    .into_response())
}

async fn hosted_choice(
    State(sim): State<StripeSim>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Answer {
    let session = sim
        .session(&id)
        .ok_or_else(|| (StatusCode::NOT_FOUND, "no such checkout session").into_response())?;
    if form.get("choice").map(String::as_str) == Some("pay") {
        sim.pay(&id)
            .await
            .map_err(|e| (StatusCode::CONFLICT, e.to_string()).into_response())?;
        let to = session.success_url.replace("{CHECKOUT_SESSION_ID}", &id);
        return Ok(Redirect::to(&to).into_response());
    }
    let to = session.cancel_url.unwrap_or(session.success_url);
    Ok(Redirect::to(&to).into_response())
}

async fn list_events(State(sim): State<StripeSim>) -> Json<Value> {
    let events: Vec<Value> = sim
        .events()
        .iter()
        .map(|e| json!({"id": e.id, "type": e.kind}))
        .collect();
    Json(json!({"data": events}))
}

#[derive(serde::Deserialize)]
struct SignedQuery {
    timestamp: Option<i64>,
}

async fn signed_event(
    State(sim): State<StripeSim>,
    Path(id): Path<String>,
    Query(query): Query<SignedQuery>,
) -> Answer {
    let at = query
        .timestamp
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    let (payload, header) = sim
        .signed(&id, at)
        .map_err(|e| (StatusCode::NOT_FOUND, e.to_string()).into_response())?;
    Ok(Json(json!({"payload": payload, "header": header})).into_response())
}
