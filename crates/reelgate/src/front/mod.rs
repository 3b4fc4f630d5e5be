//! What the two front ends — the JSON API (`http`) and the web app (`web`) — share, so that
//! neither imports the other: the application state their handlers get, the views of stored
//! records both show, the browser's cookies and the CSRF tokens both accept, and how long a
//! 503 asks a client to wait. The routers are composed in `app.rs`, the one place that knows
//! both.

pub mod cookies;
pub mod csrf;
pub mod views;

use std::sync::Arc;

use crate::config::Config;
use crate::upstream::Upstream;
use reelgate_domain::catalog::Catalog;
use reelgate_store::Store;

/// How long a client should wait before retrying a 503 (an API answer or a web page alike):
/// long enough for a burst that exhausted the database pool to drain.
pub const RETRY_UNAVAILABLE_SECS: u32 = 5;

/// What every handler of both front ends may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub upstream: Arc<Upstream>,
    /// The models, their parameters and prices, as loaded at start.
    pub catalog: Arc<Catalog>,
    /// The generation lifecycle: submissions wake its workers; callbacks feed them.
    pub lifecycle: Arc<crate::generations::Lifecycle>,
    /// Watches the Kie balance; holds dispatch when it runs low.
    pub guard: Arc<crate::balance_guard::BalanceGuard>,
    /// reelgate's copies of the videos.
    pub media: Arc<crate::media::Media>,
    /// Selling credits through the configured payment providers (or the demo one).
    pub payments: Arc<crate::payments::Payments>,
    /// Outgoing mail: rendering, and whether it is sent or kept for the operator.
    pub mail: Arc<crate::mail::Mailer>,
    /// Signs and checks the CSRF tokens of both front ends.
    pub csrf: csrf::CsrfKey,
    /// The web app's cookie names (`__Host-` over https).
    pub cookies: cookies::CookieNames,
}
