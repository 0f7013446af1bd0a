//! The listener: binds the SMP ports, accepts TCP connections under a connection cap, runs the
//! TLS handshake and the SMP transport handshake under one timeout, and hands each established
//! connection to a [`ConnectionHandler`].
//!
//! This matches the reference's `Server.runServer` → `Transport/Server.runTransportServerState`
//! → `Server.runClient` path: a plain SMP port with `defaultSupportedParams`, ALPN
//! `["smp/1", "h2", "http/1.1"]`, no client certificates, and a connection whose handshake fails is
//! closed without a word. Differences by design: a cap on concurrent connections (over the cap a
//! new connection is closed at once) and one timeout for TLS + SMP handshake (the reference has 60 s
//! for TLS and 120 s for the SMP handshake).
//!
//! A port that is also `[WEB] https` ([`SharedWebPort`]) uses the HTTPS TLS parameters; a
//! client that sends SNI gets the web certificate and the site over HTTP/1.1 instead of the SMP
//! handshake (`Server.runServer` with `addHTTP`, `Transport/Server.sniCredential`).
//!
//! Privacy: client addresses are logged only at `debug` level.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use openssl::ssl::SslContext;
use smp_proto::version::VersionRange;
use smp_transport::credentials::ServerCredentials;
use smp_transport::handshake::{server_handshake, ServerConnection, ServerHandshakeSettings};
use smp_transport::tls::{self, SERVER_ALPN};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, info_span, warn, Instrument};

/// Default cap on concurrent connections (the server binary derives its cap from the open-file
/// limit instead, see [`crate::fd_limit`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Time allowed for the TLS handshake (`tlsSetupTimeout`: 60 s). Generous, as clients over Tor
/// on slow mobile networks need it.
pub const DEFAULT_TLS_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed for the SMP transport handshake after TLS (`smpHandshakeTimeout`: 120 s).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(120);
/// Listen backlog (`Transport/Server.startTCPServer`: `listen sock 1024`).
const LISTEN_BACKLOG: u32 = 1024;
/// Pause after an `accept` failure such as running out of file descriptors.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// An established SMP connection as the listener hands it over: TLS over TCP, handshake done.
pub type Connection = ServerConnection<TcpStream>;

/// What to do with each established connection.
///
/// [`CommandHandler`](crate::session::CommandHandler) is the server's; the listener's tests use
/// the minimal [`PingHandler`](crate::connection::PingHandler).
pub trait ConnectionHandler: Send + Sync + 'static {
    /// Serves one connection until the peer leaves, an error ends it, or `shutdown` is cancelled.
    fn serve(
        &self,
        connection: Connection,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send;
}

/// Listener configuration, typed by the caller (the CLI builds it from the INI file).
#[derive(Debug, Clone)]
pub struct ListenerSettings {
    /// Addresses to bind; see [`ListenerSettings::all_interfaces`] for the reference's behaviour.
    pub bind: Vec<SocketAddr>,
    /// The online certificate and key, the chain, and the server identity.
    pub credentials: Arc<ServerCredentials>,
    /// Advertised SMP version range when ALPN was negotiated (without ALPN the legacy range 6..6
    /// is advertised). The reference advertises 6..18; the caller decides what it can serve.
    pub version_range: VersionRange,
    /// ALPN protocols in preference order; empty disables ALPN.
    pub alpn: Vec<Vec<u8>>,
    /// Cap on concurrent connections (including those still in the handshake).
    pub max_connections: usize,
    /// Time allowed for the TLS handshake.
    pub tls_timeout: Duration,
    /// Time allowed for the SMP handshake once TLS is up.
    pub handshake_timeout: Duration,
    /// SMP ports that are also the web site's HTTPS port (`[WEB] https`), chosen by SNI.
    pub web: Option<SharedWebPort>,
}

/// The web site on SMP ports (`Server.runServer` with `addHTTP` and `httpServerCreds`): a TLS
/// client that sends SNI gets `context` (the `[WEB]` certificate) and is served the site at
/// `root` over HTTP/1.1; one without SNI gets SMP as on any port.
#[derive(Clone)]
pub struct SharedWebPort {
    pub ports: Vec<u16>,
    /// See [`crate::web::server::https_context`].
    pub context: SslContext,
    /// The generated site (canonical path).
    pub root: Arc<std::path::PathBuf>,
}

impl std::fmt::Debug for SharedWebPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedWebPort")
            .field("ports", &self.ports)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl ListenerSettings {
    /// Settings with the defaults: the reference's ALPN list, [`DEFAULT_MAX_CONNECTIONS`],
    /// [`DEFAULT_TLS_TIMEOUT`] and [`DEFAULT_HANDSHAKE_TIMEOUT`].
    pub fn new(
        bind: Vec<SocketAddr>,
        credentials: Arc<ServerCredentials>,
        version_range: VersionRange,
    ) -> Self {
        ListenerSettings {
            bind,
            credentials,
            version_range,
            alpn: SERVER_ALPN.iter().map(|name| name.to_vec()).collect(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            tls_timeout: DEFAULT_TLS_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            web: None,
        }
    }

    /// The reference binds each port on every interface (`startTCPServer` with `AI_PASSIVE`,
    /// IPv6 preferred, which on Linux also accepts IPv4). [`bind`] falls back to IPv4 when IPv6
    /// is unavailable.
    pub fn all_interfaces(ports: &[u16]) -> Vec<SocketAddr> {
        ports
            .iter()
            .map(|port| SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), *port))
            .collect()
    }
}

/// Socket counters of one listening port (`Transport/Server.hs: SocketState`): accepted,
/// closed and active connections; "leaked" is what the three leave unexplained.
#[derive(Debug, Default)]
pub struct SocketCounters {
    pub accepted: AtomicI64,
    pub closed: AtomicI64,
    pub active: AtomicI64,
}

impl SocketCounters {
    /// `getSocketStats`.
    pub fn snapshot(&self) -> crate::stats::metrics::SocketStats {
        let accepted = self.accepted.load(Ordering::Relaxed);
        let closed = self.closed.load(Ordering::Relaxed);
        let active = self.active.load(Ordering::Relaxed);
        crate::stats::metrics::SocketStats {
            accepted,
            closed,
            active,
            leaked: accepted - closed - active,
        }
    }
}

/// Bound, not yet serving, listeners: lets the caller learn the actual ports (port 0) first.
pub struct BoundListeners {
    listeners: Vec<TcpListener>,
    sockets: Vec<(String, Arc<SocketCounters>)>,
    tls_context: SslContext,
    /// The TLS context and site of the ports in `web_ports` (see [`SharedWebPort`]).
    web: Option<(SslContext, Arc<std::path::PathBuf>)>,
    /// Per listener: whether its port is shared with the web site.
    web_ports: Vec<bool>,
    handshake: Arc<ServerHandshakeSettings>,
    max_connections: usize,
    tls_timeout: Duration,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for BoundListeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundListeners")
            .field("addresses", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

/// Prepares TLS and binds every address; an address in use gives an error naming it.
pub async fn bind(settings: &ListenerSettings) -> anyhow::Result<BoundListeners> {
    let alpn: Vec<&[u8]> = settings.alpn.iter().map(Vec::as_slice).collect();
    let tls_context = tls::server_context_for(&settings.credentials, &alpn)
        .context("cannot configure TLS with the server certificate and key")?;
    let web = match &settings.web {
        Some(web) => Some((
            tls::server_context_with_web(&settings.credentials, &alpn, web.context.clone())
                .context("cannot configure TLS for the port shared with the web site")?,
            Arc::clone(&web.root),
        )),
        None => None,
    };
    let handshake = ServerHandshakeSettings::new(&settings.credentials, settings.version_range)
        .context("cannot prepare the SMP handshake from the server credentials")?;
    let mut listeners = Vec::with_capacity(settings.bind.len());
    let mut sockets = Vec::with_capacity(settings.bind.len());
    for address in &settings.bind {
        let listener = bind_address(*address)
            .with_context(|| format!("cannot listen on port {}", address.port()))?;
        info!(address = %listener.local_addr()?, "listening");
        listeners.push(listener);
        sockets.push((address.port().to_string(), Arc::default()));
    }
    Ok(BoundListeners {
        listeners,
        sockets,
        tls_context,
        web,
        web_ports: settings
            .bind
            .iter()
            .map(|address| {
                settings
                    .web
                    .as_ref()
                    .is_some_and(|web| web.ports.contains(&address.port()))
            })
            .collect(),
        handshake: Arc::new(handshake),
        max_connections: settings.max_connections.max(1),
        tls_timeout: settings.tls_timeout,
        handshake_timeout: settings.handshake_timeout,
    })
}

/// Binds one address with `SO_REUSEADDR`; `[::]` falls back to `0.0.0.0` without IPv6.
fn bind_address(address: SocketAddr) -> io::Result<TcpListener> {
    match listen(address) {
        Err(error)
            if address.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                && error.kind() != io::ErrorKind::AddrInUse =>
        {
            listen(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                address.port(),
            ))
        }
        result => result,
    }
}

fn listen(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

impl BoundListeners {
    /// Socket counters per port, the last bound first (the reference's order).
    pub fn socket_counters(&self) -> Vec<(String, Arc<SocketCounters>)> {
        self.sockets.iter().rev().cloned().collect()
    }

    /// The bound addresses (with the actual ports when port 0 was asked for).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|listener| listener.local_addr().ok())
            .collect()
    }

    /// Accepts connections on every listener until `shutdown` is cancelled, then waits for the
    /// connections (which see the same cancellation) to finish.
    pub async fn serve<H: ConnectionHandler>(
        self,
        handler: Arc<H>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let shared = Arc::new(Shared {
            tls_context: self.tls_context,
            web: self.web,
            handshake: self.handshake,
            tls_timeout: self.tls_timeout,
            handshake_timeout: self.handshake_timeout,
            connection_slots: Arc::new(Semaphore::new(self.max_connections)),
            next_connection: AtomicU64::new(1),
            tracker: TaskTracker::new(),
        });
        let mut accept_loops = Vec::with_capacity(self.listeners.len());
        let ports = self.sockets.into_iter().zip(self.web_ports);
        for (listener, ((_, counters), web)) in self.listeners.into_iter().zip(ports) {
            let shared = Arc::clone(&shared);
            let handler = Arc::clone(&handler);
            let shutdown = shutdown.clone();
            accept_loops.push(tokio::spawn(accept_loop(
                listener, web, counters, shared, handler, shutdown,
            )));
        }
        for accept_loop in accept_loops {
            accept_loop.await.context("accept loop failed")?;
        }
        shared.tracker.close();
        shared.tracker.wait().await;
        Ok(())
    }
}

/// Binds every address in `settings` and serves until `shutdown` is cancelled.
pub async fn serve<H: ConnectionHandler>(
    settings: ListenerSettings,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    bind(&settings).await?.serve(handler, shutdown).await
}

/// State shared by the accept loops and connection tasks.
struct Shared {
    tls_context: SslContext,
    web: Option<(SslContext, Arc<std::path::PathBuf>)>,
    handshake: Arc<ServerHandshakeSettings>,
    tls_timeout: Duration,
    handshake_timeout: Duration,
    connection_slots: Arc<Semaphore>,
    next_connection: AtomicU64,
    tracker: TaskTracker,
}

async fn accept_loop<H: ConnectionHandler>(
    listener: TcpListener,
    web: bool,
    counters: Arc<SocketCounters>,
    shared: Arc<Shared>,
    handler: Arc<H>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Per-connection failures (reset before accept) and resource exhaustion alike:
                // keep accepting after a short pause instead of spinning.
                warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        let Ok(slot) = Arc::clone(&shared.connection_slots).try_acquire_owned() else {
            debug!(%peer, "connection limit reached, closing new connection");
            counters.closed.fetch_add(1, Ordering::Relaxed);
            drop(socket);
            continue;
        };
        counters.active.fetch_add(1, Ordering::Relaxed);
        let task_counters = Arc::clone(&counters);
        let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        let span = info_span!("connection", id);
        let task_shared = Arc::clone(&shared);
        let handler = Arc::clone(&handler);
        let shutdown = shutdown.child_token();
        shared.tracker.spawn(
            async move {
                debug!(%peer, "accepted");
                run_connection(&task_shared, web, socket, handler.as_ref(), shutdown).await;
                drop(slot);
                task_counters.active.fetch_sub(1, Ordering::Relaxed);
                task_counters.closed.fetch_add(1, Ordering::Relaxed);
            }
            .instrument(span),
        );
    }
}

/// Handshakes, then serves one connection.
async fn run_connection<H: ConnectionHandler>(
    shared: &Shared,
    web: bool,
    socket: TcpStream,
    handler: &H,
    shutdown: CancellationToken,
) {
    // Blocks are flushed one by one; do not let Nagle hold them back.
    if let Err(error) = socket.set_nodelay(true) {
        debug!(%error, "cannot set TCP_NODELAY");
    }
    // Each step under its own limit, as the reference (TLS, then the SMP handshake).
    let web = shared.web.as_ref().filter(|_| web);
    let context = web.map_or(&shared.tls_context, |(context, _)| context);
    let handshake = async {
        let tls = tokio::time::timeout(shared.tls_timeout, tls::accept(context, socket))
            .await
            .map_err(|_| anyhow::anyhow!("TLS handshake timed out"))??;
        if let Some((_, root)) = web.filter(|_| tls::sni_used(&tls.stream)) {
            // A browser (SNI sent): the web site over HTTP/1.1, then the connection ends.
            crate::web::server::serve_tls_connection(root, tls.stream).await;
            return Ok(None);
        }
        tokio::time::timeout(
            shared.handshake_timeout,
            server_handshake(&shared.handshake, tls),
        )
        .await
        .map_err(|_| anyhow::anyhow!("SMP handshake timed out"))?
        .map(Some)
        .map_err(anyhow::Error::from)
    };
    let established = tokio::select! {
        _ = shutdown.cancelled() => return,
        result = handshake => result,
    };
    let connection = match established {
        Ok(Some(connection)) => connection,
        Ok(None) => return,
        Err(error) => {
            debug!(%error, "handshake failed");
            return;
        }
    };
    debug!(version = connection.handshake.version.0, "established");
    handler.serve(connection, shutdown).await;
    debug!("closed");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::PingHandler;
    use smp_proto::version::Version;
    use smp_transport::block_stream::BlockStreamError;
    use smp_transport::credentials::{create_server_credentials, SignAlgorithm};
    use smp_transport::handshake::{client_handshake, ClientConnection, ClientHandshakeSettings};

    struct Running {
        _dir: tempfile::TempDir,
        identity: smp_proto::keys::KeyHash,
        address: SocketAddr,
        shutdown: CancellationToken,
        task: tokio::task::JoinHandle<anyhow::Result<()>>,
        counters: Arc<SocketCounters>,
    }

    async fn run(max_connections: usize, timeout: Duration) -> Running {
        run_with(|settings| {
            settings.max_connections = max_connections;
            settings.tls_timeout = timeout;
            settings.handshake_timeout = timeout;
        })
        .await
    }

    async fn run_with(adjust: impl FnOnce(&mut ListenerSettings)) -> Running {
        let dir = tempfile::tempdir().unwrap();
        create_server_credentials(dir.path(), "localhost", SignAlgorithm::Ed448).unwrap();
        let credentials = Arc::new(ServerCredentials::load(dir.path()).unwrap());
        let identity = credentials.identity;
        let mut settings = ListenerSettings::new(
            vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))],
            credentials,
            VersionRange::SUPPORTED_SERVER,
        );
        adjust(&mut settings);
        let bound = bind(&settings).await.unwrap();
        let address = bound.local_addrs()[0];
        let counters = Arc::clone(&bound.socket_counters()[0].1);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(bound.serve(Arc::new(PingHandler), shutdown.clone()));
        Running {
            _dir: dir,
            identity,
            address,
            shutdown,
            task,
            counters,
        }
    }

    async fn connect(server: &Running) -> anyhow::Result<ClientConnection<TcpStream>> {
        let context = tls::client_context(&[tls::SMP_ALPN])?;
        let socket = TcpStream::connect(server.address).await?;
        let connection = tls::connect(&context, socket, &server.identity).await?;
        let settings = ClientHandshakeSettings::new(server.identity);
        Ok(client_handshake(&settings, connection).await?)
    }

    #[tokio::test]
    async fn ping_gets_pong_over_encrypted_blocks() {
        let server = run(10, DEFAULT_HANDSHAKE_TIMEOUT).await;
        let mut client = connect(&server).await.unwrap();
        assert_eq!(client.handshake.version, Version(18));
        // `01 s16(t)` with t = empty auth, corrId "abc", empty entity, PING.
        client
            .writer
            .write_content(b"\x01\x00\x0a\x00\x03abc\x00PING")
            .await
            .unwrap();
        assert_eq!(
            client.reader.read_content().await.unwrap(),
            b"\x01\x00\x0a\x00\x03abc\x00PONG"
        );
        server.shutdown.cancel();
        server.task.await.unwrap().unwrap();
        // The connection is closed by the shutdown.
        assert!(client.reader.read_content().await.is_err());
    }

    #[tokio::test]
    async fn connections_over_the_cap_are_closed() {
        let server = run(1, DEFAULT_HANDSHAKE_TIMEOUT).await;
        let _first = connect(&server).await.unwrap();
        assert!(connect(&server).await.is_err());
        // Both were accepted; the one over the cap was closed at once.
        let stats = server.counters.snapshot();
        assert_eq!((stats.accepted, stats.closed, stats.active), (2, 1, 1));
        server.shutdown.cancel();
        server.task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn silent_client_is_dropped_after_the_timeout() {
        let server = run(10, Duration::from_millis(200)).await;
        let socket = TcpStream::connect(server.address).await.unwrap();
        let mut reader = smp_transport::block_stream::BlockReader::new(socket);
        // Nothing is sent: the server gives up after the handshake timeout and closes.
        assert!(matches!(
            reader.read_block().await,
            Err(BlockStreamError::Closed)
        ));
        server.shutdown.cancel();
        server.task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn client_silent_after_tls_is_dropped_after_the_smp_handshake_timeout() {
        let server = run_with(|settings| {
            settings.handshake_timeout = Duration::from_millis(200);
        })
        .await;
        let context = tls::client_context(&[tls::SMP_ALPN]).unwrap();
        let socket = TcpStream::connect(server.address).await.unwrap();
        let connection = tls::connect(&context, socket, &server.identity)
            .await
            .unwrap();
        let mut reader = smp_transport::block_stream::BlockReader::new(connection.stream);
        // The server hello arrives; no client hello is sent, so the server closes.
        assert!(reader.read_block().await.is_ok());
        assert!(matches!(
            reader.read_block().await,
            Err(BlockStreamError::Closed)
        ));
        server.shutdown.cancel();
        server.task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn port_in_use_is_named_in_the_error() {
        let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        create_server_credentials(dir.path(), "localhost", SignAlgorithm::Ed25519).unwrap();
        let credentials = Arc::new(ServerCredentials::load(dir.path()).unwrap());
        let settings = ListenerSettings::new(
            vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))],
            credentials,
            VersionRange::SUPPORTED_SERVER,
        );
        let error = format!("{:#}", bind(&settings).await.unwrap_err());
        assert!(error.contains(&format!("port {port}")), "{error}");
    }
}
