use anyhow::Context;
use clap::Parser;
use reelgate::app::Application;
use reelgate::cli::{Cli, Command};
use reelgate::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    reelgate::telemetry::init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => {
            let config = Config::load()?;
            let app = Application::build(config).await?;
            tracing::info!("reelgate listening on http://{}", app.local_addr());
            app.run_until_stopped().await.context("server failed")?;
        }
        other => anyhow::bail!("{other:?} is not available in this build yet"),
    }
    Ok(())
}
