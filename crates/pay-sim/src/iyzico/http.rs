//! The iyzico stand-in's HTTP face. iyzico answers errors as `status: failure` with an
//! `errorCode` and a Turkish `errorMessage`; so does the stand-in.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form as PostForm, Json, Router};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::str::FromStr;

use super::sign::{response_signature, signed_price, verify};
use super::{new_token, Form, FormStatus, IyzicoSim, Tamper};
use crate::html_escape;

const INITIALIZE: &str = "/payment/iyzipos/checkoutform/initialize/auth/ecom";
/// The path `iyzipay` for Python uses for the same call.
const INITIALIZE_SHORT: &str = "/payment/iyzipos/checkoutform/initialize/ecom";
const RETRIEVE: &str = "/payment/iyzipos/checkoutform/auth/ecom/detail";

pub(crate) fn router(sim: IyzicoSim) -> Router {
    Router::new()
        .route(INITIALIZE, post(initialize))
        .route(INITIALIZE_SHORT, post(initialize))
        .route(RETRIEVE, post(retrieve))
        .route("/payment/refund", post(refund_request))
        .route("/v2/payment/refund", post(refund_request))
        .route("/payment/cancel", post(cancel))
        .route("/pay/{token}", get(page).post(choose))
        .with_state(sim)
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn failure(code: &str, message: &str, conversation: Option<&str>) -> Value {
    json!({"status": "failure", "errorCode": code, "errorMessage": message,
           "locale": "tr", "systemTime": now_millis(), "conversationId": conversation})
}

/// The request's JSON once its authorization verifies; iyzico's failure otherwise.
/// A request signed with the merchant's `IYZWSv2` authorization, parsed; otherwise refused as
/// iyzico refuses one (a 200 whose body says `failure`).
struct Signed {
    request: Value,
    path: String,
}

/// As much body as axum's own `String` extractor takes.
const MAX_BODY: usize = 2 * 1024 * 1024;

impl FromRequest<IyzicoSim> for Signed {
    type Rejection = Json<Value>;

    async fn from_request(request: Request, sim: &IyzicoSim) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .ok()
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
            .ok_or_else(|| Json(failure("11", "Geçersiz istek", None)))?;
        let path = parts.uri.path().to_owned();
        let request = authorized(sim, &parts.headers, &path, &body).map_err(Json)?;
        Ok(Signed { request, path })
    }
}

fn authorized(
    sim: &IyzicoSim,
    headers: &HeaderMap,
    path: &str,
    body: &str,
) -> Result<Value, Value> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !verify(
        header,
        &sim.config.api_key,
        &sim.config.secret_key,
        path,
        body,
    ) {
        sim.lock().refused_auth += 1;
        return Err(failure("1000", "Geçersiz imza", None));
    }
    serde_json::from_str(body).map_err(|_| failure("11", "Geçersiz istek", None))
}

fn text<'a>(request: &'a Value, field: &str) -> Option<&'a str> {
    request
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn price(value: Option<&Value>) -> Option<Decimal> {
    let text = match value? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Decimal::from_str(&text).ok().filter(|p| *p > Decimal::ZERO)
}

/// A price as iyzico writes it: a JSON number.
fn number(price: Decimal) -> Value {
    let shortest = signed_price(price);
    serde_json::from_str(&shortest).unwrap_or(Value::Null)
}

async fn initialize(State(sim): State<IyzicoSim>, Signed { request, .. }: Signed) -> Json<Value> {
    let conversation = text(&request, "conversationId");
    let missing = |field: &str| {
        Json(failure(
            "5",
            &format!("{field} gönderilmesi zorunludur"),
            conversation,
        ))
    };
    let Some(price_value) = price(request.get("price")) else {
        return missing("price");
    };
    let Some(paid_price) = price(request.get("paidPrice")) else {
        return missing("paidPrice");
    };
    let Some(currency) = text(&request, "currency") else {
        return missing("currency");
    };
    if !["TRY", "USD", "EUR", "GBP", "IRR", "NOK", "RUB", "CHF"].contains(&currency) {
        return Json(failure("5", "Geçersiz para birimi", conversation));
    }
    let Some(callback) = text(&request, "callbackUrl") else {
        return missing("callbackUrl");
    };
    let Some(basket_id) = text(&request, "basketId") else {
        return missing("basketId");
    };
    let buyer = request.get("buyer").cloned().unwrap_or(Value::Null);
    for field in [
        "id",
        "name",
        "surname",
        "email",
        "identityNumber",
        "registrationAddress",
        "ip",
        "city",
        "country",
    ] {
        if text(&buyer, field).is_none() {
            return missing(&format!("buyer.{field}"));
        }
    }
    let billing = request
        .get("billingAddress")
        .cloned()
        .unwrap_or(Value::Null);
    for field in ["contactName", "city", "country", "address"] {
        if text(&billing, field).is_none() {
            return missing(&format!("billingAddress.{field}"));
        }
    }
    let items = request
        .get("basketItems")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for item in &items {
        for field in ["id", "name", "category1", "itemType"] {
            if text(item, field).is_none() {
                return missing(&format!("basketItems.{field}"));
            }
        }
    }
    // A physical good is shipped somewhere; a virtual one (reelgate's credits) needs no address.
    let physical = items
        .iter()
        .any(|i| text(i, "itemType") == Some("PHYSICAL"));
    if physical
        && request
            .get("shippingAddress")
            .and_then(|a| text(a, "address"))
            .is_none()
    {
        return missing("shippingAddress");
    }
    let basket_total: Option<Decimal> = items.iter().map(|i| price(i.get("price"))).sum();
    if items.is_empty() || basket_total != Some(price_value) {
        return Json(failure(
            "5008",
            "Sepetteki ürünlerin toplam tutarı price değerine eşit olmalıdır",
            conversation,
        ));
    }
    let token = new_token();
    let conversation = conversation.unwrap_or_default().to_owned();
    let signature = response_signature(&sim.config.secret_key, &[&conversation, &token]);
    let mut state = sim.lock();
    let page_url = format!("{}/pay/{token}", state.base_url);
    state.forms.push(Form {
        token: token.clone(),
        conversation_id: conversation.clone(),
        basket_id: basket_id.to_owned(),
        price: price_value,
        paid_price,
        currency: currency.to_owned(),
        callback_url: callback.to_owned(),
        status: FormStatus::Open,
        payment_id: None,
        transaction_id: None,
        refunded: Decimal::ZERO,
        cancelled: false,
        tamper: Tamper::default(),
        refuse_refunds: None,
        buyer,
    });
    Json(json!({
        "status": "success", "locale": text(&request, "locale").unwrap_or("tr"),
        "systemTime": now_millis(), "conversationId": conversation, "token": token,
        "checkoutFormContent": format!("<script type=\"text/javascript\">location.href='{page_url}'</script>"),
        "tokenExpireTime": 1800, "paymentPageUrl": page_url, "signature": signature,
    }))
}

async fn retrieve(State(sim): State<IyzicoSim>, Signed { request, .. }: Signed) -> Json<Value> {
    let conversation = text(&request, "conversationId");
    let Some(form) = text(&request, "token").and_then(|t| sim.form(t)) else {
        return Json(failure("5004", "Geçersiz token", conversation));
    };
    Json(form_answer(&sim, &form, conversation))
}

fn form_answer(sim: &IyzicoSim, form: &Form, asked: Option<&str>) -> Value {
    let conversation = form
        .tamper
        .conversation_id
        .clone()
        .unwrap_or_else(|| form.conversation_id.clone());
    let paid_price = form.tamper.paid_price.unwrap_or(form.paid_price);
    let currency = form
        .tamper
        .currency
        .clone()
        .unwrap_or_else(|| form.currency.clone());
    match form.status {
        FormStatus::Open => {
            let mut answer = failure("5140", "Ödeme tamamlanmadı", asked);
            answer["token"] = Value::from(form.token.clone());
            answer
        }
        FormStatus::Declined => {
            let mut answer = failure("10051", "Kart limiti yetersiz, yetersiz bakiye", asked);
            answer["paymentStatus"] = Value::from("FAILURE");
            answer["token"] = Value::from(form.token.clone());
            answer
        }
        FormStatus::Paid => {
            let payment_id = form.payment_id.clone().unwrap_or_default();
            let mut signature = response_signature(
                &sim.config.secret_key,
                &[
                    "SUCCESS",
                    &payment_id,
                    &currency,
                    &form.basket_id,
                    &conversation,
                    &signed_price(paid_price),
                    &signed_price(form.price),
                    &form.token,
                ],
            );
            if form.tamper.bad_signature {
                signature = signature.chars().rev().collect();
            }
            json!({
                "status": "success", "locale": "tr", "systemTime": now_millis(),
                "conversationId": conversation, "price": number(form.price),
                "paidPrice": number(paid_price), "installment": 1, "paymentId": payment_id,
                "fraudStatus": 1, "currency": currency, "basketId": form.basket_id,
                "binNumber": "552879", "lastFourDigits": "0008", "cardType": "CREDIT_CARD",
                "cardAssociation": "MASTER_CARD", "authCode": "B12345", "phase": "AUTH",
                "itemTransactions": [{
                    "itemId": form.basket_id, "paymentTransactionId": form.transaction_id,
                    "transactionStatus": 2, "price": number(form.price),
                    "paidPrice": number(paid_price),
                }],
                "token": form.token, "callbackUrl": form.callback_url,
                "paymentStatus": "SUCCESS", "signature": signature,
            })
        }
    }
}

/// Refunds `amount` of the paid form `find` picks; iyzico's answer.
fn refund(sim: &IyzicoSim, request: &Value, find: impl Fn(&Form) -> bool) -> Value {
    let conversation = text(request, "conversationId");
    let Some(amount) = price(request.get("price")) else {
        return failure("5", "price gönderilmesi zorunludur", conversation);
    };
    let mut state = sim.lock();
    let Some(form) = state
        .forms
        .iter_mut()
        .find(|f| f.status == FormStatus::Paid && find(f))
    else {
        return failure("5092", "Ödeme bulunamadı", conversation);
    };
    if let Some((code, message)) = &form.refuse_refunds {
        return failure(code, message, conversation);
    }
    if form.refunded + amount > form.paid_price {
        return failure(
            "5093",
            "İade tutarı, ödeme tutarından büyük olamaz",
            conversation,
        );
    }
    form.refunded += amount;
    json!({
        "status": "success", "locale": "tr", "systemTime": now_millis(),
        "conversationId": conversation, "paymentId": form.payment_id,
        "paymentTransactionId": form.transaction_id, "price": number(amount),
        "currency": form.currency, "hostReference": "mock00001iyzihostrfn",
    })
}

/// `/payment/refund` names the basket item's `paymentTransactionId`; `/v2/payment/refund`
/// the whole payment's `paymentId`.
async fn refund_request(
    State(sim): State<IyzicoSim>,
    Signed { request, path }: Signed,
) -> Json<Value> {
    let by_payment = path.starts_with("/v2/");
    let field = if by_payment {
        "paymentId"
    } else {
        "paymentTransactionId"
    };
    let id = text(&request, field).map(str::to_owned);
    Json(refund(&sim, &request, |f| {
        let theirs = if by_payment {
            &f.payment_id
        } else {
            &f.transaction_id
        };
        theirs.is_some() && *theirs == id
    }))
}

async fn cancel(State(sim): State<IyzicoSim>, Signed { request, .. }: Signed) -> Json<Value> {
    let conversation = text(&request, "conversationId");
    let id = text(&request, "paymentId").map(str::to_owned);
    let mut state = sim.lock();
    let Some(form) = state
        .forms
        .iter_mut()
        .find(|f| f.status == FormStatus::Paid && f.payment_id.is_some() && f.payment_id == id)
    else {
        return Json(failure("5092", "Ödeme bulunamadı", conversation));
    };
    if let Some((code, message)) = &form.refuse_refunds {
        return Json(failure(code, message, conversation));
    }
    if form.refunded > Decimal::ZERO || form.cancelled {
        return Json(failure(
            "5094",
            "İptal edilemez: iade yapılmış",
            conversation,
        ));
    }
    form.cancelled = true;
    form.refunded = form.paid_price;
    Json(json!({
        "status": "success", "locale": "tr", "systemTime": now_millis(),
        "conversationId": conversation, "paymentId": form.payment_id,
        "price": number(form.paid_price), "currency": form.currency,
    }))
}

async fn page(State(sim): State<IyzicoSim>, Path(token): Path<String>) -> Response {
    let Some(form) = sim.form(&token) else {
        return (StatusCode::NOT_FOUND, "no such checkout form").into_response();
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>iyzico stand-in</title></head>\
         <body><p><strong>iyzico stand-in</strong>: no money moves.</p><p id=amount>{} {}</p>\
         <form method=post><button id=pay name=choice value=pay>Öde</button>\
         <button id=decline name=choice value=decline>Reddet</button></form></body></html>",
        form.paid_price,
        html_escape(&form.currency)
    ))
    .into_response()
}

/// Like iyzico, the customer's browser then posts the token to the merchant's callback.
async fn choose(
    State(sim): State<IyzicoSim>,
    Path(token): Path<String>,
    PostForm(choice): PostForm<HashMap<String, String>>,
) -> Response {
    let Some(form) = sim.form(&token) else {
        return (StatusCode::NOT_FOUND, "no such checkout form").into_response();
    };
    if choice.get("choice").map(String::as_str) == Some("pay") {
        sim.pay(&token);
    } else {
        sim.decline(&token);
    }
    Html(format!(
        "<!doctype html><html><body onload=\"document.forms[0].submit()\">\
         <form method=post action=\"{}\"><input type=hidden name=token value=\"{}\">\
         <button id=continue>Devam</button></form></body></html>",
        html_escape(&form.callback_url),
        html_escape(&token)
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iyzico::{authorization, spawn, IyzicoConfig};

    fn form_request() -> Value {
        let address = json!({"contactName": "Jane Doe", "city": "Istanbul", "country": "Turkey",
                             "address": "Nidakule Göztepe"});
        json!({
            "locale": "tr", "conversationId": "c1", "price": "10.0", "paidPrice": "10.0",
            "currency": "TRY", "basketId": "b1", "paymentGroup": "PRODUCT",
            "callbackUrl": "https://merchant.example/callback",
            "buyer": {"id": "u1", "name": "Jane", "surname": "Doe", "email": "jane@example.com",
                      "identityNumber": "74300864791", "registrationAddress": "Nidakule Göztepe",
                      "ip": "85.34.78.112", "city": "Istanbul", "country": "Turkey"},
            "billingAddress": address,
            "basketItems": [{"id": "i1", "name": "Credits", "category1": "Credits",
                             "itemType": "VIRTUAL", "price": "10.0"}],
        })
    }

    async fn initialize_with(request: &Value) -> Value {
        let running = spawn(IyzicoConfig::default()).await.unwrap();
        let config = &running.sim.config;
        let body = request.to_string();
        let header = authorization(
            &config.api_key,
            &config.secret_key,
            "rnd",
            INITIALIZE,
            &body,
        );
        reqwest::Client::new()
            .post(format!("{}{INITIALIZE}", running.base_url))
            .header("authorization", header)
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_form_without_a_required_buyer_or_address_field_is_refused_like_iyzico_does() {
        assert_eq!(initialize_with(&form_request()).await["status"], "success");
        let removals: [(&str, &str); 5] = [
            ("buyer", "identityNumber"),
            ("buyer", "email"),
            ("buyer", "ip"),
            ("billingAddress", "contactName"),
            ("billingAddress", "city"),
        ];
        for (object, field) in removals {
            let mut request = form_request();
            request[object].as_object_mut().unwrap().remove(field);
            let answer = initialize_with(&request).await;
            assert_eq!(answer["status"], "failure", "{object}.{field}: {answer}");
            let message = answer["errorMessage"].as_str().unwrap();
            assert!(
                message.contains(&format!("{object}.{field}")),
                "{object}.{field}: {message}"
            );
        }
        let mut request = form_request();
        request["basketItems"][0]["itemType"] = json!("PHYSICAL");
        let answer = initialize_with(&request).await;
        assert_eq!(
            answer["errorMessage"],
            "shippingAddress gönderilmesi zorunludur"
        );
    }
}
