//! The hand-over from the CLI to the server runtime: listener settings from the typed config.

use smp_server::config::Config;
use smp_transport::credentials::ServerCredentials;
use tokio_util::sync::CancellationToken;

/// Serves SMP over TLS on `ports` until `shutdown` is cancelled.
pub async fn serve(
    _config: &Config,
    _credentials: ServerCredentials,
    _ports: &[u16],
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // interim until the listener lands: keep the process alive until a signal
    shutdown.cancelled().await;
    Ok(())
}
