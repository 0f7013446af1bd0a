//! The hand-over from the CLI to the server runtime: listener settings from the typed config.

use std::sync::Arc;

use smp_proto::version::VersionRange;
use smp_server::config::Config;
use smp_server::connection::PingHandler;
use smp_server::listener::{self, ListenerSettings};
use smp_transport::credentials::ServerCredentials;
use tokio_util::sync::CancellationToken;

/// Serves SMP over TLS on `ports` (every interface, like the reference) until `shutdown` is
/// cancelled, advertising the reference's server version range.
pub async fn serve(
    _config: &Config,
    credentials: ServerCredentials,
    ports: &[u16],
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let settings = ListenerSettings::new(
        ListenerSettings::all_interfaces(ports),
        Arc::new(credentials),
        VersionRange::SUPPORTED_SERVER,
    );
    listener::serve(settings, Arc::new(PingHandler), shutdown).await
}
