//! `smp-server start` (`Server.Main` binding `runServer`, `Env.newEnv` credential checks):
//! verify the identity, print the start-up lines, check storage and credentials, then serve until
//! SIGINT or SIGTERM.

use std::path::Path;

use anyhow::Context;
use openssl::pkey::Id;
use smp_proto::keys::KeyHash;
use smp_server::config::{Config, MessageStoreMode, QueueStoreMode, TransportKind, WebHttps};
use smp_transport::credentials::{check_saved_fingerprint, CredentialsError, ServerCredentials};
use tokio_util::sync::CancellationToken;

use super::args::{LogLevel, StartArgs};
use super::journal::{NO_JOURNAL, NO_POSTGRES};
use super::output;
use super::paths::{display, Paths};
use super::{exit_error, CliResult};

/// Hint printed with HTTPS credential errors (`Env.newEnv` binding `letsEncrypt`).
const LETS_ENCRYPT: &str = "Use Let's Encrypt to generate: certbot certonly --standalone -d yourdomainname --key-type rsa --rsa-key-size 4096\n----------";

pub fn run(paths: &Paths, config: Config, args: StartArgs) -> CliResult {
    init_logging(args.log_level);
    let identity = match check_saved_fingerprint(&paths.cfg) {
        Ok(identity) => identity,
        Err(error @ CredentialsError::FingerprintMismatch) => return Err(exit_error(error)),
        Err(error) => return Err(anyhow::Error::new(error).into()),
    };
    if config.store.queues == QueueStoreMode::Database
        && config.store.messages == MessageStoreMode::Database
    {
        // the reference fails on this combination before printing anything (`readStoreType`)
        eprintln!("smp-server: {NO_POSTGRES}");
        return Err(super::Failure::Reported);
    }
    print_start_lines(paths, &config, &identity);
    check_message_store(paths, &config)?;
    print_policy_lines(&config);
    if config.web.static_path.is_none() {
        tracing::warn!("No server static path set");
    }
    let credentials = load_credentials(&paths.cfg)?;
    if let Some(https) = &config.web.https {
        check_https_credentials(https)?;
    }
    let options = super::serve::StartOptions {
        maintenance: args.maintenance,
        skip_warnings: args.skip_warnings,
    };
    if !options.maintenance
        && config
            .transport
            .ports
            .iter()
            .any(|port| port.kind == TransportKind::WebSockets)
    {
        tracing::warn!(
            "WebSocket transport is not supported by this build; those ports are not served"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, credentials, options))?;
    Ok(())
}

fn init_logging(level: LogLevel) {
    let level = match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info | LogLevel::Note => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // a second initialisation (tests) is harmless
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Address, source code, storage and port lines (`runServer`, `CLI.printSMPServerConfig`,
/// `CLI.printServerTransports`).
fn print_start_lines(paths: &Paths, config: &Config, identity: &KeyHash) {
    let transport = &config.transport;
    let port = if transport.port_text == "5223" {
        ""
    } else {
        transport.port_text.as_str()
    };
    let address = output::server_address(
        identity,
        config.auth.create_password.as_ref(),
        &transport.host,
        port,
    );
    output::print_service_info(identity, &address);
    output::print_source_code(
        config
            .information
            .as_ref()
            .map(|information| information.source_code.as_str()),
    );
    let store = &config.store;
    if store.queues == QueueStoreMode::Database {
        println!(
            "PostgreSQL database: {}, schema: {}",
            store.db_connection, store.db_schema
        );
    } else if store.store_log || store.messages == MessageStoreMode::Journal {
        println!("Store log: {}", display(&paths.store_log_file()));
    } else {
        println!("Store log disabled.");
    }
    for port in &transport.ports {
        let description = format!("{} ({})...", port.port, port.kind.name());
        println!("Serving SMP protocol on port {description}");
        if port.serves_web {
            println!("Serving static site on port {description}");
        }
    }
    if !transport.ports.iter().any(|port| port.port == 443) {
        println!("\nWARNING: the clients will use port 443 by default soon.\nSet `port` in smp-server.ini section [TRANSPORT] to `5223,443`\n");
    }
}

/// `Server.Main` binding `checkMsgStoreMode`, for the storage this build has.
fn check_message_store(paths: &Paths, config: &Config) -> CliResult {
    let journal_dir = paths.journal_dir();
    let messages_file = paths.messages_file();
    let journal_exists = journal_dir.is_dir();
    let messages_exist = messages_file.is_file();
    match (config.store.queues, config.store.messages) {
        (QueueStoreMode::Database, _) => Err(exit_error(NO_POSTGRES)),
        (_, MessageStoreMode::Journal) => {
            if messages_exist && journal_exists {
                return Err(both_present(paths));
            }
            if messages_exist {
                return Err(exit_error(format!(
                    "Error: store_messages is `journal` with {} file present.\nSet store_messages to `memory` or use `smp-server journal export` to migrate.",
                    display(&messages_file)
                )));
            }
            Err(exit_error(NO_JOURNAL))
        }
        _ => {
            if messages_exist && journal_exists {
                return Err(both_present(paths));
            }
            if journal_exists {
                return Err(exit_error(format!(
                    "Error: store_messages is `memory` with {} directory present.\nSet store_messages to `journal` or use `smp-server journal import` to migrate.",
                    display(&journal_dir)
                )));
            }
            Ok(())
        }
    }
}

fn both_present(paths: &Paths) -> super::Failure {
    exit_error(format!(
        "Error: both {} file and {} directory are present.\nConfigure memory storage.",
        display(&paths.messages_file()),
        display(&paths.journal_dir())
    ))
}

/// Expiration and queue-creation lines (`runServer`, `Expiration.showTTL`).
fn print_policy_lines(config: &Config) {
    println!(
        "expiring messages after {}",
        show_ttl(config.store.message_ttl_seconds)
    );
    match &config.inactive_clients {
        Some(inactive) => println!(
            "expiring clients inactive for {} seconds every {} seconds",
            inactive.ttl_seconds, inactive.check_interval_seconds
        ),
        None => println!("not expiring inactive clients"),
    }
    let queues = if !config.auth.allow_new_queues {
        "NOT allowed"
    } else if config.auth.create_password.is_some() {
        "requires password"
    } else {
        "allowed"
    };
    println!("creating new queues {queues}");
}

/// The largest exact unit among seconds, minutes, hours and days (`Expiration.showTTL`).
pub fn show_ttl(seconds: i64) -> String {
    let (minutes, seconds_rest) = (seconds.div_euclid(60), seconds.rem_euclid(60));
    let (hours, minutes_rest) = (minutes.div_euclid(60), minutes.rem_euclid(60));
    let (days, hours_rest) = (hours.div_euclid(24), hours.rem_euclid(24));
    if seconds_rest != 0 {
        format!("{seconds} seconds")
    } else if minutes_rest != 0 {
        format!("{minutes} minutes")
    } else if hours_rest != 0 {
        format!("{hours} hours")
    } else {
        format!("{days} days")
    }
}

/// TLS credentials with the reference's messages for missing or unusable files.
fn load_credentials(cfg_dir: &Path) -> Result<ServerCredentials, super::Failure> {
    match ServerCredentials::load(cfg_dir) {
        Ok(credentials) => Ok(credentials),
        Err(error @ (CredentialsError::Missing(_) | CredentialsError::Invalid)) => {
            let prefix = if matches!(error, CredentialsError::Missing(_)) {
                "----------\n"
            } else {
                ""
            };
            Err(exit_error(format!("{prefix}{error}")))
        }
        Err(error) => Err(anyhow::Error::new(error).into()),
    }
}

/// The info page's HTTPS certificate must exist and be RSA with at least 4096 bits
/// (`Env.newEnv` bindings `getCredentials`, `checkHTTPSCredentials`).
fn check_https_credentials(https: &WebHttps) -> CliResult {
    let missing: Vec<String> = [&https.cert, &https.key]
        .into_iter()
        .filter(|path| !path.is_file())
        .map(|path| display(path))
        .collect();
    if !missing.is_empty() {
        return Err(exit_error(format!(
            "----------\nError: no HTTPS credentials: {}\nServer should serve static pages to show connection links in the browser.\n{LETS_ENCRYPT}",
            missing.join(", ")
        )));
    }
    let pem =
        std::fs::read(&https.cert).with_context(|| format!("reading {}", https.cert.display()))?;
    let rsa_bits = openssl::x509::X509::from_pem(&pem)
        .ok()
        .and_then(|certificate| certificate.public_key().ok())
        .filter(|key| key.id() == Id::RSA)
        .map(|key| key.bits());
    match rsa_bits {
        Some(bits) if bits >= 4096 => Ok(()),
        _ => Err(exit_error(format!(
            "Error: unsupported HTTPS credentials, required 4096-bit RSA\n{LETS_ENCRYPT}"
        ))),
    }
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
fn spawn_signal_handler(shutdown: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!("Received {name}, stopping server...");
        shutdown.cancel();
    });
    Ok(())
}

/// Serves the SMP ports until a signal arrives (with `--maintenance`: restores, saves, exits).
async fn serve(
    config: Config,
    credentials: ServerCredentials,
    options: super::serve::StartOptions,
) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone())?;
    let ports: Vec<u16> = config
        .transport
        .ports
        .iter()
        .filter(|port| port.kind == TransportKind::Tls)
        .map(|port| port.port)
        .collect();
    super::serve::serve(&config, credentials, &ports, shutdown, options).await?;
    if !options.maintenance {
        tracing::info!("Server stopped");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(show_ttl(21 * 86_400), "21 days");
        assert_eq!(show_ttl(0), "0 days");
        assert_eq!(show_ttl(3_600), "1 hours");
        assert_eq!(show_ttl(90), "90 seconds");
        assert_eq!(show_ttl(120), "2 minutes");
        assert_eq!(show_ttl(-86_400), "-1 days");
    }
}
