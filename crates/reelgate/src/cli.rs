//! The command line of the README's "Running it".

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "reelgate",
    version,
    about = "Resell AI video generation for prepaid credits"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// HTTP API + web app + upstream callback receiver + background workers.
    Serve(ServeArgs),
    /// The Kie AI simulator alone, on its own address.
    Sim(Box<kie_sim::SimArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Operator commands on the same database as `serve`.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print the effective price list.
    Prices,
    /// Copy the SQLite database, consistently, while `serve` runs.
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long)]
        to: std::path::PathBuf,
    },
}

/// Which parts of reelgate one `serve` process runs (both by default).
#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Serve the HTTP API, web app and callbacks, but run no background workers.
    #[arg(long, conflicts_with = "workers_only")]
    pub api_only: bool,
    /// Run the background workers; HTTP serves only /healthz, /readyz and /metrics.
    #[arg(long)]
    pub workers_only: bool,
}

impl ServeArgs {
    pub fn role(&self) -> crate::app::Role {
        match (self.api_only, self.workers_only) {
            (true, _) => crate::app::Role::ApiOnly,
            (_, true) => crate::app::Role::WorkersOnly,
            _ => crate::app::Role::All,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a customer (or, with --admin, an operator).
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        admin: bool,
    },
    /// Grant credits to a user.
    Grant {
        #[arg(long)]
        email: String,
        #[arg(long, allow_hyphen_values = true)]
        credits: i64,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Create an API key; the key is printed alone on the last line.
    CreateApiKey {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
}
