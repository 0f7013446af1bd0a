//! The hand-over from the CLI to the server runtime: listener settings and server settings from
//! the typed config.

use std::sync::Arc;
use std::time::Duration;

use smp_proto::version::VersionRange;
use smp_server::clock::SystemClock;
use smp_server::config::Config;
use smp_server::control::{self, save::SaveTargets, ControlContext, ControlSettings};
use smp_server::listener::ListenerSettings;
use smp_server::persistence::{self, StorePaths};
use smp_server::proxy::ProxySettings;
use smp_server::server::ServerStatsSource;
use smp_server::state::{Expiration, ServerSettings, ServerState, DEFAULT_QUOTA};
use smp_server::stats::{
    self,
    tasks::{StatsConfig, StatsPaths},
};
use smp_server::store::backend::StoreBackend;
use smp_server::supervise::CriticalTasks;
use smp_transport::credentials::ServerCredentials;
use tokio_util::sync::CancellationToken;

/// Message expiry check interval (`Server/Env/STM.hs: defaultMessageExpiration`, 2 h).
const MESSAGE_EXPIRY_CHECK: Duration = Duration::from_secs(7_200);

/// `start` options that change what [`serve`] does (`Env/STM.hs: StartOptions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartOptions {
    /// `--maintenance`: restore and compact, save, and exit without serving.
    pub maintenance: bool,
    /// `--skip-warnings`: see [`StorePaths::skip_warnings`].
    pub skip_warnings: bool,
}

/// Restores the stores, serves SMP over TLS on `ports` (every interface, like the reference)
/// until `shutdown` is cancelled, advertising the reference's server version range 6..18, then
/// saves what the next start restores. With `--maintenance` it saves right after restoring
/// (`smpServer`: `Server started in 'maintenance' mode, exiting`, then `stopServer`).
pub async fn serve(
    config: &Config,
    credentials: ServerCredentials,
    ports: &[u16],
    shutdown: CancellationToken,
    options: StartOptions,
) -> anyhow::Result<()> {
    // Panics (a connection's or a server task's) go to the log, not only to a raw stderr line.
    smp_server::supervise::install_panic_hook();
    let mut settings = ListenerSettings::new(
        ListenerSettings::all_interfaces(ports),
        Arc::new(credentials),
        VersionRange::SUPPORTED_SERVER,
    );
    // One descriptor per client: the cap is what the open-file limit allows (the reference has
    // no cap of its own).
    settings.max_connections = smp_server::fd_limit::configure_connection_limit();
    let backend = Arc::new(StoreBackend::new(DEFAULT_QUOTA, Arc::new(SystemClock)));
    let mut settings_from_ini = server_settings(config);
    // The SOCKS isolation name is this run's start time (`clientSocksCredentials`).
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_micros());
    settings_from_ini.proxy = ProxySettings::from_config(&config.proxy, &started.to_string())
        .map_err(anyhow::Error::msg)?;
    let state = Arc::new(ServerState::new(settings_from_ini).with_store(backend.clone()));
    // The site is generated before the stores are restored, also with `--maintenance`
    // (`Server/Main.hs: runWebServer` runs before `runSMPServer`).
    let web_root = generate_site(config, &settings.credentials.identity.to_text());
    let dirs = super::paths::Paths::from_env();
    let paths = store_paths(config, &dirs, options.skip_warnings);
    let totals = persistence::restore(&state, &backend, &paths)?;
    let stats_paths = StatsPaths::in_log_dir(&dirs.log);
    let stats_log = config.store.log_stats.then_some(&stats_paths.stats_log);
    if let Some(path) = stats_log {
        stats::persist::restore(path, &state.stats, totals)?;
    }
    if options.maintenance {
        println!("Server started in 'maintenance' mode, exiting");
        persistence::save(&state, &backend, &paths)?;
        if let Some(path) = stats_log {
            stats::persist::save(path, &state.stats)?;
        }
        return Ok(());
    }
    let control = match config.transport.control_port {
        Some(port) => Some(
            start_control_port(
                port,
                ControlContext::new(
                    Arc::clone(&state),
                    Arc::clone(&backend),
                    &control_settings(config, port),
                    SaveTargets {
                        paths: paths.clone(),
                        stats_log: stats_log.cloned(),
                    },
                ),
                shutdown.clone(),
            )
            .await?,
        ),
        None => None,
    };
    settings.web = shared_web_port(config, web_root.as_deref());
    let web_tasks = match &web_root {
        Some(root) => {
            // A `[WEB] https` port that is also an SMP port is not bound a second time
            // (the reference serves the page there by SNI).
            let shared = config.transport.ports.iter().any(|port| port.serves_web);
            let https = config.web.https.as_ref().filter(|_| !shared);
            smp_server::web::server::start(root, config.web.http_port, https, shutdown.clone())
                .await
        }
        None => Vec::new(),
    };
    let mut stats_tasks = CriticalTasks::new(shutdown.clone());
    stats_tasks.spawn(
        "statistics",
        stats::tasks::run_stats_tasks(
            Arc::clone(&state.stats),
            Arc::new(ServerStatsSource {
                state: Arc::clone(&state),
                backend: Arc::clone(&backend),
            }),
            stats_paths.clone(),
            StatsConfig::from_settings(
                config.store.log_stats,
                config.store.prometheus_interval_seconds,
            ),
            Arc::clone(&state.clock),
            shutdown.clone(),
        ),
    );
    let served = smp_server::server::run(Arc::clone(&state), settings, shutdown.clone()).await;
    shutdown.cancel();
    let served = served.and(stats_tasks.join().await);
    if let Some(control) = control {
        // Control sessions end before the final save (a `save` may still be writing).
        let _ = control.await;
    }
    for task in web_tasks {
        let _ = task.await;
    }
    let saved = persistence::save(&state, &backend, &paths);
    if let Some(path) = stats_log {
        if let Err(error) = stats::persist::save(path, &state.stats) {
            tracing::error!("cannot save server stats to {}: {error}", path.display());
        }
    }
    served.and(saved)
}

/// Writes the web site under `[WEB] static_path` (`Web.generateSite`); a failure is logged and
/// the server runs without it. Returns the site root when it was written.
fn generate_site(config: &Config, fingerprint: &str) -> Option<std::path::PathBuf> {
    let root = config.web.static_path.as_ref()?;
    let info = smp_server::web::SiteInfo::from_config(config, fingerprint);
    match smp_server::web::site::generate(root, &info) {
        Ok(()) => {
            tracing::info!("Generated static site contents at {}", root.display());
            Some(root.clone())
        }
        Err(error) => {
            tracing::error!(
                "cannot generate the static site at {}: {error}",
                root.display()
            );
            None
        }
    }
}

/// The SMP ports that are also `[WEB] https` (`Server.runServer` with `addHTTP`), when the site
/// was generated and the HTTPS certificate loads; otherwise those ports serve SMP only.
fn shared_web_port(
    config: &Config,
    root: Option<&std::path::Path>,
) -> Option<smp_server::listener::SharedWebPort> {
    let ports: Vec<u16> = config
        .transport
        .ports
        .iter()
        .filter(|port| port.serves_web)
        .map(|port| port.port)
        .collect();
    let https = config.web.https.as_ref()?;
    if ports.is_empty() {
        return None;
    }
    let root = match std::fs::canonicalize(root?) {
        Ok(root) => root,
        Err(error) => {
            tracing::error!("HTTPS server crashed: {error}");
            return None;
        }
    };
    match smp_server::web::server::https_context(&https.cert, &https.key) {
        Ok(context) => Some(smp_server::listener::SharedWebPort {
            ports,
            context,
            root: Arc::new(root),
        }),
        Err(error) => {
            tracing::error!("HTTPS server crashed: {error}");
            None
        }
    }
}

/// `[TRANSPORT] control_port` with the `[AUTH]` passwords and block quota.
fn control_settings(config: &Config, port: u16) -> ControlSettings {
    let password = |value: &Option<smp_server::config::BasicAuth>| {
        value
            .as_ref()
            .map(|password| password.as_str().as_bytes().to_vec())
    };
    ControlSettings {
        port,
        admin_password: password(&config.auth.control_port_admin_password),
        user_password: password(&config.auth.control_port_user_password),
        daily_block_queue_quota: config.auth.daily_block_queue_quota,
    }
}

/// Binds the control port on 127.0.0.1 (a taken port stops the start) and serves it until
/// `shutdown`.
async fn start_control_port(
    port: u16,
    context: ControlContext,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = control::bind(port).await?;
    tracing::info!("control port listening on 127.0.0.1:{port}");
    Ok(tokio::spawn(control::serve(
        listener,
        Arc::new(context),
        shutdown,
    )))
}

/// The persistent files (`Server/Main.hs: iniStoreCfg`, `restoreMessagesFile`): the store log
/// with `[STORE_LOG] enable`, messages and notifications with `restore_messages`.
fn store_paths(config: &Config, paths: &super::paths::Paths, skip_warnings: bool) -> StorePaths {
    let restore = config.store.restore_messages;
    StorePaths {
        store_log: config.store.store_log.then(|| paths.store_log_file()),
        messages: (config.store.store_log && restore).then(|| paths.messages_file()),
        notifications: restore.then(|| paths.log.join("smp-server-ntfs.log")),
        skip_warnings,
        store_log_fsync: config.store.store_log_fsync,
    }
}

fn seconds(value: i64) -> Duration {
    Duration::from_secs(u64::try_from(value).unwrap_or(0))
}

/// Command-processing settings from the INI (`Server/Main.hs: serverConfig`).
pub fn server_settings(config: &Config) -> ServerSettings {
    let defaults = ServerSettings::default();
    ServerSettings {
        allow_new_queues: config.auth.allow_new_queues,
        create_password: config
            .auth
            .create_password
            .as_ref()
            .map(|password| password.as_str().as_bytes().to_vec()),
        message_expiration: Some(Expiration {
            ttl: seconds(config.store.message_ttl_seconds),
            check_interval: MESSAGE_EXPIRY_CHECK,
        }),
        expire_messages_on_send: config.store.expire_messages_on_send,
        ntf_expiration: Expiration {
            ttl: seconds(config.store.notification_ttl_seconds),
            ..defaults.ntf_expiration
        },
        inactive_clients: config.inactive_clients.as_ref().map(|inactive| Expiration {
            ttl: seconds(inactive.ttl_seconds),
            check_interval: seconds(inactive.check_interval_seconds),
        }),
        // The reference always proxies (`allowSMPProxy = True`).
        allow_smp_proxy: true,
        ..defaults
    }
}
