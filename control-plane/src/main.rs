//! `gsw-control-plane`: the control plane's command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use gsw_control_plane::{server, telemetry, Server, Settings};
use gsw_storage::Role;

/// The gsWstudio control plane.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML settings file, read after the defaults and before `GSW_` variables.
    #[arg(long, global = true, env = "GSW_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the service: API, dashboard, health and metrics.
    Serve,
    /// Runs generation workers only (no API), to scale them apart from `serve`;
    /// health and metrics on `GSW_METRICS_LISTEN`.
    Worker,
    /// Applies database migrations, then exits.
    Migrate,
    /// Prints the settings in force (secrets redacted).
    Settings,
    /// Manages accounts.
    #[command(subcommand)]
    Users(UsersCommand),
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Gives an existing account a role (`user` or `admin`).
    SetRole {
        /// The account's email address.
        email: String,
        /// `user` or `admin`.
        role: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init_logging(settings.log_format);
    match cli.command {
        Command::Serve => {
            let server = Server::bind(settings).await?;
            let addr = server.local_addr()?;
            // Said on stdout so people and scripts (port 0) see where to go.
            println!("gsWstudio control plane listening on http://{addr}/ (API docs: http://{addr}/api/v1/docs)");
            server.run(server::shutdown_signal()).await
        }
        Command::Worker => server::run_worker(settings, server::shutdown_signal()).await,
        Command::Migrate => {
            let store = server::open_store(&settings).await?;
            store.close().await;
            println!("migrations applied to {:?} database", store.backend());
            Ok(())
        }
        Command::Settings => {
            println!("{settings:#?}");
            Ok(())
        }
        Command::Users(UsersCommand::SetRole { email, role }) => {
            let role: Role = role.parse().context("role must be `user` or `admin`")?;
            let store = server::open_store(&settings).await?;
            let email = email.trim().to_lowercase();
            let changed = store.set_user_role(&email, role).await?;
            store.close().await;
            anyhow::ensure!(changed, "no account with email {email}");
            println!("{email} is now {role}");
            Ok(())
        }
    }
}
