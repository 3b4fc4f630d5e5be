//! Relay overhead: what reelgate's Kie client adds to a status read that goes upstream.
//!
//! `GET /v1/generations/{id}` never goes upstream (it reads the database); the status read
//! that does is the tracker's, through `KieClient::task_status`. So this times that call
//! against a bare reqwest GET of the same simulator URL, alternating the two so both see the
//! same machine load. The difference is the client's own work: building the request, its
//! retry and timeout machinery, decoding Kie's envelope and normalising the status.

use kie::{KieClient, KieConfig, SecretString, TaskId};
use std::time::Instant;

use super::report::{median, Row};

pub async fn run(sim_url: &str, task_id: &str, reads: usize) -> anyhow::Result<Vec<Row>> {
    let key = "bench-kie-key";
    let kie = KieClient::new(KieConfig::for_single_host(
        kie::Url::parse(sim_url)?,
        SecretString::from(key.to_owned()),
    ))?;
    let raw = reqwest::Client::new();
    let url = format!("{sim_url}/api/v1/jobs/recordInfo?taskId={task_id}");
    let task = TaskId::from(task_id.to_owned());
    let (mut direct, mut relayed) = (Vec::new(), Vec::new());
    // The first rounds open connections and warm caches; they are not counted.
    let warm_up = reads / 10 + 5;
    for round in 0..reads + warm_up {
        let start = Instant::now();
        let body = raw
            .get(&url)
            .bearer_auth(key)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let direct_us = start.elapsed().as_secs_f64() * 1e6;
        anyhow::ensure!(!body.is_empty(), "the simulator answered nothing");
        let start = Instant::now();
        kie.task_status(&task).await?;
        let relayed_us = start.elapsed().as_secs_f64() * 1e6;
        if round >= warm_up {
            direct.push(direct_us);
            relayed.push(relayed_us);
        }
    }
    let differences: Vec<f64> = relayed.iter().zip(&direct).map(|(r, d)| r - d).collect();
    Ok(vec![
        Row::new(
            "status read through KieClient::task_status",
            "µs",
            vec![median(&relayed)],
        )
        .against("bare reqwest GET", vec![median(&direct)]),
        Row::new(
            "added by the client (median of paired differences)",
            "µs",
            vec![median(&differences)],
        ),
    ])
}
