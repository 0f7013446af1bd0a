//! `smp-bench`: measures an SMP server on this machine. See `docs/benchmarks.md`.
//!
//! Without `--server` each command starts its own server from the `smp-server` binary next to
//! this executable (or `--server-bin`, or `$SMP_SERVER_BIN`) in a temporary directory on
//! 127.0.0.1, and samples its CPU time and memory from /proc.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use smp_bench::floor::Floor;
use smp_bench::load::{self, LoadConfig, LoadResult};
use smp_bench::scenarios;
use smp_bench::server::{default_server_binary, ServerProcess, SignAlgorithm};
use smp_proto::address::ServerAddress;

#[derive(Parser)]
#[command(
    name = "smp-bench",
    version,
    about = "Load generator and measurements for SMP servers"
)]
struct Cli {
    /// The smp-server binary to start (default: next to this executable, or $SMP_SERVER_BIN).
    #[arg(long, global = true, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// Use a running server instead of starting one (smp://<fingerprint>@host:port).
    #[arg(long, global = true, value_name = "ADDRESS")]
    server: Option<String>,
    /// Pid of the running server given with --server, for CPU and memory from /proc.
    #[arg(long, global = true, value_name = "PID")]
    server_pid: Option<u32>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Time the crypto one relayed message needs (the floor).
    Floor {
        #[arg(long, default_value_t = 300)]
        budget_ms: u64,
    },
    /// N connection pairs × M queues: delivered messages/s, latency, server CPU and memory.
    Load {
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[arg(long, default_value_t = 32)]
        queues: usize,
        /// Message body size in bytes (the app pads messages to about 16 KB).
        #[arg(long, default_value_t = 15_000)]
        size: usize,
        /// Messages per second over all queues (0: as fast as possible).
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 3)]
        warmup: u64,
        /// Messages in flight per queue (below the server quota of 128).
        #[arg(long, default_value_t = 4)]
        window: usize,
        /// After the run, run again at half the measured rate (latency at half peak).
        #[arg(long)]
        half_peak: bool,
    },
    /// Connection handshakes per second (TCP + TLS + SMP), against an Ed25519 and an Ed448
    /// server (or --server).
    Handshakes {
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
    },
    /// Create queues, then re-subscribe them all from one connection in batches; also the server
    /// memory per idle queue.
    Subs {
        #[arg(long, default_value_t = 100_000)]
        queues: usize,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        #[arg(long, default_value_t = 4)]
        parallel: usize,
    },
    /// Server memory per idle connection.
    IdleConns {
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Store-log replay: time until a restarted server accepts, memory per queue.
    Replay {
        #[arg(long, default_value_t = 1_000_000)]
        queues: usize,
    },
    /// A few seconds of everything with a tiny load (for CI).
    Smoke,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn binary(cli: &Cli) -> anyhow::Result<PathBuf> {
    cli.server_bin
        .clone()
        .or_else(default_server_binary)
        .context(
        "no smp-server binary: build it (cargo build --release -p smp-server) or pass --server-bin",
    )
}

/// The server to measure: the one given, or a new one (kept alive by the returned process).
fn target(
    cli: &Cli,
    algorithm: SignAlgorithm,
) -> anyhow::Result<(Option<ServerProcess>, ServerAddress, Option<u32>)> {
    if let Some(address) = &cli.server {
        let parsed = ServerAddress::parse(address)
            .map_err(|error| anyhow::anyhow!("invalid --server address: {error}"))?;
        return Ok((None, parsed, cli.server_pid));
    }
    let mut server = ServerProcess::init(&binary(cli)?, algorithm)?;
    server.start()?;
    let address = ServerAddress::parse(&server.address())
        .map_err(|error| anyhow::anyhow!("server address: {error}"))?;
    let pid = server.pid();
    Ok((Some(server), address, pid))
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("n/a".into(), |b| {
        format!("{:.1} MiB", b as f64 / 1_048_576.0)
    })
}

/// `total` shared out over `operations` (at least one), with `precision` decimals and `unit`;
/// `n/a` when the total is unknown.
fn per_operation(total: Option<f64>, operations: f64, precision: usize, unit: &str) -> String {
    total.map_or("n/a".into(), |total| {
        format!("{:.*} {unit}", precision, total / operations.max(1.0))
    })
}

fn print_load(label: &str, result: &LoadResult, floor: &Floor) {
    let latency = &result.latency;
    let ms = |micros: u64| micros as f64 / 1000.0;
    println!("{label}:");
    println!(
        "  delivered {:.0} messages/s ({} in {:.0} s), send errors {}, ack errors {}",
        result.messages_per_second(),
        result.delivered,
        result.seconds,
        result.send_errors,
        result.ack_errors
    );
    println!(
        "  end-to-end latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(latency.value_at_quantile(0.5)),
        ms(latency.value_at_quantile(0.99)),
        ms(latency.max())
    );
    let floor_rate = floor.messages_per_core_second();
    println!(
        "  throughput / floor per core: {:.1} % ({:.0} / {:.0} messages/s)",
        100.0 * result.messages_per_second() / floor_rate,
        result.messages_per_second(),
        floor_rate
    );
    if let Some(cpu) = result.server_cpu_per_1000() {
        let cores = result.server_cpu_seconds.unwrap_or(0.0) / result.seconds.max(1e-9);
        println!(
            "  server CPU: {cpu:.3} s per 1,000 messages ({cores:.2} cores busy); crypto floor is {:.3} s per 1,000 → server efficiency {:.1} % of the floor per core-second",
            floor.per_message().as_secs_f64() * 1000.0,
            100.0 * floor.per_message().as_secs_f64() * 1000.0 / cpu.max(1e-12)
        );
    }
    if let Some(client) = result.client_cpu_seconds {
        println!(
            "  bench client CPU: {:.2} cores busy",
            client / result.seconds.max(1e-9)
        );
    }
    println!("  server RSS: {}", mib(result.server_rss_bytes));
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Floor { budget_ms } => {
            let floor = Floor::measure(Duration::from_millis(*budget_ms))?;
            println!("{}", floor.describe());
        }
        Command::Load {
            connections,
            queues,
            size,
            rate,
            seconds,
            warmup,
            window,
            half_peak,
        } => {
            let floor = Floor::measure(Duration::from_millis(300))?;
            println!("{}", floor.describe());
            let (mut server, address, pid) = target(&cli, SignAlgorithm::Ed448)?;
            let mut config = LoadConfig {
                connections: *connections,
                queues_per_connection: *queues,
                message_size: *size,
                rate: *rate,
                duration: Duration::from_secs(*seconds),
                warmup: Duration::from_secs(*warmup),
                window: *window,
            };
            println!(
                "load: {connections} connection pairs × {queues} queues, {size}-byte messages, rate {}, {seconds} s after {warmup} s warm-up",
                if *rate > 0.0 { format!("{rate} msg/s") } else { "unlimited".into() }
            );
            let result = load::run(&address, &config, pid).await?;
            print_load("run", &result, &floor);
            // A server that died during the run must not pass for a slow one.
            server.as_mut().map_or(Ok(()), ServerProcess::check_alive)?;
            if *half_peak {
                config.rate = result.messages_per_second() / 2.0;
                println!("half peak: rate {:.0} msg/s", config.rate);
                let half = load::run(&address, &config, pid).await?;
                print_load("half-peak run", &half, &floor);
                server.as_mut().map_or(Ok(()), ServerProcess::check_alive)?;
            }
        }
        Command::Handshakes {
            concurrency,
            seconds,
        } => {
            let algorithms: &[SignAlgorithm] = if cli.server.is_some() {
                &[SignAlgorithm::Ed448]
            } else {
                &[SignAlgorithm::Ed25519, SignAlgorithm::Ed448]
            };
            for algorithm in algorithms {
                let (_server, address, pid) = target(&cli, *algorithm)?;
                let result = scenarios::handshakes(
                    &address,
                    *concurrency,
                    Duration::from_secs(*seconds),
                    pid,
                )
                .await;
                println!(
                    "handshakes ({}): {:.0}/s ({} in {:.1} s, {} failed, {concurrency} concurrent); server CPU {}",
                    if cli.server.is_some() { "given server".to_string() } else { format!("{algorithm:?} certificates") },
                    result.per_second(),
                    result.completed,
                    result.seconds,
                    result.failed,
                    per_operation(
                        result.server_cpu_seconds.map(|cpu| cpu * 1000.0),
                        result.completed as f64,
                        2,
                        "ms per handshake"
                    )
                );
            }
        }
        Command::Subs {
            queues,
            connections,
            batch,
            parallel,
        } => {
            let (_server, address, pid) = target(&cli, SignAlgorithm::Ed448)?;
            let result =
                scenarios::subscriptions(&address, *queues, *connections, *batch, *parallel, pid)
                    .await?;
            println!(
                "created {} queues in {:.1} s ({:.0} NEW/s over {connections} connections)",
                result.queues,
                result.create_seconds,
                result.queues as f64 / result.create_seconds.max(1e-9)
            );
            println!(
                "subscriptions: {:.0}/s ({} SUB in {:.2} s, {} errors, batches of {batch}, {parallel} in flight); server CPU {}",
                result.per_second(),
                result.subscribed,
                result.subscribe_seconds,
                result.sub_errors,
                per_operation(
                    result.subscribe_cpu_seconds.map(|cpu| cpu * 1e6),
                    result.subscribed as f64,
                    1,
                    "µs per SUB"
                )
            );
            println!(
                "server RSS: before {}, idle queues {}, subscribed {}; {} per idle queue",
                mib(result.rss_before),
                mib(result.rss_idle_queues),
                mib(result.rss_subscribed),
                result
                    .bytes_per_idle_queue()
                    .map_or("n/a".into(), |b| format!("{b:.0} B"))
            );
        }
        Command::IdleConns {
            connections,
            concurrency,
        } => {
            let (_server, address, pid) = target(&cli, SignAlgorithm::Ed448)?;
            let result =
                scenarios::idle_connections(&address, *connections, *concurrency, pid).await;
            println!("{}", result.fd_limit_note);
            println!(
                "idle connections: {} open ({} failed) in {:.1} s; server RSS {} → {}: {} per connection; bench client {} per connection",
                result.opened,
                result.failed,
                result.seconds,
                mib(result.rss_before),
                mib(result.rss_after),
                result
                    .bytes_per_connection()
                    .map_or("n/a".into(), |b| format!("{:.1} KiB", b / 1024.0)),
                per_operation(
                    result.client_rss_delta.map(|b| b as f64 / 1024.0),
                    result.opened as f64,
                    1,
                    "KiB"
                )
            );
        }
        Command::Replay { queues } => {
            if cli.server.is_some() {
                bail!("replay starts its own servers; do not pass --server");
            }
            let mut server = ServerProcess::init(&binary(&cli)?, SignAlgorithm::Ed448)?;
            let result = scenarios::replay(&mut server, *queues)?;
            println!(
                "replay: {} queues, store log {:.1} MiB; empty start {:.0} ms (RSS {}); start with the log {:.0} ms (RSS {}) → {} per queue; next start {:.0} ms",
                result.queues,
                result.log_bytes as f64 / 1_048_576.0,
                result.empty_start.as_secs_f64() * 1000.0,
                mib(result.empty_rss),
                result.replay_start.as_secs_f64() * 1000.0,
                mib(result.replay_rss),
                result.bytes_per_queue().map_or("n/a".into(), |b| format!("{b:.0} B")),
                result.second_start.as_secs_f64() * 1000.0
            );
        }
        Command::Smoke => smoke(&cli).await?,
    }
    Ok(())
}

/// Every measurement with a tiny load; fails when one of them measured nothing.
async fn smoke(cli: &Cli) -> anyhow::Result<()> {
    let floor = Floor::measure(Duration::from_millis(20))?;
    println!("{}", floor.describe());
    let (_server, address, pid) = target(cli, SignAlgorithm::Ed25519)?;
    let config = LoadConfig {
        connections: 1,
        queues_per_connection: 2,
        message_size: 1_000,
        rate: 0.0,
        duration: Duration::from_secs(2),
        warmup: Duration::from_millis(300),
        window: 2,
    };
    let result = load::run(&address, &config, pid).await?;
    print_load("smoke load", &result, &floor);
    if result.delivered == 0 {
        bail!("smoke load delivered no messages");
    }
    let handshakes = scenarios::handshakes(&address, 2, Duration::from_millis(700), pid).await;
    println!(
        "smoke handshakes: {} ({} failed)",
        handshakes.completed, handshakes.failed
    );
    if handshakes.completed == 0 {
        bail!("no handshake completed");
    }
    let subs = scenarios::subscriptions(&address, 40, 2, 16, 2, pid).await?;
    println!(
        "smoke subscriptions: {} of {}",
        subs.subscribed, subs.queues
    );
    if subs.subscribed != 40 {
        bail!("{} of 40 subscriptions succeeded", subs.subscribed);
    }
    let idle = scenarios::idle_connections(&address, 10, 4, pid).await;
    println!(
        "smoke idle connections: {} ({})",
        idle.opened, idle.fd_limit_note
    );
    if idle.opened != 10 {
        bail!("{} of 10 idle connections opened", idle.opened);
    }
    let mut replay_server = ServerProcess::init(&binary(cli)?, SignAlgorithm::Ed25519)?;
    let replay = scenarios::replay(&mut replay_server, 1_000)?;
    println!(
        "smoke replay: 1000 queues, start {:.0} ms",
        replay.replay_start.as_secs_f64() * 1000.0
    );
    println!("smoke passed");
    Ok(())
}
