//! The hand-over from the CLI to the server runtime: listener settings and server settings from
//! the typed config.

use std::sync::Arc;
use std::time::Duration;

use smp_proto::version::VersionRange;
use smp_server::config::Config;
use smp_server::listener::ListenerSettings;
use smp_server::state::{Expiration, ServerSettings, ServerState};
use smp_transport::credentials::ServerCredentials;
use tokio_util::sync::CancellationToken;

/// Message expiry check interval (`Server/Env/STM.hs: defaultMessageExpiration`, 2 h).
const MESSAGE_EXPIRY_CHECK: Duration = Duration::from_secs(7_200);

/// Serves SMP over TLS on `ports` (every interface, like the reference) until `shutdown` is
/// cancelled, advertising the reference's server version range 6..18.
pub async fn serve(
    config: &Config,
    credentials: ServerCredentials,
    ports: &[u16],
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let settings = ListenerSettings::new(
        ListenerSettings::all_interfaces(ports),
        Arc::new(credentials),
        VersionRange::SUPPORTED_SERVER,
    );
    let state = Arc::new(ServerState::new(server_settings(config)));
    smp_server::server::run(state, settings, shutdown).await
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
        expire_messages_on_start: config.store.expire_messages_on_start,
        expire_messages_on_send: config.store.expire_messages_on_send,
        ntf_expiration: Expiration {
            ttl: seconds(config.store.notification_ttl_seconds),
            ..defaults.ntf_expiration
        },
        inactive_clients: config.inactive_clients.as_ref().map(|inactive| Expiration {
            ttl: seconds(inactive.ttl_seconds),
            check_interval: seconds(inactive.check_interval_seconds),
        }),
        ..defaults
    }
}
