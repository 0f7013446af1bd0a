//! The web listeners (`Web.serveStaticFiles`): `[WEB] http` serves the site over plain TCP and
//! `[WEB] https` (with `cert`/`key`) over TLS, each on every interface, until the shutdown token
//! is cancelled. Like the reference (which runs each in a forked thread that logs
//! `HTTP server crashed: ...`), a listener that cannot start is logged and the SMP server keeps
//! running.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openssl::ssl::{AlpnError, Ssl, SslAcceptor, SslContext, SslFiletype, SslMethod};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_openssl::SslStream;
use tokio_util::sync::CancellationToken;

use crate::config::WebHttps;

/// Longest a single web connection (TLS handshake, request, response) may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Most concurrent web connections per port; more are closed at once.
const MAX_CONNECTIONS: usize = 512;

/// The HTTPS context: the certificate chain and key files (PEM), ALPN `http/1.1` when offered.
pub fn https_context(cert: &Path, key: &Path) -> Result<SslContext, openssl::error::ErrorStack> {
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    builder.set_certificate_chain_file(cert)?;
    builder.set_private_key_file(key, SslFiletype::PEM)?;
    builder.check_private_key()?;
    builder.set_alpn_select_callback(|_, client| {
        openssl::ssl::select_next_proto(b"\x08http/1.1", client).ok_or(AlpnError::NOACK)
    });
    Ok(builder.build().into_context())
}

/// Binds the configured web ports and serves `root` on them until `shutdown`; returns the
/// listener tasks (a port that fails to start is logged and has no task).
pub async fn start(
    root: &Path,
    http_port: Option<u16>,
    https: Option<&WebHttps>,
    shutdown: CancellationToken,
) -> Vec<JoinHandle<()>> {
    let root = match std::fs::canonicalize(root) {
        Ok(root) => Arc::new(root),
        Err(error) => {
            tracing::error!("HTTP server crashed: {}: {error}", root.display());
            return Vec::new();
        }
    };
    let mut tasks = Vec::new();
    if let Some(port) = http_port {
        if let Some(listener) = bind(port).await {
            tracing::info!("Serving static site on port {port}");
            tasks.push(tokio::spawn(run(
                listener,
                Arc::clone(&root),
                None,
                shutdown.clone(),
            )));
        }
    }
    if let Some(https) = https {
        match https_context(&https.cert, &https.key) {
            Ok(context) => {
                if let Some(listener) = bind(https.port).await {
                    tracing::info!("Serving static site on port {} (TLS)", https.port);
                    tasks.push(tokio::spawn(run(
                        listener,
                        Arc::clone(&root),
                        Some(context),
                        shutdown.clone(),
                    )));
                }
            }
            Err(error) => tracing::error!("HTTPS server crashed: {error}"),
        }
    }
    tasks
}

async fn bind(port: u16) -> Option<TcpListener> {
    let address = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    match TcpListener::bind(address).await {
        Ok(listener) => Some(listener),
        Err(error) => {
            tracing::error!("HTTP server crashed: port {port}: {error}");
            None
        }
    }
}

async fn run(
    listener: TcpListener,
    root: Arc<PathBuf>,
    tls: Option<SslContext>,
    shutdown: CancellationToken,
) {
    let tls = tls.map(Arc::new);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if connections.len() < MAX_CONNECTIONS => {
                    let root = Arc::clone(&root);
                    let tls = tls.clone();
                    connections.spawn(async move {
                        let _ = tokio::time::timeout(
                            CONNECTION_TIMEOUT,
                            serve(&root, stream, tls.as_deref()),
                        )
                        .await;
                    });
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!("web accept: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    connections.abort_all();
}

/// One connection, with the TLS handshake first when `tls` is set.
async fn serve(root: &Path, stream: TcpStream, tls: Option<&SslContext>) {
    let Some(context) = tls else {
        super::http::serve_connection(root, stream).await;
        return;
    };
    let Ok(ssl) = Ssl::new(context) else {
        return;
    };
    let Ok(mut stream) = SslStream::new(ssl, stream) else {
        return;
    };
    if Pin::new(&mut stream).accept().await.is_ok() {
        super::http::serve_connection(root, stream).await;
    }
}

/// Serves the site on a TLS connection of an SMP port shared with the web site (the client sent
/// SNI; see [`crate::listener::SharedWebPort`]), under the web connection timeout.
pub async fn serve_tls_connection(root: &Path, stream: SslStream<TcpStream>) {
    let _ = tokio::time::timeout(
        CONNECTION_TIMEOUT,
        super::http::serve_connection(root, stream),
    )
    .await;
}
