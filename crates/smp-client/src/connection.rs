//! One SMP client connection (`Client.getProtocolClient`, `Client.sendProtocolCommands`): TCP,
//! TLS with chain validation against the address's key hash, the SMP handshake, then a reader
//! task that routes each server transmission by correlation id to the command waiting for it, or,
//! when its correlation id is empty (or unknown), to the events channel (`MSG`, `END`, `DELD`,
//! `NMSG`, `ERR BLOCKED`, and `ERR BLOCK` for blocks the server could not read).
//!
//! Commands carry 24 random bytes as correlation id (`Client.mkTransmission_`), are authorized
//! over `s8(sessionId) s8(corrId) s8(entityId) command` (`Protocol.encodeTransmissionForAuth`),
//! and several commands can share blocks (`Protocol.batchTransmissions_`).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use smp_proto::address::{BasicAuth, ServerAddress};
use smp_proto::block::{decode_batch, encode_batch, plan_batches, BatchPlan};
use smp_proto::command::Command;
use smp_proto::crypto::DhSecret;
use smp_proto::error::ErrorType;
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::keys::DhPublicKey;
use smp_proto::response::Response;
use smp_proto::transmission::{decode_client, TransmissionParams};
use smp_proto::version::{Version, VersionRange};
use smp_proto::x509::CertChainPubKey;
use smp_transport::handshake::{
    client_handshake, ClientHandshakeSettings, HandshakeFailure, StreamReader, StreamWriter,
};
use smp_transport::tls::{self, SMP_ALPN};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch, Mutex};
use tokio::task::JoinHandle;

use crate::encoding::encode_transmission;
use crate::error::{ClientError, ClientResult};
use crate::events::{block_error, Event};
use crate::keys::AuthKeyPair;
use crate::network::NetworkSettings;

/// Default wait for a response (and for the whole connection set-up).
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Server events buffered before the reader waits for the application to take them.
const EVENTS_CAPACITY: usize = 1024;

/// How to connect.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Versions this client offers; it uses the highest one the server also supports.
    pub version_range: VersionRange,
    /// Send an X25519 key in the client hello (real clients do; it enables block encryption
    /// from v11). Tests may omit it, as the reference's test client does.
    pub hello_key: bool,
    /// ALPN protocols to offer (`smp/1`); empty offers none, and the server then offers 6..6.
    pub alpn: Vec<Vec<u8>>,
    /// Wait for each response (and for the connection set-up unless `connect_timeout` is set).
    pub response_timeout: Duration,
    /// Wait for the connection set-up (TCP, TLS, handshake); `None` uses `response_timeout`.
    pub connect_timeout: Option<Duration>,
    /// Say in the hello that this client is an SMP server acting as a proxy (v14+,
    /// `proxyServer`): the relay then keeps blocks unencrypted inside TLS.
    pub proxy_server: bool,
    /// Host choice and SOCKS proxy.
    pub network: NetworkSettings,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            version_range: VersionRange::SUPPORTED_SERVER,
            hello_key: true,
            alpn: vec![SMP_ALPN.to_vec()],
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            connect_timeout: None,
            proxy_server: false,
            network: NetworkSettings::default(),
        }
    }
}

impl ClientOptions {
    /// The default options with the offered range capped at `max` (6..max).
    pub fn max_version(max: u16) -> Self {
        let min = Version::MIN_SERVER.min(Version(max));
        ClientOptions {
            version_range: VersionRange::new(min, Version(max))
                .unwrap_or(VersionRange::SUPPORTED_SERVER),
            ..ClientOptions::default()
        }
    }
}

/// One command of a batch.
#[derive(Debug)]
pub struct Request<'a> {
    pub entity_id: EntityId,
    pub key: Option<&'a AuthKeyPair>,
    pub command: Command,
}

/// A response as received, before the entity check (for tests of odd input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub entity_id: EntityId,
    pub response: Result<Response, ErrorType>,
}

/// Commands waiting for responses, by correlation id.
#[derive(Default)]
struct Waiting {
    closed: bool,
    senders: HashMap<CorrId, oneshot::Sender<Reply>>,
}

type SharedWaiting = Arc<std::sync::Mutex<Waiting>>;

fn lock(waiting: &SharedWaiting) -> std::sync::MutexGuard<'_, Waiting> {
    // A panic while holding this lock cannot leave the map inconsistent (single inserts/removes).
    waiting
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct EventQueue {
    receiver: mpsc::Receiver<Event>,
    /// Events taken from the channel but skipped by a filtered wait.
    stash: VecDeque<Event>,
}

/// An SMP client connection.
pub struct SmpClient {
    pub(crate) params: TransmissionParams,
    server_session_key: Option<DhPublicKey>,
    server_cert_key: Option<CertChainPubKey>,
    server_version_range: VersionRange,
    version_range: VersionRange,
    /// DH of this client's hello key and the server session key (`sessSecret`).
    session_secret: Option<DhSecret>,
    block_encryption: bool,
    pub(crate) basic_auth: Option<BasicAuth>,
    writer: Mutex<StreamWriter<TcpStream>>,
    waiting: SharedWaiting,
    events: Mutex<EventQueue>,
    reader_task: JoinHandle<()>,
    /// Becomes `true` when the reader ends (the connection is gone).
    closed: watch::Receiver<bool>,
    pub(crate) response_timeout: Duration,
}

impl std::fmt::Debug for SmpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmpClient")
            .field("version", &self.params.version)
            .field("block_encryption", &self.block_encryption)
            .finish_non_exhaustive()
    }
}

impl Drop for SmpClient {
    fn drop(&mut self) {
        self.reader_task.abort();
    }
}

impl SmpClient {
    /// Connects to `address` (its first host), validates the server chain against the address's
    /// key hash, and runs the SMP handshake.
    pub async fn connect(address: &ServerAddress, options: ClientOptions) -> ClientResult<Self> {
        let timeout = options.connect_timeout.unwrap_or(options.response_timeout);
        tokio::time::timeout(timeout, Self::connect_now(address, options))
            .await
            .map_err(|_| ClientError::Timeout("connection"))?
    }

    async fn connect_now(address: &ServerAddress, options: ClientOptions) -> ClientResult<Self> {
        let server = &address.server;
        let host = options.network.choose_host(&server.hosts)?;
        let tcp = options
            .network
            .connect_tcp(host, server.port_or_default())
            .await?;
        let alpn: Vec<&[u8]> = options.alpn.iter().map(Vec::as_slice).collect();
        let context =
            tls::client_context(&alpn).map_err(|error| ClientError::Tls(error.to_string()))?;
        let tls = tls::connect(&context, tcp, &server.key_hash)
            .await
            .map_err(|error| ClientError::Tls(error.to_string()))?;
        let settings = ClientHandshakeSettings {
            version_range: options.version_range,
            key_hash: server.key_hash,
            proxy_server: options.proxy_server,
            send_session_key: options.hello_key,
        };
        let connection = client_handshake(&settings, tls)
            .await
            .map_err(|error| match error {
                HandshakeFailure::Transport(error) => ClientError::TransportError(error),
                error => ClientError::Handshake(error.to_string()),
            })?;
        let handshake = connection.handshake;
        let session_secret = match (&handshake.client_session_key, &handshake.server_session_key) {
            (Some(pair), Some(server_key)) => Some(pair.diffie_hellman(server_key)),
            _ => None,
        };
        let params = TransmissionParams::new(handshake.version, handshake.session_id.clone());
        let waiting = SharedWaiting::default();
        let (events_tx, events_rx) = mpsc::channel(EVENTS_CAPACITY);
        let (closed_tx, closed) = watch::channel(false);
        let reader_task = tokio::spawn(read_transmissions(
            connection.reader,
            params.clone(),
            waiting.clone(),
            events_tx,
            closed_tx,
        ));
        Ok(SmpClient {
            params,
            server_session_key: handshake.server_session_key,
            server_cert_key: handshake.server_cert_key,
            server_version_range: handshake.server_version_range,
            version_range: handshake.version_range,
            session_secret,
            block_encryption: handshake.block_encryption,
            basic_auth: address.basic_auth.clone(),
            writer: Mutex::new(connection.writer),
            waiting,
            events: Mutex::new(EventQueue {
                receiver: events_rx,
                stash: VecDeque::new(),
            }),
            reader_task,
            closed,
            response_timeout: options.response_timeout,
        })
    }

    /// The negotiated version.
    pub fn version(&self) -> u16 {
        self.params.version.0
    }

    /// tls-unique of the connection.
    pub fn session_id(&self) -> &[u8] {
        &self.params.session_id
    }

    /// The range the server advertised in its hello.
    pub fn server_version_range(&self) -> VersionRange {
        self.server_version_range
    }

    /// The versions both sides support (`thServerVRange` of the client).
    pub fn version_range(&self) -> VersionRange {
        self.version_range
    }

    /// The server's certificate chain and signed session key from its hello (v7+).
    pub fn server_cert_key(&self) -> Option<&CertChainPubKey> {
        self.server_cert_key.as_ref()
    }

    /// DH of this client's hello key and the server's session key (`sessSecret`), when both
    /// were sent: the proxy ↔ relay encryption of `RFWD`.
    pub fn session_secret(&self) -> Option<&DhSecret> {
        self.session_secret.as_ref()
    }

    /// The per-connection parameters (version, session id).
    pub fn params(&self) -> &TransmissionParams {
        &self.params
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// A future that completes when the connection ends; it does not keep the client alive.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closed = self.closed.clone();
        async move {
            // An error means the reader is gone, which is closed as well.
            let _ = closed.wait_for(|closed| *closed).await;
        }
    }

    /// Whether blocks are encrypted inside TLS (v11+ with a hello key).
    pub fn block_encryption(&self) -> bool {
        self.block_encryption
    }

    /// The server's per-connection X25519 key from the hello (v7+).
    pub fn server_session_key(&self) -> Option<&DhPublicKey> {
        self.server_session_key.as_ref()
    }

    /// A fresh 24-byte random correlation id.
    pub fn new_corr_id() -> CorrId {
        let mut bytes = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut bytes);
        CorrId::from(bytes)
    }

    /// Encodes one transmission of `command` bytes (`Protocol.encodeTransmissionForAuth` and
    /// `tEncode`): the authorization covers `s8(sessionId) s8(corrId) s8(entityId) command`; the
    /// session id is sent only at v6; at v16+ a non-empty authorization is followed by `'0'` (no
    /// service signature).
    pub fn encode_transmission(
        &self,
        corr_id: &CorrId,
        entity_id: &EntityId,
        key: Option<&AuthKeyPair>,
        command: &[u8],
    ) -> ClientResult<Vec<u8>> {
        encode_transmission(
            &self.params,
            self.server_session_key.as_ref(),
            corr_id,
            entity_id,
            key,
            command,
        )
    }

    /// Sends one command and waits for its response; `ERR` becomes [`ClientError::Server`].
    pub async fn request(
        &self,
        entity_id: &EntityId,
        key: Option<&AuthKeyPair>,
        command: &Command,
    ) -> ClientResult<Response> {
        let bytes = command.to_bytes(self.params.version);
        self.request_raw(entity_id, key, &bytes).await
    }

    /// Like [`SmpClient::request`] with the command given as raw bytes (tag and parameters), for
    /// malformed or unusual commands.
    pub async fn request_raw(
        &self,
        entity_id: &EntityId,
        key: Option<&AuthKeyPair>,
        command: &[u8],
    ) -> ClientResult<Response> {
        let corr_id = Self::new_corr_id();
        let transmission = self.encode_transmission(&corr_id, entity_id, key, command)?;
        let reply = self.exchange_one(corr_id, transmission).await?;
        into_response(reply, entity_id)
    }

    /// Sends the commands in as few blocks as the packing rules allow and returns their results
    /// in order.
    pub async fn request_batch(&self, requests: &[Request<'_>]) -> Vec<ClientResult<Response>> {
        let mut encoded = Vec::with_capacity(requests.len());
        for request in requests {
            let corr_id = Self::new_corr_id();
            let bytes = request.command.to_bytes(self.params.version);
            encoded.push(
                self.encode_transmission(&corr_id, &request.entity_id, request.key, &bytes)
                    .map(|transmission| (corr_id, transmission)),
            );
        }
        let sendable: Vec<(CorrId, Vec<u8>)> = encoded
            .iter()
            .filter_map(|item| item.as_ref().ok().cloned())
            .collect();
        let mut replies = self.exchange(sendable).await.into_iter();
        requests
            .iter()
            .zip(encoded)
            .map(|(request, item)| match item {
                Err(error) => Err(error),
                Ok(_) => match replies.next() {
                    Some(reply) => reply.and_then(|reply| into_response(reply, &request.entity_id)),
                    None => Err(ClientError::Closed),
                },
            })
            .collect()
    }

    /// Sends an already encoded transmission with correlation id `corr_id` (which must be the
    /// one inside it) and returns the reply as received.
    pub async fn exchange_one(
        &self,
        corr_id: CorrId,
        transmission: Vec<u8>,
    ) -> ClientResult<Reply> {
        self.exchange(vec![(corr_id, transmission)])
            .await
            .pop()
            .unwrap_or(Err(ClientError::Closed))
    }

    /// Sends encoded transmissions batched into blocks and waits for each reply.
    pub async fn exchange(
        &self,
        transmissions: Vec<(CorrId, Vec<u8>)>,
    ) -> Vec<ClientResult<Reply>> {
        let mut receivers = Vec::with_capacity(transmissions.len());
        {
            let mut waiting = lock(&self.waiting);
            for (corr_id, _) in &transmissions {
                if waiting.closed {
                    receivers.push(None);
                    continue;
                }
                let (sender, receiver) = oneshot::channel();
                waiting.senders.insert(corr_id.clone(), sender);
                receivers.push(Some(receiver));
            }
        }
        let mut results: Vec<Option<ClientResult<Reply>>> = receivers
            .iter()
            .map(|r| r.is_none().then_some(Err(ClientError::Closed)))
            .collect();
        let lengths: Vec<usize> = transmissions.iter().map(|(_, t)| t.len()).collect();
        for plan in plan_batches(&lengths) {
            match plan {
                BatchPlan::TooLarge(index) => {
                    results[index] = Some(Err(ClientError::Local(
                        "transmission does not fit in a block".into(),
                    )));
                }
                BatchPlan::Block(range) => {
                    let mut content = Vec::new();
                    let batch: Vec<&[u8]> = transmissions[range.clone()]
                        .iter()
                        .map(|(_, t)| t.as_slice())
                        .collect();
                    let sent = match encode_batch(&batch, &mut content) {
                        Ok(()) => self.send_content(&content).await,
                        Err(error) => Err(ClientError::Local(error.to_string())),
                    };
                    if let Err(error) = sent {
                        let text = error.to_string();
                        for index in range {
                            results[index] = Some(Err(ClientError::Transport(text.clone())));
                        }
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(transmissions.len());
        for ((index, receiver), (corr_id, _)) in
            receivers.into_iter().enumerate().zip(&transmissions)
        {
            if let Some(result) = results[index].take() {
                lock(&self.waiting).senders.remove(corr_id);
                out.push(result);
                continue;
            }
            let Some(receiver) = receiver else {
                out.push(Err(ClientError::Closed));
                continue;
            };
            let result = match tokio::time::timeout(self.response_timeout, receiver).await {
                Ok(Ok(reply)) => Ok(reply),
                Ok(Err(_)) => Err(ClientError::Closed),
                Err(_) => {
                    lock(&self.waiting).senders.remove(corr_id);
                    Err(ClientError::Timeout("response"))
                }
            };
            out.push(result);
        }
        out
    }

    /// Writes `content` as one block (padded, and encrypted when block encryption is on).
    /// `content` need not be a valid batch: for tests of malformed input.
    pub async fn send_content(&self, content: &[u8]) -> ClientResult<()> {
        self.writer
            .lock()
            .await
            .write_content(content)
            .await
            .map_err(|error| ClientError::Transport(error.to_string()))
    }

    /// Writes `block` as it is (it must be 16 384 bytes), bypassing padding and encryption.
    /// With block encryption on, this still advances nothing on the client: the server's
    /// receive chain advances, so later blocks of this connection will not decrypt there.
    pub async fn send_raw_block(&self, block: &[u8]) -> ClientResult<()> {
        self.writer
            .lock()
            .await
            .write_block(block)
            .await
            .map_err(|error| ClientError::Transport(error.to_string()))
    }

    /// The next server event, waiting at most the response timeout.
    pub async fn next_event(&self) -> ClientResult<Event> {
        self.next_event_within(self.response_timeout).await
    }

    /// The next server event, waiting at most `wait`.
    pub async fn next_event_within(&self, wait: Duration) -> ClientResult<Event> {
        self.next_event_matching(wait, |_| true).await
    }

    /// The next event for which `wanted` holds, waiting at most `wait`; other events stay
    /// queued, in order, for later calls.
    pub async fn next_event_matching(
        &self,
        wait: Duration,
        wanted: impl Fn(&Event) -> bool,
    ) -> ClientResult<Event> {
        let mut events = self.events.lock().await;
        if let Some(position) = events.stash.iter().position(&wanted) {
            if let Some(event) = events.stash.remove(position) {
                return Ok(event);
            }
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let event = tokio::time::timeout_at(deadline, events.receiver.recv())
                .await
                .map_err(|_| ClientError::Timeout("server event"))?
                .ok_or(ClientError::Closed)?;
            if wanted(&event) {
                return Ok(event);
            }
            events.stash.push_back(event);
        }
    }

    /// Events received and not yet taken, without waiting.
    pub async fn pending_events(&self) -> Vec<Event> {
        let mut events = self.events.lock().await;
        let mut taken: Vec<Event> = events.stash.drain(..).collect();
        while let Ok(event) = events.receiver.try_recv() {
            taken.push(event);
        }
        taken
    }

    /// Closes the connection (TLS close_notify) and stops the reader.
    pub async fn close(self) {
        let _ = self.writer.lock().await.shutdown().await;
        self.reader_task.abort();
    }
}

/// A reply as the result of a command sent for `entity_id` (`Client.processMsg`): `ERR` is the
/// server's error; another entity id than the request's is an unexpected response.
pub(crate) fn into_response(reply: Reply, entity_id: &EntityId) -> ClientResult<Response> {
    match reply.response {
        Err(error) => Err(ClientError::BadResponse(error)),
        Ok(Response::Err(error)) => Err(ClientError::Server(error)),
        Ok(response) if reply.entity_id != *entity_id => Err(ClientError::UnexpectedResponse(
            format!("{response:?} for entity {:?}", reply.entity_id),
        )),
        Ok(response) => Ok(response),
    }
}

/// The reader task: one block at a time, every transmission to its waiting command or to the
/// events channel. Ends when the connection ends; waiting commands then fail with `Closed`.
async fn read_transmissions(
    mut reader: StreamReader<TcpStream>,
    params: TransmissionParams,
    waiting: SharedWaiting,
    events_tx: mpsc::Sender<Event>,
    closed_tx: watch::Sender<bool>,
) {
    loop {
        let content = match reader.read_content().await {
            Ok(content) => content,
            Err(error) if error.is_fatal() => break,
            Err(_) => {
                let _ = events_tx.send(block_error()).await;
                continue;
            }
        };
        let Ok(batch) = decode_batch(&content) else {
            let _ = events_tx.send(block_error()).await;
            continue;
        };
        for bytes in batch.iter() {
            let transmission = decode_client(&params, bytes);
            let sender = if transmission.corr_id.is_empty() {
                None
            } else {
                lock(&waiting).senders.remove(&transmission.corr_id)
            };
            match sender {
                Some(sender) => {
                    // The command may have timed out meanwhile; nothing to do then.
                    let _ = sender.send(Reply {
                        entity_id: transmission.entity_id,
                        response: transmission.response,
                    });
                }
                None => {
                    // The client may have been dropped; events are then of no use.
                    let _ = events_tx.send(Event::new(transmission)).await;
                }
            }
        }
    }
    {
        let mut waiting = lock(&waiting);
        waiting.closed = true;
        waiting.senders.clear();
    }
    closed_tx.send_replace(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corr_ids_are_random_24_bytes() {
        let first = SmpClient::new_corr_id();
        let second = SmpClient::new_corr_id();
        assert_eq!(first.as_bytes().len(), 24);
        assert_ne!(first, second);
    }

    #[test]
    fn options_cap_the_version() {
        let options = ClientOptions::max_version(11);
        assert_eq!(options.version_range.min(), Version(6));
        assert_eq!(options.version_range.max(), Version(11));
        assert!(options.hello_key);
    }
}
