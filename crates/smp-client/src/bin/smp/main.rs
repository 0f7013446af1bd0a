//! `smp`: talk to an SMP server from a terminal.
//!
//! ```text
//! smp test <address> [--via <proxy>]      the app's server test + a message round trip
//!                                         (with --via: delivered through a forwarding proxy)
//! smp ping <address>                      connect and PING
//! smp queue new <address> --queue-file F  create a queue, keys saved in F
//! smp queue send --queue-file F <text>    send a message (text, or - for stdin)
//!                 [--via <proxy>]         … through a forwarding proxy
//! smp queue recv --queue-file F           receive one message (prints it) and ACK it
//! smp queue del  --queue-file F           delete the queue and F
//! ```
//!
//! Addresses are `smp://<fingerprint>[:password]@host[:port]`. Exit codes: [`failure`].

mod failure;
mod proxy_test;
mod queue_cmd;
mod server_test;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use smp_client::{ClientOptions, SmpClient};
use smp_proto::address::ServerAddress;

use failure::{classify, Failure, FailureClass, EXIT_CODES};

/// Talk to an SMP server: test it, ping it, or use a queue from a terminal.
#[derive(Parser)]
#[command(name = "smp", version, after_help = EXIT_CODES)]
struct Cli {
    /// Highest SMP version to offer (default: all supported, 6..18).
    #[arg(long, global = true, value_name = "N")]
    max_version: Option<u16>,
    /// Seconds to wait for the connection and for each response.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 15)]
    timeout: u64,
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// Run the app's "Test server" steps (connect, create queue, secure, delete, disconnect) and
    /// a send → receive → ack round trip, printing each step with its time and the precise
    /// cause of a failure.
    #[command(after_help = EXIT_CODES)]
    Test {
        /// smp://<fingerprint>[:password]@host[:port]
        address: String,
        /// Private message routing: create the queue on <address> directly, but secure it and
        /// send the test message through this server acting as a forwarding proxy
        /// (PRXY, PFWD → RFWD), as a client with private routing does. Its password, if any,
        /// is the proxy's own.
        #[arg(long, value_name = "PROXY_ADDRESS")]
        via: Option<String>,
    },
    /// Connect, send PING, print the negotiated version.
    #[command(after_help = EXIT_CODES)]
    Ping { address: String },
    /// Create and use one queue; its ids and keys are kept in --queue-file.
    #[command(subcommand)]
    Queue(QueueCommand),
}

#[derive(Subcommand)]
enum QueueCommand {
    /// Create a queue secured with a fresh sender key; write ids and keys to the queue file
    /// (which must not exist; it grants full control of the queue — keep it private).
    #[command(after_help = EXIT_CODES)]
    New {
        address: String,
        #[arg(long, value_name = "FILE")]
        queue_file: PathBuf,
    },
    /// Send one message (the text argument, or standard input with "-").
    #[command(after_help = EXIT_CODES)]
    Send {
        #[arg(long, value_name = "FILE")]
        queue_file: PathBuf,
        /// Ask the server to notify the recipient's push server.
        #[arg(long)]
        notify: bool,
        /// Send through this server acting as a forwarding proxy (PRXY, PFWD → RFWD) instead
        /// of connecting to the queue's server.
        #[arg(long, value_name = "PROXY_ADDRESS")]
        via: Option<String>,
        message: String,
    },
    /// Receive one message: print its body on standard output and acknowledge it
    /// (exit code 11 when none arrives within --wait seconds).
    #[command(after_help = EXIT_CODES)]
    Recv {
        #[arg(long, value_name = "FILE")]
        queue_file: PathBuf,
        #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
        wait: f64,
    },
    /// Delete the queue on the server, then the queue file.
    #[command(after_help = EXIT_CODES)]
    Del {
        #[arg(long, value_name = "FILE")]
        queue_file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::from(FailureClass::Other.exit_code());
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.class.exit_code())
        }
    }
}

fn options(cli: &Cli) -> ClientOptions {
    let mut options = match cli.max_version {
        Some(max) => ClientOptions::max_version(max),
        None => ClientOptions::default(),
    };
    options.response_timeout = Duration::from_secs(cli.timeout.max(1));
    options
}

fn parse_address(text: &str) -> Result<ServerAddress, Failure> {
    ServerAddress::parse(text).map_err(|error| {
        Failure::new(
            FailureClass::Usage,
            format!("invalid server address ({error}); expected smp://<fingerprint>[:password]@host[:port]"),
        )
    })
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let options = options(&cli);
    match cli.command {
        Top::Test { address, via } => {
            let destination = parse_address(&address)?;
            match via {
                Some(proxy) => {
                    proxy_test::run(&destination, &parse_address(&proxy)?, options).await
                }
                None => server_test::run(&destination, options).await,
            }
        }
        Top::Ping { address } => ping(&parse_address(&address)?, options).await,
        Top::Queue(QueueCommand::New {
            address,
            queue_file,
        }) => {
            let parsed = parse_address(&address)?;
            queue_cmd::new_queue(&address, &parsed, options, &queue_file).await
        }
        Top::Queue(QueueCommand::Send {
            queue_file,
            notify,
            via,
            message,
        }) => {
            let via = via.as_deref().map(parse_address).transpose()?;
            let body = if message == "-" {
                let mut bytes = Vec::new();
                std::io::stdin().read_to_end(&mut bytes).map_err(|error| {
                    Failure::new(FailureClass::Other, format!("stdin: {error}"))
                })?;
                bytes
            } else {
                message.into_bytes()
            };
            queue_cmd::send(&queue_file, options, &body, notify, via.as_ref()).await
        }
        Top::Queue(QueueCommand::Recv { queue_file, wait }) => {
            let wait = Duration::try_from_secs_f64(wait.max(0.0))
                .map_err(|_| Failure::new(FailureClass::Usage, "--wait is out of range"))?;
            queue_cmd::receive(&queue_file, options, wait).await
        }
        Top::Queue(QueueCommand::Del { queue_file }) => {
            queue_cmd::delete(&queue_file, options).await
        }
    }
}

async fn ping(address: &ServerAddress, options: ClientOptions) -> Result<(), Failure> {
    let mut steps = server_test::Steps::new(true);
    server_test::probe(&mut steps, address, &options).await?;
    let client = SmpClient::connect(address, options)
        .await
        .map_err(|error| classify(&error, false))?;
    client
        .ping()
        .await
        .map_err(|error| classify(&error, false))?;
    println!(
        "PONG (SMP version {}, block encryption {})",
        client.version(),
        if client.block_encryption() {
            "on"
        } else {
            "off"
        }
    );
    client.close().await;
    Ok(())
}
