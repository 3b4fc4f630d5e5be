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
            let sign_in = format!(
                "{}/signin",
                config.public_url.as_str().trim_end_matches('/')
            );
            let app = Application::build(config).await?;
            if let Some(operator) = reelgate::web::first_run::ensure_operator(app.store()).await? {
                println!(
                    "{}",
                    reelgate::web::first_run::announcement(&operator, &sign_in)
                );
            }
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
