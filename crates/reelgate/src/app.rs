//! Start-up as a value: `Application::build` wires everything from a `Config` and binds the
//! listener, so tests can start the real app on port 0 and learn its address.

use axum::extract::DefaultBodyLimit;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::balance_guard::BalanceGuard;
use crate::config::Config;
use crate::front::AppState;
use crate::generations::callback_token::CallbackTokens;
use crate::generations::key_seal::KeySeal;
use crate::generations::keys::KeySetup;
use crate::generations::Lifecycle;
use crate::http;
use crate::mail::Mailer;
use crate::media::{Media, MediaError, MediaLinks};
use crate::monitoring;
use crate::prices::{load_catalog, PricingFileError};
use crate::upstream::{Upstream, UpstreamError};
use reelgate_store::{Store, StoreError};

/// Request bodies larger than this are refused before they are read (image uploads included).
const MAX_BODY_BYTES: usize = 12 * 1024 * 1024;
/// How long workers get at shutdown to record the answers to requests they sent.
const WORKER_DRAIN: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("database {url}: {source}")]
    Database { url: String, source: StoreError },
    #[error(transparent)]
    Pricing(#[from] PricingFileError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailStartError),
}

/// A path no route takes: a person's browser gets the web app's page, a program the JSON
/// envelope. Here, where both front ends are composed, so that neither needs the other.
async fn not_found(headers: axum::http::HeaderMap) -> axum::response::Response {
    crate::web::not_found_page(&headers).unwrap_or_else(|| {
        axum::response::IntoResponse::into_response(http::ApiError::NotFound("route"))
    })
}

/// A method a path does not take, answered the same way for every route of the app (axum
/// gives each route this fallback once it is set on the merged router).
async fn method_not_allowed(headers: axum::http::HeaderMap) -> axum::response::Response {
    crate::web::method_not_allowed_page(&headers).unwrap_or_else(|| {
        axum::response::IntoResponse::into_response(http::ApiError::MethodNotAllowed)
    })
}

/// What a `serve` process runs. Every instance may run everything; splitting lets the API
/// scale apart from the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// The HTTP API, web app and callback receiver, and the background workers.
    #[default]
    All,
    /// HTTP only: jobs are left in the database for workers elsewhere.
    ApiOnly,
    /// Workers only; HTTP serves just `/healthz`, `/readyz` and `/metrics`.
    WorkersOnly,
}

impl Role {
    fn serves_api(self) -> bool {
        self != Role::WorkersOnly
    }

    fn runs_workers(self) -> bool {
        self != Role::ApiOnly
    }
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// What a workers-only instance serves instead of `router`.
    probes: axum::Router,
    store: Store,
    lifecycle: Arc<Lifecycle>,
    upstream: Upstream,
    guard: Arc<BalanceGuard>,
    media: Arc<Media>,
    mailer: Arc<Mailer>,
    /// Pending payments are checked with their provider, then credited or expired.
    payment_expiry: Arc<crate::payments::expiry::PaymentExpiry>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let mut config = config;
        // Listening on port 0 (tests) picks a free port; callbacks must name the real one.
        if config.public_url.port() == Some(0) {
            if let Ok(bound) = listener.local_addr() {
                let _ = config.public_url.set_port(Some(bound.port()));
            }
        }
        let catalog = Arc::new(load_catalog(&config)?);
        let store = open_store(&config).await?;
        let upstream = Upstream::start(&config.upstream, config.lifecycle.upstream_timeout).await?;
        let mut settings = config.lifecycle.clone();
        if upstream.is_simulated() {
            settings.expected = upstream.expected_durations();
        }
        let lifecycle = Lifecycle::new(
            store.clone(),
            KeySetup {
                first: upstream.first_key.clone(),
                more: upstream.more_keys.clone(),
                template: upstream.template.clone(),
                seal: KeySeal::new(&config.secret),
            },
            settings,
            CallbackTokens::new(config.secret.clone())
                .with_kie_webhook_key(config.kie_webhook_key.clone()),
            config.public_url.clone(),
            upstream.upload_base_url.clone(),
        );
        // The keys the operator entered, before any worker or request needs them.
        if let Err(error) = lifecycle.keys.sync().await {
            tracing::error!(%error, "cannot read the operator's Kie keys; retrying in the background");
        }
        let guard = BalanceGuard::new(
            config.guard.clone(),
            Arc::clone(&lifecycle),
            upstream.is_simulated(),
        );
        let links = MediaLinks::new(
            config.secret.clone(),
            config.public_url.clone(),
            config.media.link_ttl,
        );
        let media = Media::open(config.media.clone(), links, &config.data_dir).await?;
        let mailer = Mailer::new(config.mail.clone(), config.public_url.clone())?;
        let ctx_upstream = upstream.clone();
        let payments = Arc::new(crate::payments::Payments::new(
            store.clone(),
            config.public_url.clone(),
            config.payments.providers(),
        ));
        let payment_expiry = Arc::new(crate::payments::expiry::PaymentExpiry::new(
            Arc::clone(&payments),
            store.clone(),
            config.payments.expiry,
            config.lifecycle.claim_lease,
        ));
        let ctx = AppState {
            csrf: crate::front::csrf::CsrfKey::from_secret(&config.secret),
            cookies: crate::front::cookies::CookieNames::for_public_url(&config.public_url),
            config: Arc::new(config),
            store: store.clone(),
            upstream: Arc::new(upstream),
            catalog,
            lifecycle: Arc::clone(&lifecycle),
            guard: Arc::clone(&guard),
            media: Arc::clone(&media),
            payments,
            mail: Arc::clone(&mailer),
        };
        monitoring::recorder();
        let trusted = Arc::new(ctx.config.trusted_proxies.clone());
        let request_timeout = ctx.config.request_timeout;
        // Outermost, so that the request's span already knows the client.
        let client_addr =
            axum::middleware::from_fn_with_state(Arc::clone(&trusted), crate::client_addr::resolve);
        let probes = http::probes(ctx.clone())
            .layer(axum::middleware::from_fn(monitoring::track_http))
            .layer(axum::middleware::from_fn(http::envelope::errors))
            .layer(TraceLayer::new_for_http().make_span_with(request_span))
            .layer(client_addr.clone());
        let router = http::api(ctx.clone())
            .merge(crate::web::router(ctx))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(axum::middleware::from_fn(monitoring::track_http))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(axum::middleware::from_fn_with_state(
                request_timeout,
                http::envelope::timeout,
            ))
            .layer(axum::middleware::from_fn(http::envelope::errors))
            .layer(TraceLayer::new_for_http().make_span_with(request_span))
            .layer(client_addr);
        Ok(Application {
            listener,
            router,
            probes,
            store,
            lifecycle,
            upstream: ctx_upstream,
            guard,
            media,
            mailer,
            payment_expiry,
        })
    }

    /// The database the application runs on (tests set up users through it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound TcpListener always has a local address; the fallback is unreachable.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The built-in simulator, when the app runs on one.
    pub fn simulator(&self) -> Option<kie_sim::Simulator> {
        self.upstream.simulator().cloned()
    }

    pub fn lifecycle(&self) -> &Arc<Lifecycle> {
        &self.lifecycle
    }

    /// Serves and runs the workers until SIGTERM or Ctrl-C, then lets in-flight requests
    /// finish and the workers record what they hold.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until_stopped_as(Role::All).await
    }

    /// As [`run_until_stopped`](Self::run_until_stopped), in one role.
    pub async fn run_until_stopped_as(self, role: Role) -> std::io::Result<()> {
        let mut workers = if role.runs_workers() {
            let mut workers = self.lifecycle.start();
            workers.spawn(Arc::clone(&self.guard).run());
            let copier = crate::media::copy::Copier::new(
                Arc::clone(&self.media),
                Arc::clone(&self.lifecycle),
            );
            workers.spawn(crate::worker::run(
                Arc::new(copier),
                self.lifecycle.stopping(),
            ));
            if let Some(mail) = crate::mail::deliver::MailDeliverer::new(
                Arc::clone(&self.mailer),
                Arc::clone(&self.lifecycle),
            ) {
                workers.spawn(crate::worker::run(
                    Arc::new(mail),
                    self.lifecycle.stopping(),
                ));
            }
            // Webhooks carry reelgate's links to the copies, so they need the media's signer.
            let deliverer = crate::webhooks::deliver::Deliverer::new(
                Arc::clone(&self.lifecycle),
                self.media.links.clone(),
            );
            workers.spawn(crate::worker::run(
                Arc::new(deliverer),
                self.lifecycle.stopping(),
            ));
            workers.spawn(crate::worker::run(
                Arc::clone(&self.payment_expiry),
                self.lifecycle.stopping(),
            ));
            workers
        } else {
            tokio::task::JoinSet::new()
        };
        // Every role lists the keys; the workers' role sends with them.
        workers.spawn(crate::generations::operator_keys::keep_in_sync(Arc::clone(
            &self.lifecycle,
        )));
        let router = if role.serves_api() {
            self.router
        } else {
            self.probes
        };
        tracing::info!(?role, "serving");
        let served = crate::http_server::serve(self.listener, router, shutdown_signal()).await;
        self.lifecycle.stop();
        let drained = tokio::time::timeout(WORKER_DRAIN, async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("workers did not stop in time; their claims will expire and be retaken");
        }
        served
    }
}

/// The span every request is logged in: like tower-http's default, but the path is logged
/// without secrets and the query string not at all.
fn request_span(request: &axum::extract::Request) -> tracing::Span {
    let client = request
        .extensions()
        .get::<crate::client_addr::ClientAddr>()
        .and_then(|c| c.0)
        .map(|ip| ip.to_string());
    tracing::debug_span!(
        "request",
        client = client.as_deref().unwrap_or("-"),
        method = %request.method(),
        path = %http::callbacks::loggable_path(request.uri().path()),
        version = ?request.version(),
    )
}

/// Connects to the configured database and brings its schema up to date.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    let database = |source| StartError::Database {
        url: config.database_url.to_string(),
        source,
    };
    let store = Store::connect(&config.database_url)
        .await
        .map_err(database)?;
    let applied = store.migrate().await.map_err(database)?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrated");
    }
    Ok(store)
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
