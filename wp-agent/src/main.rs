//! `wp-agent`: the gsWstudio sidecar on a WordPress host.
//!
//! It never listens on a port: it dials out to the control plane over one
//! WebSocket, so hosts behind NAT and firewalls can be managed.
#![forbid(unsafe_code)]

mod agent;
mod apply;
mod config;
mod disk;
mod enroll;
mod packaging;
mod spool;
mod tls;
mod wordpress;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// The gsWstudio agent for a WordPress host.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Folder for the agent's identity, spool and journal.
    #[arg(
        long,
        global = true,
        env = "GSW_AGENT_STATE_DIR",
        default_value = packaging::DEFAULT_STATE_DIR
    )]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start; boxing `Enroll`'s flags would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Registers this host with the control plane using a one-time token.
    Enroll {
        /// The control plane's URL, e.g. https://gsw.example.com
        #[arg(long)]
        server: String,
        /// The one-time enrollment token from the dashboard or API; `-` reads
        /// it from standard input. (A token on the command line shows in the
        /// process list and shell history: prefer `-` or --token-file.)
        #[arg(
            long,
            required_unless_present = "token_file",
            conflicts_with = "token_file"
        )]
        token: Option<String>,
        /// A file holding the one-time enrollment token.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// The WordPress installation to manage (the folder with wp-config.php).
        /// The connector plugin is installed and activated there.
        #[arg(long, required_unless_present = "apply_dir")]
        wp_path: Option<PathBuf>,
        /// Write bundles into this folder instead of applying them inside
        /// WordPress (hosts without PHP, dry runs).
        #[arg(long)]
        apply_dir: Option<PathBuf>,
        /// The PHP command-line interpreter (default: the one a packaged agent
        /// was built for, else `php` on the PATH).
        #[arg(long, env = "GSW_AGENT_PHP")]
        php: Option<PathBuf>,
        /// The gsw PHP extension (default: found beside wp-agent or in PHP's
        /// extension folder, or already loaded by PHP).
        #[arg(long, env = "GSW_AGENT_PHP_EXTENSION")]
        php_extension: Option<PathBuf>,
        /// Longest one apply may run, in seconds.
        #[arg(long, default_value_t = 600)]
        apply_timeout_secs: u64,
        /// How many of the newest snapshots to keep; each one allows rolling
        /// back one deployment, older ones are removed after each apply.
        #[arg(long, default_value_t = config::DEFAULT_KEEP_SNAPSHOTS as u64, value_parser = clap::value_parser!(u64).range(1..))]
        keep_snapshots: u64,
        /// Extra CA certificate (PEM) to trust for the control plane.
        #[arg(long)]
        ca_cert: Option<PathBuf>,
        /// Largest bundle to accept, in bytes.
        #[arg(long, default_value_t = 64 * 1024 * 1024)]
        max_bundle_bytes: u64,
        /// Allow a plain http:// control plane that is not on this machine.
        /// Anyone on the way could then swap its signing key: only for
        /// networks you trust.
        #[arg(long)]
        insecure: bool,
        /// The control plane's signing-key fingerprint (`SHA256:…`, shown in
        /// the dashboard and in the enrollment command): enrollment fails if
        /// the server answers with another key.
        #[arg(long)]
        expect_key: Option<String>,
    },
    /// Connects to the control plane and applies what it sends, until revoked.
    Run,
    /// Writes the connector plugin this agent installs as an installable
    /// plugin zip (for Plugins > Add New > Upload, or `wp plugin install`).
    ConnectorZip {
        /// Where to write it.
        #[arg(long, default_value = "gsw-connector.zip")]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal, plain text for a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    tls::install_crypto();
    let cli = Cli::parse();
    if let Err(err) = run(cli).await {
        eprintln!("wp-agent: {err:#}");
        let revoked = err.downcast_ref::<agent::Revoked>().is_some();
        std::process::exit(if revoked { agent::EXIT_REVOKED } else { 1 });
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Enroll {
            server,
            token,
            token_file,
            wp_path,
            apply_dir,
            php,
            php_extension,
            apply_timeout_secs,
            keep_snapshots,
            ca_cert,
            max_bundle_bytes,
            insecure,
            expect_key,
        } => {
            // `run` starts elsewhere (systemd starts it in /): every path it
            // will read is written down absolute.
            let state_dir = absolute(&cli.state_dir)?;
            let installation = packaging::Installation::detect();
            packaging::check_enrolling_user(&installation, &state_dir)?;
            let token = enrollment_token(token, token_file)?;
            let config = enroll::enroll(enroll::EnrollOptions {
                server,
                token,
                // A folder target has no WordPress; the path is only recorded.
                wp_path: wp_path
                    .as_deref()
                    .map(absolute)
                    .transpose()?
                    .unwrap_or_default(),
                state_dir: state_dir.clone(),
                apply_dir: apply_dir.as_deref().map(absolute).transpose()?,
                // A bare `php` is looked up on the PATH, as at enrollment.
                php: php
                    .as_deref()
                    .map(|p| {
                        if p.components().count() > 1 {
                            absolute(p)
                        } else {
                            Ok(p.to_owned())
                        }
                    })
                    .transpose()?,
                php_extension: php_extension.as_deref().map(absolute).transpose()?,
                apply_timeout_secs,
                keep_snapshots: usize::try_from(keep_snapshots).unwrap_or(usize::MAX),
                ca_cert: ca_cert.as_deref().map(absolute).transpose()?,
                max_bundle_bytes,
                insecure,
                expect_key,
            })
            .await?;
            println!(
                "enrolled agent {} for site {}; identity in {}.\n{}",
                config.agent_id,
                config.site_id,
                enroll::config_path(&state_dir).display(),
                packaging::next_steps(&installation, &state_dir, &config)
            );
            Ok(())
        }
        Command::ConnectorZip { out } => {
            let zip = wordpress::connector_zip()?;
            std::fs::write(&out, &zip).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} ({} bytes): the gsw-connector plugin of this agent",
                out.display(),
                zip.len()
            );
            Ok(())
        }
        Command::Run => {
            let config = config::AgentConfig::load(&cli.state_dir)?;
            let applier: Box<dyn apply::Applier> = match config.target {
                config::ApplyTarget::Folder => {
                    Box::new(apply::FolderApplier::new(config.apply_dir.clone()))
                }
                config::ApplyTarget::Wordpress => {
                    let wordpress = wordpress::WordPress::from_config(&config, &cli.state_dir)?;
                    wordpress.check()?;
                    // This agent's connector, kept in step with it.
                    match wordpress.install_connector() {
                        Ok(true) => tracing::info!("connector plugin updated"),
                        Ok(false) => {}
                        Err(err) => {
                            tracing::warn!(error = %format!("{err:#}"), "could not update the connector plugin")
                        }
                    }
                    // PHP for the first apply, started before a bundle comes.
                    wordpress.prestart();
                    Box::new(wordpress)
                }
            };
            let agent = agent::Agent::new(config, &cli.state_dir, applier)?;
            agent.run().await
        }
    }
}

/// `path` from the root, against the current folder when relative.
fn absolute(path: &std::path::Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

/// The enrollment token: as given, from standard input (`-`), or from a file.
fn enrollment_token(token: Option<String>, file: Option<PathBuf>) -> anyhow::Result<String> {
    let raw = match (token, file) {
        (Some(token), _) if token == "-" => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the enrollment token from standard input")?;
            line
        }
        (Some(token), _) => token,
        (None, Some(file)) => std::fs::read_to_string(&file)
            .with_context(|| format!("reading the enrollment token from {}", file.display()))?,
        (None, None) => {
            anyhow::bail!("give the enrollment token: --token, --token - or --token-file")
        }
    };
    let token = raw.trim();
    anyhow::ensure!(!token.is_empty(), "the enrollment token is empty");
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{enrollment_token, Cli, Command};
    use clap::Parser;

    #[test]
    fn a_folder_target_needs_no_wordpress_path() {
        let cli = Cli::try_parse_from([
            "wp-agent",
            "enroll",
            "--server",
            "https://gsw.example.com",
            "--token-file",
            "/run/token",
            "--apply-dir",
            "site",
        ])
        .expect("--apply-dir stands in for --wp-path");
        let Command::Enroll {
            wp_path, apply_dir, ..
        } = cli.command
        else {
            panic!("not enroll");
        };
        assert_eq!(wp_path, None);
        assert_eq!(apply_dir.as_deref(), Some(std::path::Path::new("site")));
        // Without either, enroll says what is missing.
        let err = Cli::try_parse_from([
            "wp-agent",
            "enroll",
            "--server",
            "https://gsw.example.com",
            "--token",
            "-",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("--wp-path"), "{err}");
    }

    #[test]
    fn the_token_comes_from_the_flag_or_a_file() {
        assert_eq!(
            enrollment_token(Some(" gswe_abc ".into()), None).unwrap(),
            "gswe_abc"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "gswe_from_file\n").unwrap();
        assert_eq!(
            enrollment_token(None, Some(file.clone())).unwrap(),
            "gswe_from_file"
        );
        std::fs::write(&file, "\n").unwrap();
        assert!(enrollment_token(None, Some(file)).is_err());
        assert!(enrollment_token(None, Some(dir.path().join("missing"))).is_err());
    }
}
