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
        Command::Migrate => {
            let config = Config::load()?;
            let store = reelgate::app::open_store(&config).await?;
            println!("database {} is up to date", config.database_url);
            store.close().await;
        }
        Command::Admin(command) => {
            let config = Config::load()?;
            let store = reelgate::app::open_store(&config).await?;
            let result = reelgate::operator::run(&store, command, &mut std::io::stdout()).await;
            store.close().await;
            result?;
        }
        Command::Sim(args) => {
            let running = kie_sim::spawn(args.to_config(), args.listen)
                .await
                .with_context(|| format!("cannot listen on {}", args.listen))?;
            reelgate::app::shutdown_signal().await;
            running.shutdown().await;
        }
        Command::Prices => {
            let config = Config::load()?;
            let catalog = reelgate::prices::load_catalog(&config)?;
            print!("{}", reelgate::prices::table(&catalog));
        }
    }
    Ok(())
}
