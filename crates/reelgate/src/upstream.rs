//! Where generations are bought: Kie AI, or — with no Kie key configured — the built-in
//! simulator, started in-process on a loopback port so the client talks to it over HTTP
//! exactly as it would to Kie.

use kie::{KieClient, KieConfig, KieError, SecretString};
use kie_sim::{RunningSim, SimConfig, Simulator};
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Upstream as UpstreamConfig;
use crate::generations::keys::{fingerprint, UpstreamKey};
use crate::generations::settings::ExpectedDurations;

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
    /// The first key's client (the only one, with one key).
    pub client: KieClient,
    pub first_key: UpstreamKey,
    /// With several Kie keys, the others, in the order configured.
    pub more_keys: Vec<UpstreamKey>,
    /// The first key's client settings: a key the operator adds is used with the same ones.
    pub template: KieConfig,
    /// Where files uploaded through Kie's upload API are served from.
    pub upload_base_url: String,
    simulator: Option<Arc<RunningSim>>,
}

impl Upstream {
    pub async fn start(config: &UpstreamConfig, timeout: Duration) -> Result<Self, UpstreamError> {
        match config {
            UpstreamConfig::Kie {
                base_url,
                upload_url,
                api_key,
                more_keys,
            } => {
                let config = |api_key: &SecretString| {
                    let mut kie = KieConfig::new(api_key.clone());
                    kie.base_url = base_url.clone();
                    if let Some(url) = upload_url {
                        kie.upload_base_url = url.clone();
                    }
                    kie.request_timeout = timeout;
                    kie.connect_timeout = kie.connect_timeout.min(timeout);
                    kie
                };
                let key = |api_key: &SecretString| -> Result<UpstreamKey, UpstreamError> {
                    let kie = config(api_key);
                    Ok(UpstreamKey {
                        label: fingerprint(api_key.expose_secret()),
                        client: KieClient::new(kie).map_err(UpstreamError::Client)?,
                    })
                };
                let first_key = key(api_key)?;
                let more_keys = more_keys.iter().map(key).collect::<Result<Vec<_>, _>>()?;
                if !more_keys.is_empty() {
                    let labels: Vec<&str> = std::iter::once(&first_key)
                        .chain(&more_keys)
                        .map(|k| k.label.as_str())
                        .collect();
                    tracing::info!(keys = ?labels, "dispatch spreads work over several Kie keys");
                }
                Ok(Upstream {
                    client: first_key.client.clone(),
                    upload_base_url: upload_url
                        .clone()
                        .unwrap_or_else(|| KieConfig::new(api_key.clone()).upload_base_url)
                        .to_string(),
                    first_key,
                    more_keys,
                    template: config(api_key),
                    simulator: None,
                })
            }
            UpstreamConfig::Simulator(sim_config) => {
                Self::simulated(sim_config.as_ref().clone(), timeout).await
            }
        }
    }

    async fn simulated(sim_config: SimConfig, timeout: Duration) -> Result<Self, UpstreamError> {
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
        let mut kie =
            KieConfig::for_single_host(base_url, SecretString::from("simulator".to_owned()));
        kie.request_timeout = timeout;
        kie.connect_timeout = kie.connect_timeout.min(timeout);
        let client = KieClient::new(kie.clone()).map_err(UpstreamError::Client)?;
        Ok(Upstream {
            template: kie,
            first_key: UpstreamKey {
                label: fingerprint("simulator"),
                client: client.clone(),
            },
            more_keys: Vec::new(),
            client,
            upload_base_url: running.base_url.clone(),
            simulator: Some(Arc::new(running)),
        })
    }

    /// The simulator, when reelgate runs on one (tests and demos steer it through this).
    pub fn simulator(&self) -> Option<&Simulator> {
        self.simulator.as_deref().map(|running| &running.sim)
    }

    /// How long tasks take upstream: the simulator's configured times, or Kie's typical ones.
    pub fn expected_durations(&self) -> ExpectedDurations {
        match self.simulator() {
            Some(sim) => {
                let d = sim.durations();
                ExpectedDurations {
                    veo: d.veo3_fast.max(d.veo3),
                    sora: d.sora.max(d.sora_pro),
                    kling: d.kling,
                    grok: d.grok,
                }
            }
            None => ExpectedDurations::KIE,
        }
    }

    pub fn is_simulated(&self) -> bool {
        self.simulator.is_some()
    }
}
