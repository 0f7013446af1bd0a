//! The SMP transport handshake over an established TLS connection, both sides
//! (`Transport.smpServerHandshake`, `Transport.smpClientHandshake`, spec §4).
//!
//! The server speaks first: its hello carries the advertised version range (the configured range
//! when ALPN was negotiated, else the legacy 6..6), the session id (tls-unique), and, when the
//! range reaches v7, the TLS chain with a fresh per-connection X25519 key signed by the TLS leaf
//! key. The client answers with the version it chose, the server identity it expects, its own
//! X25519 key and the proxy flag. A server that finds a bad client hello (unparsable, wrong
//! identity, version outside the range) sends nothing and closes, as the reference does.
//!
//! From v11, unless the client is a proxy or sent no key, whole blocks are then encrypted with
//! the chain keys derived from the two session keys (spec §5.3); the chains are installed in the
//! returned [`BlockReader`]/[`BlockWriter`].

use openssl::error::ErrorStack;
use openssl::pkey::{Id, PKey, PKeyRef, Private, Public};
use openssl::sign::{Signer, Verifier};
use openssl::ssl::SslRef;
use rand::rngs::OsRng;
use smp_proto::codec::Encode;
use smp_proto::crypto::X25519KeyPair;
use smp_proto::handshake::{
    parse_handshake, ClientHello, HandshakeError, ServerHello, ServiceResponse, TransportError,
};
use smp_proto::keys::{DhPublicKey, KeyHash, PublicKey};
use smp_proto::version::{Version, VersionRange};
use smp_proto::x509::{CertChain, CertChainPubKey, SignatureAlgorithm, SignedObject};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio_openssl::SslStream;

use crate::block_cipher::{self, Side};
use crate::block_stream::{BlockReader, BlockStreamError, BlockWriter};
use crate::credentials::ServerCredentials;
use crate::tls::{chain_roles, TlsConnection};

/// Reads blocks from the TLS stream of one connection.
pub type StreamReader<S> = BlockReader<ReadHalf<SslStream<S>>>;
/// Writes blocks to the TLS stream of one connection.
pub type StreamWriter<S> = BlockWriter<WriteHalf<SslStream<S>>>;

/// Why a handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeFailure {
    /// The connection closed or failed while exchanging hello blocks.
    #[error("handshake block: {0}")]
    Stream(#[from] BlockStreamError),
    /// A protocol error (`Transport.TransportError`): the peer's hello was refused.
    #[error("handshake refused: {0}")]
    Transport(TransportError),
    /// The local key could not sign or verify (an OpenSSL failure, not the peer's fault).
    #[error("handshake crypto: {0}")]
    Crypto(#[from] ErrorStack),
}

impl From<TransportError> for HandshakeFailure {
    fn from(error: TransportError) -> Self {
        HandshakeFailure::Transport(error)
    }
}

impl From<HandshakeError> for HandshakeFailure {
    fn from(error: HandshakeError) -> Self {
        HandshakeFailure::Transport(TransportError::Handshake(error))
    }
}

/// What the server needs for every handshake, prepared once from its credentials.
pub struct ServerHandshakeSettings {
    version_range: VersionRange,
    identity: KeyHash,
    cert_chain: CertChain,
    signing_key: PKey<Private>,
    algorithm: SignatureAlgorithm,
}

impl std::fmt::Debug for ServerHandshakeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandshakeSettings")
            .field("version_range", &self.version_range)
            .field("identity", &self.identity)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Why [`ServerHandshakeSettings::new`] refused the credentials.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeSettingsError {
    #[error("cannot encode the certificate chain: {0}")]
    Certificate(#[from] ErrorStack),
    #[error("the certificate chain cannot be sent in a handshake")]
    Chain,
    #[error("the online key must be Ed25519 or Ed448")]
    KeyType,
}

impl ServerHandshakeSettings {
    /// Settings that advertise `version_range` to clients that negotiated ALPN, send the
    /// credentials' TLS chain and sign session keys with the online (TLS) key.
    pub fn new(
        credentials: &ServerCredentials,
        version_range: VersionRange,
    ) -> Result<Self, HandshakeSettingsError> {
        let mut certificates = vec![credentials.certificate.to_der()?];
        for certificate in &credentials.chain {
            certificates.push(certificate.to_der()?);
        }
        let cert_chain = CertChain::new(certificates).map_err(|_| HandshakeSettingsError::Chain)?;
        let algorithm =
            signature_algorithm(&credentials.private_key).ok_or(HandshakeSettingsError::KeyType)?;
        Ok(ServerHandshakeSettings {
            version_range,
            identity: credentials.identity,
            cert_chain,
            signing_key: credentials.private_key.clone(),
            algorithm,
        })
    }

    /// The range advertised when ALPN was negotiated.
    pub fn version_range(&self) -> VersionRange {
        self.version_range
    }

    /// The server identity clients must name.
    pub fn identity(&self) -> KeyHash {
        self.identity
    }

    /// The session key signed with the TLS leaf key (`C.signX509` over `C.publicToX509`).
    fn sign_session_key(&self, key: &DhPublicKey) -> Result<SignedObject, ErrorStack> {
        SignedObject::sign_key(&PublicKey::X25519(key.0), self.algorithm, |spki| {
            // EdDSA signs the message itself: no digest.
            Signer::new_without_digest(&self.signing_key)?.sign_oneshot_to_vec(spki)
        })
    }
}

fn signature_algorithm<T>(key: &PKeyRef<T>) -> Option<SignatureAlgorithm> {
    match key.id() {
        Id::ED25519 => Some(SignatureAlgorithm::Ed25519),
        Id::ED448 => Some(SignatureAlgorithm::Ed448),
        _ => None,
    }
}

/// The negotiated parameters of a server connection (`THandleParams` with `THAuthServer`).
#[derive(Debug)]
pub struct ServerHandshake {
    /// The version the client chose (`thVersion`).
    pub version: Version,
    /// The advertised range capped at that version (`thServerVRange`).
    pub version_range: VersionRange,
    /// tls-unique.
    pub session_id: Vec<u8>,
    /// The negotiated ALPN protocol, if any.
    pub alpn: Option<Vec<u8>>,
    /// The client's X25519 session key, when it sent one (v7+).
    pub client_session_key: Option<DhPublicKey>,
    /// Whether the client is an SMP proxy (v14+).
    pub proxy_server: bool,
    /// This connection's X25519 key pair (signed in the hello).
    pub server_session_key: X25519KeyPair,
    /// Whether blocks after the handshake are encrypted (spec §5.3).
    pub block_encryption: bool,
}

/// A server connection after a successful handshake.
#[derive(Debug)]
pub struct ServerConnection<S> {
    pub handshake: ServerHandshake,
    pub reader: StreamReader<S>,
    pub writer: StreamWriter<S>,
}

/// Runs the server side of the handshake (`Transport.smpServerHandshake`). On a refused client
/// hello nothing is sent (the caller drops the connection); a client that asks for a service
/// session gets `HANDSHAKE BAD_AUTH`, because this server requests no client certificates
/// (the reference's check that the TLS client chain equals the service chain).
pub async fn server_handshake<S>(
    settings: &ServerHandshakeSettings,
    tls: TlsConnection<S>,
) -> Result<ServerConnection<S>, HandshakeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let TlsConnection {
        stream,
        session_id,
        alpn,
    } = tls;
    let (read_half, write_half) = tokio::io::split(stream);
    let mut reader = BlockReader::new(read_half);
    let mut writer = BlockWriter::new(write_half);

    let server_session_key = X25519KeyPair::generate(&mut OsRng);
    let advertised = if alpn.is_some() {
        settings.version_range
    } else {
        VersionRange::LEGACY_SERVER
    };
    let hello = ServerHello {
        version_range: advertised,
        session_id: session_id.clone(),
        server_key: Some(CertChainPubKey {
            cert_chain: settings.cert_chain.clone(),
            signed_key: settings.sign_session_key(server_session_key.public_key())?,
        }),
    };
    writer.write_padded(&hello.to_bytes()).await?;

    let client_hello: ClientHello = parse_handshake(&reader.read_padded().await?)
        .map_err(|_| TransportError::Handshake(HandshakeError::Parse))?;
    // The client must name this server's identity.
    if client_hello.key_hash != settings.identity {
        return Err(HandshakeError::Identity.into());
    }
    // Any version inside the advertised range is accepted (`compatibleVRange'`).
    let version_range = advertised
        .capped_at(client_hello.version)
        .ok_or(TransportError::Version)?;
    if client_hello.service.is_some() {
        let refusal = ServiceResponse::Rejected(TransportError::Handshake(HandshakeError::BadAuth));
        writer.write_padded(&refusal.to_bytes()).await?;
        return Err(HandshakeError::BadAuth.into());
    }

    let version = client_hello.version;
    let block_encryption = encrypts_blocks(
        version,
        client_hello.proxy_server,
        client_hello.session_key.is_some(),
    );
    if let (true, Some(client_key)) = (block_encryption, &client_hello.session_key) {
        let secret = server_session_key.diffie_hellman(client_key);
        block_cipher::install(&mut reader, &mut writer, &session_id, &secret, Side::Server);
    }
    Ok(ServerConnection {
        handshake: ServerHandshake {
            version,
            version_range,
            session_id,
            alpn,
            client_session_key: client_hello.session_key,
            proxy_server: client_hello.proxy_server,
            server_session_key,
            block_encryption,
        },
        reader,
        writer,
    })
}

/// `Transport.blockEncryption`: v11+, not a proxy, and both session keys present.
fn encrypts_blocks(version: Version, proxy_server: bool, both_keys: bool) -> bool {
    version >= Version::ENCRYPTED_BLOCK && !proxy_server && both_keys
}

/// What the client side of the handshake is configured with.
#[derive(Debug, Clone)]
pub struct ClientHandshakeSettings {
    /// The client's supported range (`supportedClientSMPRelayVRange`, 6..18).
    pub version_range: VersionRange,
    /// The server identity from the address.
    pub key_hash: KeyHash,
    /// Whether this client is an SMP server acting as a proxy.
    pub proxy_server: bool,
    /// Whether to send an X25519 session key (real clients do; `agreeSecret`).
    pub send_session_key: bool,
}

impl ClientHandshakeSettings {
    /// An ordinary client: 6..18, a session key, not a proxy.
    pub fn new(key_hash: KeyHash) -> Self {
        ClientHandshakeSettings {
            version_range: VersionRange::SUPPORTED_SERVER,
            key_hash,
            proxy_server: false,
            send_session_key: true,
        }
    }
}

/// The negotiated parameters of a client connection (`THandleParams` with `THAuthClient`).
#[derive(Debug)]
pub struct ClientHandshake {
    /// The version chosen: the highest common one.
    pub version: Version,
    /// The common range (`thServerVRange`).
    pub version_range: VersionRange,
    /// The range the server advertised.
    pub server_version_range: VersionRange,
    /// tls-unique.
    pub session_id: Vec<u8>,
    /// The server's chain and signed session key, verified (v7+).
    pub server_cert_key: Option<CertChainPubKey>,
    /// The server's X25519 session key taken from it.
    pub server_session_key: Option<DhPublicKey>,
    /// This client's session key pair, when it sent one.
    pub client_session_key: Option<X25519KeyPair>,
    /// Whether blocks after the handshake are encrypted.
    pub block_encryption: bool,
}

/// A client connection after a successful handshake.
#[derive(Debug)]
pub struct ClientConnection<S> {
    pub handshake: ClientHandshake,
    pub reader: StreamReader<S>,
    pub writer: StreamWriter<S>,
}

/// Runs the client side of the handshake (`Transport.smpClientHandshake`) without a service
/// block. `tls` must come from [`crate::tls::connect`] (which validated the chain).
pub async fn client_handshake<S>(
    settings: &ClientHandshakeSettings,
    tls: TlsConnection<S>,
) -> Result<ClientConnection<S>, HandshakeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let TlsConnection {
        stream, session_id, ..
    } = tls;
    let tls_leaf_key = leaf_public_key(stream.ssl());
    let (read_half, write_half) = tokio::io::split(stream);
    let mut reader = BlockReader::new(read_half);
    let mut writer = BlockWriter::new(write_half);

    let hello: ServerHello = parse_handshake(&reader.read_padded().await?)
        .map_err(|_| TransportError::Handshake(HandshakeError::Parse))?;
    if hello.session_id != session_id {
        return Err(TransportError::Session.into());
    }
    // A proxy talking to a relay older than v14 stays at most at v10 (no block encryption).
    let own_range = if settings.proxy_server
        && hello.version_range.max() < Version::PROXY_SERVER_HANDSHAKE
    {
        let capped = settings.version_range.min().max(Version::DELETED_EVENT);
        VersionRange::new(settings.version_range.min(), capped).unwrap_or(settings.version_range)
    } else {
        settings.version_range
    };
    let version_range = hello
        .version_range
        .intersect(&own_range)
        .ok_or(TransportError::Version)?;
    let server_session_key = match &hello.server_key {
        Some(cert_key) => Some(
            verify_server_key(cert_key, &settings.key_hash, tls_leaf_key.as_ref())
                .ok_or(HandshakeError::BadAuth)?,
        ),
        None => None,
    };
    let version = version_range.max();
    let client_session_key = settings
        .send_session_key
        .then(|| X25519KeyPair::generate(&mut OsRng));
    let client_hello = ClientHello {
        version,
        key_hash: settings.key_hash,
        session_key: client_session_key.as_ref().map(|pair| *pair.public_key()),
        proxy_server: settings.proxy_server,
        service: None,
    };
    writer.write_padded(&client_hello.to_bytes()).await?;

    let block_encryption = encrypts_blocks(
        version,
        settings.proxy_server,
        server_session_key.is_some() && client_session_key.is_some(),
    );
    if let (true, Some(server_key), Some(pair)) =
        (block_encryption, &server_session_key, &client_session_key)
    {
        let secret = pair.diffie_hellman(server_key);
        block_cipher::install(&mut reader, &mut writer, &session_id, &secret, Side::Client);
    }
    Ok(ClientConnection {
        handshake: ClientHandshake {
            version,
            version_range,
            server_version_range: hello.version_range,
            session_id,
            server_cert_key: hello.server_key,
            server_session_key,
            client_session_key,
            block_encryption,
        },
        reader,
        writer,
    })
}

/// The public key of the TLS peer's leaf certificate (`Transport.getServerVerifyKey`).
fn leaf_public_key(ssl: &SslRef) -> Option<PKey<Public>> {
    ssl.peer_certificate()?.public_key().ok()
}

/// The client's checks of the server's certificate part (`smpClientHandshake`): 2..4
/// certificates whose identity certificate hashes to `key_hash`, and a session key signed by the
/// TLS leaf key that is an X25519 key. `None` means `HANDSHAKE BAD_AUTH`.
fn verify_server_key(
    cert_key: &CertChainPubKey,
    key_hash: &KeyHash,
    tls_leaf_key: Option<&PKey<Public>>,
) -> Option<DhPublicKey> {
    let roles = chain_roles(cert_key.cert_chain.certificates()).ok()?;
    if KeyHash::of_certificate(roles.identity) != *key_hash {
        return None;
    }
    let leaf_key = tls_leaf_key?;
    let signed = &cert_key.signed_key;
    // The signature algorithm must be the one of the verifying key.
    if signed.algorithm()? != signature_algorithm(leaf_key)? {
        return None;
    }
    let valid = Verifier::new_without_digest(leaf_key)
        .and_then(|mut verifier| verifier.verify_oneshot(signed.signature(), signed.signed_bytes()))
        .ok()?;
    if !valid {
        return None;
    }
    match signed.public_key().ok()? {
        PublicKey::X25519(raw) => Some(DhPublicKey(raw)),
        _ => None,
    }
}
