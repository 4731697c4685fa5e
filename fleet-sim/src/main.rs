//! `gsw-fleet-sim`: many simulated agents speaking the real protocol to a
//! real control plane (started here as a child process), for the fleet
//! benchmarks in docs/benchmarks.md.
//!
//! Each simulated agent is enrolled in the control plane's database with a
//! key derived from its index, then dials the agent WebSocket from one of
//! several 127.0.0.x source addresses, answers the challenge, heartbeats,
//! verifies every bundle it receives and acknowledges it.
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::{Parser, Subcommand, ValueEnum};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use futures::{SinkExt, StreamExt};
use gsw_protocol::bundle::{self, Expectations};
use gsw_protocol::frame::{
    auth_message, split_delivery, AgentFrame, ServerFrame, PROTOCOL_VERSION,
};
use gsw_storage::{Enrollment, NewAgent, NewEnrollmentToken, NewSite, SiteStatus};
use rand::Rng;
use sha2::{Digest, Sha256};
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(about = "Simulated agents against a real control plane")]
struct Cli {
    /// The control-plane binary to start (build it with --release).
    #[arg(long, default_value = "target/release/gsw-control-plane")]
    server_bin: PathBuf,
    /// Spread connections over this many source addresses (127.0.0.2, …).
    #[arg(long, default_value_t = 4)]
    source_ips: u8,
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Holds N agents connected and heartbeating; reports server memory per agent.
    Hold {
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        /// How long to hold them after all are connected.
        #[arg(long, default_value_t = 30)]
        hold_secs: u64,
    },
    /// Pushes one bundle to N agents; reports acknowledgement latency.
    Push {
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        #[arg(long, default_value_t = 256 * 1024)]
        bytes: usize,
        #[arg(long, value_enum, default_value_t = Verify::Full)]
        verify: Verify,
    },
    /// Restarts the control plane under N agents; reports how fast all are back.
    Reconnect {
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
    },
}

/// How much of a bundle a simulated agent checks before acknowledging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Verify {
    /// Signature, target, sequence, expiry, paths, sizes and every hash (what wp-agent does).
    Full,
    /// Only split the frame and acknowledge (isolates the server's side).
    None,
}

/// What every simulated agent shares.
struct Shared {
    server: SocketAddr,
    url: String,
    bundle_key: VerifyingKey,
    verify: Verify,
    heartbeat: Duration,
    connected: AtomicI64,
    welcomes: AtomicU64,
    failures: AtomicU64,
    events: mpsc::UnboundedSender<Event>,
}

enum Event {
    Acked(Instant),
    Refused(String),
}

struct SimAgent {
    id: Uuid,
    site: Uuid,
    key: SigningKey,
    source: IpAddr,
}

/// A control plane running as a child process.
struct Server {
    child: tokio::process::Child,
    addr: SocketAddr,
    dir: PathBuf,
    bin: PathBuf,
    heartbeat: u64,
}

impl Server {
    async fn start(
        bin: &PathBuf,
        dir: &std::path::Path,
        addr: SocketAddr,
        heartbeat: u64,
    ) -> anyhow::Result<Self> {
        let mut child = tokio::process::Command::new(bin)
            .arg("serve")
            .env("GSW_LISTEN", addr.to_string())
            .env("GSW_DATA_DIR", dir)
            .env("GSW_AGENT_HEARTBEAT_SECS", heartbeat.to_string())
            .env("GSW_AGENT_TIMEOUT_SECS", (heartbeat * 3).to_string())
            .env("GSW_SHUTDOWN_GRACE_SECS", "10")
            // Thousands of simulated hosts share a few source addresses.
            .env("GSW_AGENT_MAX_PENDING_PER_ADDRESS", "1000000")
            .env("RUST_LOG", "error")
            .env_remove("GSW_DATABASE_URL")
            .env_remove("GSW_REDIS_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("server did not start")??
            .context("server exited")?;
        anyhow::ensure!(
            line.contains("listening"),
            "unexpected server output: {line}"
        );
        Ok(Self {
            child,
            addr,
            dir: dir.to_owned(),
            bin: bin.clone(),
            heartbeat,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    /// CPU time (user + system) the server process has used.
    fn cpu(&self) -> Duration {
        cpu_of(&format!("/proc/{}/stat", self.pid()))
    }

    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }

    /// SIGTERM, wait for exit, start again on the same address and data.
    async fn restart(mut self) -> anyhow::Result<(Self, Instant)> {
        let stopping = Instant::now();
        let status = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .await?;
        anyhow::ensure!(status.success(), "kill -TERM failed");
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .context("server did not stop")??;
        println!(
            "  server stopped in {:.2} s ({exit})",
            stopping.elapsed().as_secs_f64()
        );
        let server = Server::start(&self.bin, &self.dir, self.addr, self.heartbeat).await?;
        Ok((server, stopping))
    }
}

/// User + system CPU time from a `/proc/…/stat` file (clock ticks of 10 ms).
fn cpu_of(stat: &str) -> Duration {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = text.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Registers a user through the API, signs in, and returns (user id, access token).
async fn register(base: &str) -> anyhow::Result<(Uuid, String)> {
    let client = reqwest::Client::new();
    let credentials =
        serde_json::json!({"email": "fleet@example.com", "password": "fleet benchmark password"});
    client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&credentials)
        .send()
        .await?
        .error_for_status()?;
    let response: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&credentials)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = response["user"]["id"]
        .as_str()
        .context("user id")?
        .parse()?;
    let token = response["access_token"]
        .as_str()
        .context("access token")?
        .to_owned();
    Ok((id, token))
}

fn agent_key(index: usize) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("gsw-fleet-sim-{index}")).into())
}

/// Creates N sites with enrolled agents directly in the control plane's database.
async fn seed(
    dir: &std::path::Path,
    owner: Uuid,
    count: usize,
    source_ips: u8,
) -> anyhow::Result<Vec<SimAgent>> {
    let started = Instant::now();
    let store = gsw_storage::connect(&format!("sqlite://{}", dir.join("gsw.db").display())).await?;
    let mut agents = Vec::with_capacity(count);
    for index in 0..count {
        let now = chrono::Utc::now();
        let site = store
            .create_site(&NewSite {
                id: Uuid::now_v7(),
                user_id: owner,
                name: format!("Simulated site {index}"),
                domain: None,
                wp_admin_url: None,
                status: SiteStatus::Active,
                metadata: serde_json::json!({}),
                created_at: now,
            })
            .await?;
        let token = format!("sim-token-{index}-{}", Uuid::new_v4());
        let hash = Sha256::digest(token.as_bytes()).to_vec();
        store
            .create_enrollment_token(
                owner,
                &NewEnrollmentToken {
                    id: Uuid::now_v7(),
                    site_id: site.id,
                    token_hash: hash.clone(),
                    created_at: now,
                    expires_at: now + chrono::Duration::hours(1),
                },
            )
            .await?;
        let key = agent_key(index);
        let new = NewAgent {
            id: Uuid::now_v7(),
            connection: gsw_storage::Connection::Agent,
            public_key: key.verifying_key().to_bytes().to_vec(),
            agent_version: "sim".into(),
            hostname: format!("sim-{index}"),
        };
        let Enrollment::Enrolled(agent) = store.enroll_agent(&hash, &new, now).await? else {
            anyhow::bail!("seeding agent {index} failed");
        };
        let source = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            2 + (index % usize::from(source_ips.max(1))) as u8,
        ));
        agents.push(SimAgent {
            id: agent.id,
            site: site.id,
            key,
            source,
        });
    }
    store.close().await;
    println!(
        "  seeded {count} sites and agents in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(agents)
}

fn full_jitter(attempt: u32) -> Duration {
    let ceiling = Duration::from_secs(1)
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(Duration::from_secs(60));
    ceiling.mul_f64(rand::thread_rng().gen::<f64>())
}

/// Runs one simulated agent forever: connect, serve, reconnect like wp-agent.
async fn run_agent(agent: SimAgent, shared: Arc<Shared>) {
    let mut attempt = 0u32;
    let mut last_applied = 0u64;
    loop {
        let delay = match session(&agent, &shared, &mut last_applied).await {
            Ok(Some(delay)) => {
                attempt = 0;
                delay
            }
            Ok(None) => full_jitter(0),
            Err(_) => {
                shared.failures.fetch_add(1, Ordering::Relaxed);
                attempt += 1;
                full_jitter(attempt)
            }
        };
        tokio::time::sleep(delay).await;
    }
}

/// One connection; `Some(delay)` when the server asked for a restart delay.
async fn session(
    agent: &SimAgent,
    shared: &Shared,
    last_applied: &mut u64,
) -> anyhow::Result<Option<Duration>> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(agent.source, 0))?;
    let stream = socket.connect(shared.server).await?;
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .max_message_size(Some(64 << 20));
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(&shared.url, stream, Some(config)).await?;
    let nonce = match ws.next().await.context("closed")?? {
        Message::Text(text) => match serde_json::from_str::<ServerFrame>(&text)? {
            ServerFrame::Challenge { nonce, .. } => STANDARD.decode(nonce)?,
            other => anyhow::bail!("expected challenge, got {other:?}"),
        },
        other => anyhow::bail!("expected challenge, got {other:?}"),
    };
    let hello = AgentFrame::Hello {
        version: PROTOCOL_VERSION,
        agent_id: agent.id,
        signature: STANDARD.encode(agent.key.sign(&auth_message(&nonce, agent.id)).to_bytes()),
        agent_version: "sim".into(),
        last_applied: *last_applied,
    };
    ws.send(Message::Text(serde_json::to_string(&hello)?.into()))
        .await?;
    match ws.next().await.context("closed")?? {
        Message::Text(text) => match serde_json::from_str::<ServerFrame>(&text)? {
            ServerFrame::Welcome { .. } => {}
            other => anyhow::bail!("expected welcome, got {other:?}"),
        },
        other => anyhow::bail!("expected welcome, got {other:?}"),
    }
    shared.connected.fetch_add(1, Ordering::Relaxed);
    shared.welcomes.fetch_add(1, Ordering::Relaxed);
    let outcome = serve(agent, shared, &mut ws, last_applied).await;
    shared.connected.fetch_sub(1, Ordering::Relaxed);
    outcome
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn serve(
    agent: &SimAgent,
    shared: &Shared,
    ws: &mut Ws,
    last_applied: &mut u64,
) -> anyhow::Result<Option<Duration>> {
    let mut ping = tokio::time::interval_at(
        tokio::time::Instant::now() + shared.heartbeat,
        shared.heartbeat,
    );
    loop {
        tokio::select! {
            message = ws.next() => match message.context("closed")?? {
                Message::Binary(frame) => {
                    let (deployment_id, bytes) = split_delivery(&frame).context("short delivery")?;
                    let sequence = match shared.verify {
                        Verify::None => bundle::peek_manifest(bytes).map_or(0, |m| m.sequence),
                        Verify::Full => {
                            let expect = Expectations {
                                site_id: agent.site,
                                last_applied: *last_applied,
                                now: chrono::Utc::now().timestamp(),
                                max_bundle_bytes: 64 << 20,
                                max_unpacked_bytes: 64 << 20,
                            };
                            match bundle::verify(bytes, &shared.bundle_key, &expect) {
                                Ok(verified) => verified.manifest.sequence,
                                Err(err) => {
                                    let _ = shared.events.send(Event::Refused(err.to_string()));
                                    continue;
                                }
                            }
                        }
                    };
                    *last_applied = sequence;
                    let ack = AgentFrame::Ack { deployment_id, sequence };
                    ws.send(Message::Text(serde_json::to_string(&ack)?.into())).await?;
                    let _ = shared.events.send(Event::Acked(Instant::now()));
                }
                Message::Text(text) => {
                    if let Ok(ServerFrame::Restarting { retry_after_ms, spread_ms }) = serde_json::from_str(&text) {
                        let spread = Duration::from_millis(spread_ms).mul_f64(rand::thread_rng().gen::<f64>());
                        return Ok(Some(Duration::from_millis(retry_after_ms) + spread));
                    }
                }
                Message::Close(_) => anyhow::bail!("server closed"),
                _ => {}
            },
            _ = ping.tick() => ws.send(Message::Ping(Default::default())).await?,
        }
    }
}

async fn wait_for(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while !done() {
        anyhow::ensure!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    println!("open-file limit here: {soft} (hard {hard})");
    let dir = tempfile::tempdir()?;
    let addr = free_port()?;
    let heartbeat = 10;
    let server = Server::start(&cli.server_bin, dir.path(), addr, heartbeat).await?;
    let base = format!("http://{addr}");
    let (owner, token) = register(&base).await?;
    let key = std::fs::read_to_string(dir.path().join("bundle-signing-key"))?;
    let seed_key: [u8; 32] = STANDARD.decode(key.trim())?[..32].try_into()?;
    let bundle_key = SigningKey::from_bytes(&seed_key).verifying_key();

    let agents = match &cli.command {
        Bench::Hold { agents, .. } | Bench::Push { agents, .. } | Bench::Reconnect { agents } => {
            *agents
        }
    };
    let verify = match &cli.command {
        Bench::Push { verify, .. } => *verify,
        _ => Verify::Full,
    };
    let sims = seed(dir.path(), owner, agents, cli.source_ips).await?;
    let sites: Vec<Uuid> = sims.iter().map(|a| a.site).collect();
    let (events, mut received) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        server: addr,
        url: format!("ws://{addr}{}", gsw_protocol::frame::AGENT_CONNECT_PATH),
        bundle_key,
        verify,
        heartbeat: Duration::from_secs(heartbeat),
        connected: AtomicI64::new(0),
        welcomes: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        events,
    });

    let rss_before = server.rss_kib();
    let connecting = Instant::now();
    for agent in sims {
        tokio::spawn(run_agent(agent, Arc::clone(&shared)));
    }
    let took = wait_for("all agents to connect", Duration::from_secs(300), || {
        shared.connected.load(Ordering::Relaxed) as usize >= agents
    })
    .await?;
    println!(
        "  {agents} agents connected and authenticated in {:.2} s ({:.0}/s), {} failed attempts",
        took.as_secs_f64(),
        agents as f64 / took.as_secs_f64(),
        shared.failures.load(Ordering::Relaxed)
    );
    let _ = connecting;

    match cli.command {
        Bench::Hold { hold_secs, .. } => {
            tokio::time::sleep(Duration::from_secs(hold_secs)).await;
            let rss_after = server.rss_kib();
            let still = shared.connected.load(Ordering::Relaxed);
            let per_agent = (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / agents as f64;
            println!("hold: {still}/{agents} still connected after {hold_secs} s of {heartbeat}-s heartbeats; reconnects {}",
                shared.welcomes.load(Ordering::Relaxed) - agents as u64);
            println!("hold: server RSS {} MiB before, {} MiB with {agents} agents: {:.0} bytes ({:.2} KiB) per agent",
                rss_before / 1024, rss_after / 1024, per_agent, per_agent / 1024.0);
        }
        Bench::Push { bytes, .. } => {
            let mut content = vec![0u8; bytes];
            rand::thread_rng().fill(content.as_mut_slice());
            let body = serde_json::json!({
                "site_ids": sites,
                "items": [{"kind": "media", "path": "payload.bin", "content_base64": STANDARD.encode(&content)}],
            });
            let client = reqwest::Client::new();
            let (server_cpu, sim_cpu) = (server.cpu(), cpu_of("/proc/self/stat"));
            let started = Instant::now();
            let response = client
                .post(format!("{base}/api/v1/deployments"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?;
            anyhow::ensure!(
                response.status().as_u16() == 202,
                "bulk deployment answered {}",
                response.status()
            );
            let accepted = started.elapsed();
            let mut latencies = Vec::with_capacity(agents);
            while latencies.len() < agents {
                match tokio::time::timeout(Duration::from_secs(60), received.recv()).await {
                    Ok(Some(Event::Acked(at))) => latencies.push(at - started),
                    Ok(Some(Event::Refused(why))) => {
                        anyhow::bail!("a simulated agent refused the bundle: {why}")
                    }
                    _ => anyhow::bail!("only {} of {agents} acknowledged", latencies.len()),
                }
            }
            latencies.sort();
            let server_cpu = server.cpu().saturating_sub(server_cpu);
            let sim_cpu = cpu_of("/proc/self/stat").saturating_sub(sim_cpu);
            println!("push: {bytes}-byte bundle to {agents} agents (verify {verify:?}); API accepted after {:.3} s",
                accepted.as_secs_f64());
            println!(
                "push: acknowledged p50 {:.3} s, p99 {:.3} s, max {:.3} s",
                percentile(&latencies, 50.0).as_secs_f64(),
                percentile(&latencies, 99.0).as_secs_f64(),
                percentile(&latencies, 100.0).as_secs_f64()
            );
            println!(
                "push: CPU used meanwhile: control plane {:.2} s, simulated agents {:.2} s (two cores in all)",
                server_cpu.as_secs_f64(),
                sim_cpu.as_secs_f64()
            );
        }
        Bench::Reconnect { .. } => {
            let failures_before = shared.failures.load(Ordering::Relaxed);
            let welcomes_before = shared.welcomes.load(Ordering::Relaxed);
            let (server, stopping) = server.restart().await?;
            let up = stopping.elapsed();
            let back = wait_for("all agents to come back", Duration::from_secs(180), || {
                shared.welcomes.load(Ordering::Relaxed) - welcomes_before >= agents as u64
                    && shared.connected.load(Ordering::Relaxed) as usize >= agents
            })
            .await?;
            let total = stopping.elapsed();
            println!("reconnect: server back up {:.2} s after SIGTERM; all {agents} agents re-authenticated {:.2} s after SIGTERM",
                up.as_secs_f64(), total.as_secs_f64());
            println!("reconnect: {} failed attempts (connection refused while the server was down, or refused by it)",
                shared.failures.load(Ordering::Relaxed) - failures_before);
            let _ = back;
            drop(server);
        }
    }
    Ok(())
}
