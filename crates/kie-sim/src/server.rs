//! Serving a simulator on its own address, in the background.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::simulator::Simulator;

/// A simulator being served. Dropping it stops the server; [`RunningSim::shutdown`] also
/// waits for in-flight requests to finish.
pub struct RunningSim {
    /// `http://` + the bound address (not the configured public URL).
    pub base_url: String,
    pub sim: Simulator,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// Binds `addr` (port 0 picks a free one) and serves the simulator in the background.
pub async fn spawn(config: SimConfig, addr: SocketAddr) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let base_url = format!("http://{bound}");
    let sim = Simulator::new(config);
    // Ignored when a public URL was configured: that one wins.
    sim.set_base_url(base_url.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let router = sim.router();
    let server = tokio::spawn(async move {
        let serving = axum::serve(listener, router).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(err) = serving.await {
            tracing::error!(error = %err, "kie-sim server stopped");
        }
    });
    tracing::info!(%base_url, "Kie AI simulator listening");
    Ok(RunningSim {
        base_url,
        sim,
        stop: Some(stop),
        server: Some(server),
    })
}

impl RunningSim {
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
