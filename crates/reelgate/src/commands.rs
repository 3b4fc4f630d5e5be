//! What the `reelgate` binary does with its command line. In the library, not in `main.rs`,
//! so that `reelgate-bench` can be the product too and start itself as `sim` and `serve`.

use anyhow::Context;
use reelgate_store::{DatabaseUrl, Store};
use std::process::ExitCode;

use crate::app::Application;
use crate::cli::{Cli, Command};
use crate::config::Config;

/// Runs one command. An error is one line on stderr and exit code 1: anyhow's `Debug` report,
/// which `main` returning `Result` would print, adds a backtrace of the runtime's frames
/// whenever `RUST_BACKTRACE` is set, which tells an operator nothing.
pub fn main(cli: Cli) -> ExitCode {
    crate::telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the runtime")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    // `{:#}` joins the context chain on one line: "cannot open …: no such file".
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = Config::load()?;
            let sign_in = format!(
                "{}/signin",
                config.public_url.as_str().trim_end_matches('/')
            );
            let app = Application::build(config).await?;
            if let Some(operator) = crate::web::first_run::ensure_operator(app.store()).await? {
                println!(
                    "{}",
                    crate::web::first_run::announcement(&operator, &sign_in)
                );
            }
            tracing::info!("reelgate listening on http://{}", app.local_addr());
            app.run_until_stopped_as(args.role())
                .await
                .context("server failed")?;
        }
        Command::Backup { to } => {
            let config = Config::load()?;
            // Connecting would create a missing SQLite file; a backup of nothing is a mistake.
            if let DatabaseUrl::Sqlite { path } = &config.database_url {
                anyhow::ensure!(path.exists(), "no database at {}", path.display());
            }
            let store = Store::connect(&config.database_url)
                .await
                .with_context(|| format!("cannot open {}", config.database_url))?;
            let copied = store.backup_to(&to).await;
            store.close().await;
            copied.with_context(|| format!("cannot back up {}", config.database_url))?;
            println!("copied {} to {}", config.database_url, to.display());
        }
        Command::Migrate => {
            let config = Config::load()?;
            let store = crate::app::open_store(&config).await?;
            println!("database {} is up to date", config.database_url);
            store.close().await;
        }
        Command::Admin(command) => {
            let config = Config::load()?;
            let store = crate::app::open_store(&config).await?;
            let result = crate::operator::run(&store, command, &mut std::io::stdout()).await;
            store.close().await;
            result?;
        }
        Command::Sim(args) => {
            let running = kie_sim::spawn(args.to_config(), args.listen)
                .await
                .with_context(|| format!("cannot listen on {}", args.listen))?;
            crate::app::shutdown_signal().await;
            running.shutdown().await;
        }
        Command::Prices => {
            let config = Config::load()?;
            let catalog = crate::prices::load_catalog(&config)?;
            print!("{}", crate::prices::table(&catalog));
        }
    }
    Ok(())
}
