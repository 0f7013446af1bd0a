//! This server as a forwarding proxy (spec §6.11, `Server.hs: processProxiedCmd`): the shared
//! connections to destination relays (`Client/Agent.hs: SMPClientAgent`, `Env/STM.hs:
//! ProxyAgent`) and the command handling ([`commands`]).
//!
//! Privacy rule: there is at most ONE connection from this server to each destination server,
//! shared by every client of this server, so the relay cannot tell the senders apart. A
//! connection is made on the first `PRXY` for a server; its session id is then the handle
//! clients use in `PFWD` (looked up globally, not per client connection). A failed attempt is
//! remembered for [`ProxySettings::persist_error_interval`] and answered again without
//! reconnecting; after that, or after the connection closes, the next `PRXY` connects anew.

pub mod commands;
mod settings;

pub use settings::{ProxySettings, MAX_RELAYS};

use smp_client::{ClientError, ClientOptions, SmpClient};
use smp_proto::address::{ServerAddress, SmpServer};
use smp_proto::codec::{Encode, ShortBytes};
use smp_proto::error::{BrokerError, ErrorType, NetworkError, ProxyError};
use smp_proto::version::VersionRange;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// A connected destination relay.
#[derive(Debug, Clone)]
pub struct Relay {
    /// Under one of `own_server_domains` (`OwnServer`).
    pub own: bool,
    pub client: Arc<SmpClient>,
}

/// Why a relay could not be reached, as answered to clients (`smpProxyError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayError {
    pub error: ErrorType,
    /// Network failures and timeouts (`temporaryClientError`): counted as connect errors.
    pub temporary: bool,
}

type Outcome = Option<Result<Relay, RelayError>>;

enum RelaySlot {
    Connecting(watch::Receiver<Outcome>),
    Connected(Relay),
    Failed { error: RelayError, until: Instant },
}

/// The proxy's relay connections (`SMPClientAgent` with `smpClients` and `smpSessions`).
pub struct ProxyAgent {
    settings: ProxySettings,
    relays: Mutex<HashMap<SmpServer, RelaySlot>>,
    sessions: Mutex<HashMap<Vec<u8>, Relay>>,
    connections_made: AtomicU64,
}

impl std::fmt::Debug for ProxyAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyAgent")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Single map operations: a poisoned lock still holds a valid map.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ProxyAgent {
    pub fn new(settings: ProxySettings) -> Self {
        ProxyAgent {
            settings,
            relays: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            connections_made: AtomicU64::new(0),
        }
    }

    pub fn settings(&self) -> &ProxySettings {
        &self.settings
    }

    /// Relay connections opened since start (for tests and diagnostics).
    pub fn connections_made(&self) -> u64 {
        self.connections_made.load(Ordering::Relaxed)
    }

    /// Whether `server`'s first host is one of the own domains or under one
    /// (`Client/Agent.hs: isOwnServer`).
    pub fn is_own_server(&self, server: &SmpServer) -> bool {
        let Some(host) = server.hosts.first().map(ToString::to_string) else {
            return false;
        };
        self.settings
            .own_server_domains
            .iter()
            .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
    }

    /// The relay's connection if it is up, or its remembered error; `None` when it must be
    /// (re)connected (`getConnectedSMPServerClient`).
    pub fn connected(&self, server: &SmpServer) -> Option<Result<Relay, RelayError>> {
        let mut relays = lock(&self.relays);
        match relays.get(server)? {
            RelaySlot::Connected(relay) => Some(Ok(relay.clone())),
            RelaySlot::Failed { error, until } if Instant::now() < *until => {
                Some(Err(error.clone()))
            }
            RelaySlot::Failed { .. } => {
                relays.remove(server);
                None
            }
            RelaySlot::Connecting(_) => None,
        }
    }

    /// The relay with this session id (`lookupSMPServerClient`).
    pub fn session(&self, session_id: &[u8]) -> Option<Relay> {
        lock(&self.sessions).get(session_id).cloned()
    }

    /// The relay's connection: the existing one, the remembered error, or a new attempt
    /// (shared with concurrent callers) (`getSMPServerClient''`).
    pub async fn connect(self: &Arc<Self>, server: &SmpServer) -> Result<Relay, RelayError> {
        let mut outcome = {
            let mut relays = lock(&self.relays);
            match relays.get(server) {
                Some(RelaySlot::Connected(relay)) => return Ok(relay.clone()),
                Some(RelaySlot::Failed { error, until }) if Instant::now() < *until => {
                    return Err(error.clone())
                }
                Some(RelaySlot::Connecting(outcome)) => outcome.clone(),
                Some(RelaySlot::Failed { .. }) | None => {
                    let now = Instant::now();
                    relays.retain(
                        |_, slot| !matches!(slot, RelaySlot::Failed { until, .. } if *until <= now),
                    );
                    // Abuse limit: a bounded number of outgoing connections.
                    if relays.len() >= self.settings.max_relays {
                        return Err(RelayError {
                            error: broker(BrokerError::Network(NetworkError::Failed)),
                            temporary: true,
                        });
                    }
                    let (sender, outcome) = watch::channel(None);
                    relays.insert(server.clone(), RelaySlot::Connecting(outcome.clone()));
                    // The attempt runs on its own so that it completes even if this caller's
                    // client leaves.
                    tokio::spawn(Arc::clone(self).open(server.clone(), sender));
                    outcome
                }
            }
        };
        // The attempt ends by itself within the connect timeout; the margin lets its own
        // timeout decide.
        let wait = self.settings.connect_timeout + Duration::from_secs(5);
        let result = match tokio::time::timeout(wait, outcome.wait_for(Option::is_some)).await {
            Ok(Ok(result)) => result.clone(),
            Ok(Err(_)) | Err(_) => None,
        };
        result.unwrap_or_else(|| Err(timeout_error()))
    }

    /// One connection attempt (`newSMPClient`): `proxyServer = T`, a hello key, the
    /// reference proxy's version range 6..18.
    async fn open(self: Arc<Self>, server: SmpServer, sender: watch::Sender<Outcome>) {
        let options = ClientOptions {
            version_range: VersionRange::SUPPORTED_SERVER,
            hello_key: true,
            proxy_server: true,
            response_timeout: self.settings.response_timeout,
            connect_timeout: Some(self.settings.connect_timeout),
            network: self.settings.network.clone(),
            ..ClientOptions::default()
        };
        let address = ServerAddress {
            server: server.clone(),
            basic_auth: None,
        };
        let host = server
            .hosts
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        let own = self.is_own_server(&server);
        let outcome = match SmpClient::connect(&address, options).await {
            Ok(client) => {
                let relay = Relay {
                    own,
                    client: Arc::new(client),
                };
                self.connections_made.fetch_add(1, Ordering::Relaxed);
                lock(&self.sessions).insert(relay.client.session_id().to_vec(), relay.clone());
                lock(&self.relays).insert(server.clone(), RelaySlot::Connected(relay.clone()));
                tracing::info!("connected to relay {host}");
                tokio::spawn(watch_relay(
                    Arc::downgrade(&self),
                    server,
                    relay.client.session_id().to_vec(),
                    relay.client.closed(),
                ));
                Ok(relay)
            }
            Err(error) => {
                let error = relay_error(&error);
                tracing::warn!("Error connecting: {host} {:?}", error.error);
                let until = Instant::now() + self.settings.persist_error_interval;
                lock(&self.relays).insert(
                    server,
                    RelaySlot::Failed {
                        error: error.clone(),
                        until,
                    },
                );
                Err(error)
            }
        };
        sender.send_replace(Some(outcome));
    }
}

/// Forgets a relay connection when it closes (`clientDisconnected`), so the next `PRXY`
/// reconnects and its old session id answers `NO_SESSION`.
async fn watch_relay(
    agent: Weak<ProxyAgent>,
    server: SmpServer,
    session_id: Vec<u8>,
    closed: impl std::future::Future<Output = ()>,
) {
    closed.await;
    let Some(agent) = agent.upgrade() else {
        return;
    };
    lock(&agent.sessions).remove(&session_id);
    let mut relays = lock(&agent.relays);
    if let Some(RelaySlot::Connected(relay)) = relays.get(&server) {
        if relay.client.session_id() == session_id.as_slice() {
            relays.remove(&server);
        }
    }
    drop(relays);
    let host = server
        .hosts
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    tracing::info!("disconnected from relay {host}");
}

fn broker(error: BrokerError) -> ErrorType {
    ErrorType::Proxy(Box::new(ProxyError::Broker(error)))
}

fn timeout_error() -> RelayError {
    RelayError {
        error: broker(BrokerError::Timeout),
        temporary: true,
    }
}

fn short_text(bytes: &[u8]) -> ShortBytes {
    ShortBytes::new(bytes[..bytes.len().min(ShortBytes::MAX)].to_vec()).unwrap_or_default()
}

/// The error answered for a failure of this server's client to a relay
/// (`Client.smpProxyError`, `temporaryClientError`).
pub fn relay_error(error: &ClientError) -> RelayError {
    let network = |detail: NetworkError| RelayError {
        error: broker(BrokerError::Network(detail)),
        temporary: true,
    };
    let permanent = |error: ErrorType| RelayError {
        error,
        temporary: false,
    };
    match error {
        ClientError::Server(error) => permanent(ErrorType::Proxy(Box::new(ProxyError::Protocol(
            error.clone(),
        )))),
        ClientError::BadResponse(error) => {
            permanent(broker(BrokerError::Response(short_text(&error.to_bytes()))))
        }
        ClientError::Decode(_) => permanent(broker(BrokerError::Response(short_text(b"BLOCK")))),
        ClientError::UnexpectedResponse(text) => {
            permanent(broker(BrokerError::Unexpected(short_text(text.as_bytes()))))
        }
        ClientError::Timeout("response") => timeout_error(),
        ClientError::Timeout(_) => network(NetworkError::Timeout),
        ClientError::Network(error) => network(NetworkError::Connect(short_text(
            error.to_string().as_bytes(),
        ))),
        ClientError::Tls(text) => network(NetworkError::Tls(short_text(text.as_bytes()))),
        ClientError::Handshake(_) | ClientError::Transport(_) | ClientError::Closed => {
            network(NetworkError::Failed)
        }
        ClientError::TransportError(error) => permanent(broker(BrokerError::Transport(*error))),
        ClientError::IncompatibleHost => permanent(broker(BrokerError::Host)),
        ClientError::Crypto => permanent(ErrorType::Crypto),
        ClientError::Local(_) => permanent(ErrorType::Internal),
    }
}

#[cfg(test)]
mod tests;
