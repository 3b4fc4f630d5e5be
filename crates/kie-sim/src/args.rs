//! `reelgate sim` flags.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::config::{Durations, Faults, RateLimit, SimConfig};

/// Flags for running the simulator on its own address.
#[derive(Clone, Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub listen: SocketAddr,
    /// Seed for every random choice (task ids, outcomes, faults); random when omitted.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Multiplies every default generation time (0 finishes tasks at once).
    #[arg(long, default_value_t = 1.0)]
    pub duration_scale: f64,
    /// Generation time of Veo 3.1 quality, in ms (overrides the scaled default).
    #[arg(long)]
    pub veo3_ms: Option<u64>,
    /// Generation time of Veo 3.1 fast, in ms.
    #[arg(long)]
    pub veo3_fast_ms: Option<u64>,
    /// Generation time of Sora 2, in ms.
    #[arg(long)]
    pub sora_ms: Option<u64>,
    /// Generation time of Sora 2 Pro, in ms.
    #[arg(long)]
    pub sora_pro_ms: Option<u64>,
    /// Generation time of Kling 2.6, in ms.
    #[arg(long)]
    pub kling_ms: Option<u64>,
    /// Generation time of Grok Imagine, in ms.
    #[arg(long)]
    pub grok_ms: Option<u64>,
    /// How long Veo's 1080p file lags behind success, in ms.
    #[arg(long, default_value_t = 2_000)]
    pub hd_delay_ms: u64,
    /// How long Veo's 4K file takes from the get-4k-video request, in ms.
    #[arg(long, default_value_t = 10_000)]
    pub uhd_delay_ms: u64,
    /// Kie's webhook HMAC key: sign every callback with it (as Kie does once the account
    /// turns webhook verification on).
    #[arg(long, env = "KIE_SIM_WEBHOOK_KEY", hide_env_values = true)]
    pub webhook_key: Option<String>,
    /// Creates allowed per API key: `N/SECS` (Kie: 20/10), or `off`.
    #[arg(long, default_value = "20/10", value_parser = parse_rate_limit)]
    pub rate_limit: RateLimitArg,
    /// Share of tasks that end failed.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    pub failure_ratio: f64,
    /// Share of requests answered HTTP 500 without acting.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    pub server_error_ratio: f64,
    /// Latency added to every answer after the work is done, in ms.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of callbacks never sent.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    pub drop_callback_ratio: f64,
    /// Share of callbacks sent twice.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    pub duplicate_callback_ratio: f64,
    /// Share of JSON answers cut short.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    pub malformed_ratio: f64,
    /// Share of Veo 4K upgrades Kie cannot make.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    pub upscale_failure_ratio: f64,
    /// Starting balance in Kie credits.
    #[arg(long, default_value = "1000000", value_parser = Decimal::from_str)]
    pub balance: Decimal,
    /// A Kie account of its own: `KEY=CREDITS`, its own balance (repeatable). Other keys
    /// share `--balance`; every key has its own rate window.
    #[arg(long = "key-balance", value_parser = parse_key_balance)]
    pub key_balances: Vec<(String, Decimal)>,
    /// Base URL put in result and download URLs (default: the listen address).
    #[arg(long)]
    pub public_url: Option<String>,
}

/// A parsed `--rate-limit`: `None` is `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitArg(pub Option<RateLimit>);

fn parse_rate_limit(s: &str) -> Result<RateLimitArg, String> {
    if matches!(s.trim(), "off" | "none" | "0") {
        return Ok(RateLimitArg(None));
    }
    let err = || format!("expected N/SECS such as 20/10, or off (got {s:?})");
    let (n, secs) = s.split_once('/').ok_or_else(err)?;
    let requests: u32 = n.trim().parse().map_err(|_| err())?;
    let secs: f64 = secs.trim().parse().map_err(|_| err())?;
    let per = Duration::try_from_secs_f64(secs).map_err(|_| err())?;
    if requests == 0 || per.is_zero() {
        return Err(err());
    }
    Ok(RateLimitArg(Some(RateLimit { requests, per })))
}

fn parse_key_balance(s: &str) -> Result<(String, Decimal), String> {
    let err = || "expected KEY=CREDITS such as acct-b=500".to_owned();
    let (key, credits) = s.split_once('=').ok_or_else(err)?;
    let credits = Decimal::from_str(credits.trim()).map_err(|_| err())?;
    let key = key.trim();
    if key.is_empty() || credits.is_sign_negative() {
        return Err(err());
    }
    Ok((key.to_owned(), credits))
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("expected a ratio between 0 and 1 (got {s:?})")),
    }
}

impl SimArgs {
    pub fn to_config(&self) -> SimConfig {
        let scaled = Durations::default().scaled(self.duration_scale);
        let pick = |ms: Option<u64>, d: Duration| ms.map_or(d, Duration::from_millis);
        let durations = Durations {
            veo3: pick(self.veo3_ms, scaled.veo3),
            veo3_fast: pick(self.veo3_fast_ms, scaled.veo3_fast),
            sora: pick(self.sora_ms, scaled.sora),
            sora_pro: pick(self.sora_pro_ms, scaled.sora_pro),
            kling: pick(self.kling_ms, scaled.kling),
            grok: pick(self.grok_ms, scaled.grok),
        };
        let defaults = SimConfig::default();
        SimConfig {
            seed: self.seed.unwrap_or(defaults.seed),
            durations,
            hd_delay: Duration::from_millis(self.hd_delay_ms),
            uhd_delay: Duration::from_millis(self.uhd_delay_ms),
            webhook_key: self.webhook_key.clone(),
            rate_limit: self.rate_limit.0,
            faults: Faults {
                failure_ratio: self.failure_ratio,
                server_error_ratio: self.server_error_ratio,
                latency: Duration::from_millis(self.latency_ms),
                drop_callback_ratio: self.drop_callback_ratio,
                duplicate_callback_ratio: self.duplicate_callback_ratio,
                malformed_ratio: self.malformed_ratio,
                upscale_failure_ratio: self.upscale_failure_ratio,
            },
            initial_balance: self.balance,
            public_url: self.public_url.clone(),
            key_balances: self.key_balances.clone(),
        }
    }
}

impl From<SimArgs> for SimConfig {
    fn from(args: SimArgs) -> Self {
        args.to_config()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    fn parse(args: &[&str]) -> Result<SimConfig, clap::Error> {
        let argv = std::iter::once("sim").chain(args.iter().copied());
        Cli::try_parse_from(argv).map(|c| c.sim.to_config())
    }

    #[test]
    fn defaults_are_kie_realistic() {
        let cli = Cli::try_parse_from(["sim"]).unwrap();
        assert_eq!(cli.sim.listen, "127.0.0.1:9090".parse().unwrap());
        let c = cli.sim.to_config();
        assert_eq!(c.rate_limit, Some(RateLimit::KIE));
        assert_eq!(c.durations, Durations::default());
        assert_eq!(c.faults, Faults::default());
        assert_eq!(c.hd_delay, Duration::from_secs(2));
    }

    #[test]
    fn flags_reach_the_config() {
        let c = parse(&[
            "--seed",
            "7",
            "--duration-scale",
            "0",
            "--kling-ms",
            "1500",
            "--rate-limit",
            "5/2",
            "--failure-ratio",
            "0.25",
            "--latency-ms",
            "30",
            "--balance",
            "12.5",
            "--public-url",
            "http://sim.local",
            "--uhd-delay-ms",
            "40",
            "--upscale-failure-ratio",
            "1",
            "--webhook-key",
            "whk",
        ])
        .unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.durations.veo3, Duration::ZERO);
        assert_eq!(c.durations.kling, Duration::from_millis(1500));
        assert_eq!(
            c.rate_limit,
            Some(RateLimit {
                requests: 5,
                per: Duration::from_secs(2)
            })
        );
        assert_eq!(c.faults.failure_ratio, 0.25);
        assert_eq!(c.faults.latency, Duration::from_millis(30));
        assert_eq!(c.initial_balance, Decimal::new(125, 1));
        assert_eq!(c.public_url.as_deref(), Some("http://sim.local"));
        assert_eq!(c.uhd_delay, Duration::from_millis(40));
        assert_eq!(c.faults.upscale_failure_ratio, 1.0);
        assert_eq!(c.webhook_key.as_deref(), Some("whk"));
        assert_eq!(parse(&["--rate-limit", "off"]).unwrap().rate_limit, None);
        let accounts = parse(&["--key-balance", "a=10", "--key-balance", "b=0.5"]).unwrap();
        assert_eq!(
            accounts.key_balances,
            [
                ("a".to_owned(), Decimal::from(10)),
                ("b".to_owned(), Decimal::new(5, 1))
            ]
        );
    }

    #[test]
    fn bad_values_are_refused_at_parse_time() {
        assert!(parse(&["--failure-ratio", "1.5"]).is_err());
        assert!(parse(&["--rate-limit", "20"]).is_err());
        assert!(parse(&["--rate-limit", "0/10"]).is_err());
        assert!(parse(&["--balance", "lots"]).is_err());
        assert!(parse(&["--key-balance", "a"]).is_err());
        assert!(parse(&["--key-balance", "=5"]).is_err());
    }
}
