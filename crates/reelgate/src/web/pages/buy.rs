//! Buying credits on the web: the packages, checkout, the live return page that is also the
//! receipt, and the demo provider's payment page.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use reelgate_domain::payments::{PackageId, Payment, PaymentId, PaymentStatus, ProviderKind};
use serde::Deserialize;

use super::Chrome;
use crate::client_addr::ClientAddr;
use crate::front::views::payments::{PackageView, PaymentView};
use crate::payments::demo::DemoChoice;
use crate::payments::PaymentError;
use crate::web::error::{WebError, WebForm};
use crate::web::session::Viewer;
use crate::web::WebContext;

pub fn router() -> Router<WebContext> {
    Router::new()
        .route("/buy", get(buy_page).post(checkout))
        .route("/buy/payments/{id}", get(payment_page))
        .route("/pay/demo/{id}", get(demo_page).post(demo_choice))
}

async fn buy_page(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
) -> Result<Response, WebError> {
    render_buy(&web, &chrome, &user, None).await
}

async fn render_buy(
    web: &WebContext,
    chrome: &Chrome,
    user: &reelgate_domain::accounts::User,
    error: Option<String>,
) -> Result<Response, WebError> {
    let packages = web.api.store.packages(false).await?;
    let filter = reelgate_store::PaymentFilter {
        user: Some(user.id.clone()),
        status: None,
    };
    let payments = web.api.store.payments(&filter, None, 10).await?.items;
    let providers: Vec<&str> = web
        .api
        .payments
        .available()
        .into_iter()
        .map(ProviderKind::as_str)
        .collect();
    Ok(chrome
        .render(
            "buy.html",
            "buy",
            context! {
                packages => packages.iter().map(PackageView::from).collect::<Vec<_>>(),
                payments => payments.iter().map(PaymentView::from).collect::<Vec<_>>(),
                providers,
                demo => web.api.payments.demo().is_some(),
                debt => user.debt.get(),
                error,
            },
        )?
        .into_response())
}

#[derive(Deserialize)]
struct CheckoutForm {
    #[serde(default)]
    csrf: String,
    package: String,
    provider: String,
}

async fn checkout(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    ClientAddr(client): ClientAddr,
    chrome: Chrome,
    WebForm(form): WebForm<CheckoutForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let package: Result<PackageId, _> = form.package.parse();
    let provider: Result<ProviderKind, _> = form.provider.parse();
    let (Ok(package), Ok(provider)) = (package, provider) else {
        return Err(WebError::BadForm("package or provider".into()));
    };
    match web
        .api
        .payments
        .checkout(&user, client, &package, provider)
        .await
    {
        Ok((_, redirect)) if provider == ProviderKind::Demo => {
            Ok(Redirect::to(redirect.as_str()).into_response())
        }
        // The page's `form-action 'self'` forbids a form post to end on another origin, so
        // the provider's page is reached from a page of ours rather than by redirect.
        Ok((_, redirect)) => Ok(chrome
            .render(
                "to_provider.html",
                "buy",
                context! { url => redirect.as_str() },
            )?
            .into_response()),
        Err(PaymentError::Store(e)) => Err(e.into()),
        Err(e) => {
            let message = format!("{} ({e})", chrome.text("buy.provider_failed"));
            render_buy(&web, &chrome, &user, Some(message)).await
        }
    }
}

async fn own(
    web: &WebContext,
    user: &reelgate_domain::accounts::User,
    id: &str,
) -> Result<Payment, WebError> {
    let id: PaymentId = id.parse().map_err(|_| WebError::NotFound)?;
    match web.api.store.payment(&id).await {
        Ok(payment) if payment.user_id == user.id => Ok(payment),
        Ok(_) | Err(reelgate_store::StoreError::PaymentNotFound) => Err(WebError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// The return page while pending (it reloads itself), the receipt once paid.
async fn payment_page(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let payment = own(&web, &user, &id).await?;
    let payment = web.api.payments.refresh(payment).await;
    let status = payment.status();
    Ok(chrome
        .render(
            "payment.html",
            "buy",
            context! {
                payment => PaymentView::from(&payment),
                pending => status == PaymentStatus::Pending,
                status_text => chrome.text(&format!("buy.status_{}", status.as_str())),
            },
        )?
        .into_response())
}

async fn demo_page(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    if web.api.payments.demo().is_none() {
        return Err(WebError::NotFound);
    }
    let payment = own(&web, &user, &id).await?;
    Ok(chrome
        .render(
            "pay_demo.html",
            "buy",
            context! {
                payment => PaymentView::from(&payment),
                pending => payment.status() == PaymentStatus::Pending,
            },
        )?
        .into_response())
}

#[derive(Deserialize)]
struct DemoForm {
    #[serde(default)]
    csrf: String,
    choice: String,
}

async fn demo_choice(
    State(web): State<WebContext>,
    Viewer(user): Viewer,
    chrome: Chrome,
    Path(id): Path<String>,
    WebForm(form): WebForm<DemoForm>,
) -> Result<Response, WebError> {
    chrome.csrf.check(&form.csrf)?;
    let payment = own(&web, &user, &id).await?;
    let choice = match form.choice.as_str() {
        "pay" => Some(DemoChoice::Pay),
        "decline" => Some(DemoChoice::Decline),
        "later" => None,
        _ => return Err(WebError::BadForm("choice".into())),
    };
    web.api
        .payments
        .demo_decide(&payment, choice)
        .await
        .map_err(|e| match e {
            PaymentError::Store(e) => WebError::from(e),
            other => WebError::internal(other),
        })?;
    Ok(Redirect::to(&format!("/buy/payments/{}", payment.id)).into_response())
}
