//! Serving a stand-in on a free port in the background, for as long as its handle lives.

use tokio::sync::oneshot;

/// A stand-in being served; dropping it stops the server.
pub struct Running<S> {
    /// `http://` + the bound address.
    pub base_url: String,
    /// The stand-in's state and controls.
    pub sim: S,
    stop: Option<oneshot::Sender<()>>,
}

impl<S> Running<S> {
    pub(crate) async fn serve(sim: S, router: axum::Router) -> std::io::Result<Running<S>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "payment stand-in stopped");
            }
        });
        Ok(Running {
            base_url,
            sim,
            stop: Some(stop),
        })
    }
}

impl<S> Drop for Running<S> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
