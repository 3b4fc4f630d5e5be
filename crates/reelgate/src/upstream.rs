//! Where generations are bought: Kie AI, or — with no Kie key configured — the built-in
//! simulator, started in-process on a loopback port so the client talks to it over HTTP
//! exactly as it would to Kie.

use kie::{KieClient, KieConfig, KieError, SecretString};
use kie_sim::{RunningSim, SimConfig, Simulator};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::config::Upstream as UpstreamConfig;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot start the built-in Kie simulator: {0}")]
    Simulator(#[source] std::io::Error),
    #[error("cannot build the Kie client: {0}")]
    Client(#[source] KieError),
}

/// The Kie client the workers use, and the simulator behind it when there is one.
#[derive(Clone)]
pub struct Upstream {
    pub client: KieClient,
    simulator: Option<Arc<RunningSim>>,
}

impl Upstream {
    pub async fn start(config: &UpstreamConfig) -> Result<Self, UpstreamError> {
        match config {
            UpstreamConfig::Kie { base_url, api_key } => {
                let mut kie = KieConfig::new(api_key.clone());
                kie.base_url = base_url.clone();
                let client = KieClient::new(kie).map_err(UpstreamError::Client)?;
                Ok(Upstream {
                    client,
                    simulator: None,
                })
            }
            UpstreamConfig::Simulator(sim_config) => {
                Self::simulated(sim_config.as_ref().clone()).await
            }
        }
    }

    async fn simulated(sim_config: SimConfig) -> Result<Self, UpstreamError> {
        let running = kie_sim::spawn(sim_config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(UpstreamError::Simulator)?;
        tracing::warn!(
            simulator = %running.base_url,
            "REELGATE_KIE_API_KEY is not set: using the BUILT-IN KIE AI SIMULATOR. \
             No real videos are generated and nothing is bought from Kie AI."
        );
        let base_url = kie::Url::parse(&running.base_url)
            .map_err(|e| UpstreamError::Simulator(std::io::Error::other(e)))?;
        // The simulator accepts any non-empty key.
        let kie = KieConfig::for_single_host(base_url, SecretString::from("simulator".to_owned()));
        let client = KieClient::new(kie).map_err(UpstreamError::Client)?;
        Ok(Upstream {
            client,
            simulator: Some(Arc::new(running)),
        })
    }

    /// The simulator, when reelgate runs on one (tests and demos steer it through this).
    pub fn simulator(&self) -> Option<&Simulator> {
        self.simulator.as_deref().map(|running| &running.sim)
    }

    pub fn is_simulated(&self) -> bool {
        self.simulator.is_some()
    }
}
