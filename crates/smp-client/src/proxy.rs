//! Proxied sending (spec §6.11): the client ↔ proxy side (`Client.connectSMPProxiedRelay`,
//! `Client.proxySMPCommand`) and the proxy ↔ relay side (`Client.forwardSMPTransmission`).
//!
//! * `PRXY relay` asks a proxy to connect to the destination relay; the `PKEY` answer carries the
//!   relay's session id, version range, certificate chain and session key signed by the chain's
//!   leaf, which the client checks against the relay's key hash ([`validate_relay`]).
//! * `PFWD` carries one transmission built for the relay (its session id and version),
//!   encrypted for the relay ("s2r" layer): DH of a fresh X25519 key and the relay session key,
//!   nonce = the PFWD correlation id, padded to 16 226; the answer (`PRES`) comes back under the
//!   reversed nonce.
//! * `RFWD` (proxy → relay) wraps that in the "p2r" layer: this connection's session secret,
//!   nonce = the RFWD correlation id, no padding; `RRES` comes back under the reversed nonce.

use openssl::pkey::Id;
use openssl::sign::Verifier;
use openssl::x509::X509;
use rand_core::OsRng;
use smp_proto::address::{BasicAuth, SmpServer};
use smp_proto::block::{batch_transmissions, decode_batch};
use smp_proto::codec::{Decode, Encode};
use smp_proto::command::{Command, MsgFlags};
use smp_proto::crypto::{
    cb_decrypt, cb_decrypt_no_pad, cb_encrypt, cb_encrypt_no_pad, CbNonce, DhSecret, X25519KeyPair,
};
use smp_proto::error::{BrokerError, ErrorType, ProxyError};
use smp_proto::handshake::{HandshakeError, TransportError};
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::keys::{DhPublicKey, KeyHash, PublicKey};
use smp_proto::response::{FwdResponse, FwdTransmission, Response};
use smp_proto::transmission::{decode_client, TransmissionParams};
use smp_proto::version::{Version, VersionRange};
use smp_proto::x509::{CertChainPubKey, SignatureAlgorithm};
use smp_transport::tls::validate_server_chain;

use crate::connection::{into_response, SmpClient};
use crate::encoding::encode_transmission;
use crate::error::{ClientError, ClientResult};
use crate::keys::AuthKeyPair;
use crate::queue::{link_data, LinkData};

/// Padded size of the client ↔ relay layer (`Protocol.paddedProxiedTLength`).
pub const PADDED_PROXIED_LENGTH: usize = 16_226;

/// A relay session opened through a proxy (`Client.ProxiedRelay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedRelay {
    /// The proxy ↔ relay session id: the entity id of every `PFWD`, and the session id that
    /// proxied transmissions are authorized with.
    pub session_id: Vec<u8>,
    /// The version proxied transmissions use.
    pub version: Version,
    /// The password given in `PRXY`, kept to reconnect through the same proxy.
    pub basic_auth: Option<BasicAuth>,
    /// The relay's session key (signed by its TLS key).
    pub server_key: DhPublicKey,
}

/// What went wrong between the client and the proxy (`Client.ProxyClientError`); errors from
/// the relay itself come back as [`ClientError::Server`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyClientError {
    /// The proxy answered `ERR` (`ERR PROXY …`, `ERR CRYPTO`, …).
    Protocol(ErrorType),
    /// The proxy answered something other than `PRES`.
    Unexpected(String),
    /// The proxy's answer did not parse.
    Response(ErrorType),
}

/// The proxy's answer to a proxied command.
pub type ProxiedResult<T> = ClientResult<Result<T, ProxyClientError>>;

fn proxy_transport_error(error: TransportError) -> ClientError {
    ClientError::Server(ErrorType::Proxy(Box::new(ProxyError::Broker(
        BrokerError::Transport(error),
    ))))
}

fn unexpected(response: &Response) -> String {
    let mut text = format!("{response:?}");
    text.truncate(32);
    text
}

impl SmpClient {
    /// `PRXY relay password` → `PKEY`, checked (`Client.connectSMPProxiedRelay`): the proxied
    /// range must be compatible with this client's, and the relay's chain and signed key must
    /// match `relay`'s key hash.
    pub async fn proxy_connect(
        &self,
        relay: &SmpServer,
        basic_auth: Option<BasicAuth>,
    ) -> ClientResult<ProxiedRelay> {
        if self.params.version < Version::SENDING_PROXY {
            return Err(ClientError::TransportError(TransportError::Version));
        }
        let command = Command::Prxy {
            server: relay.clone(),
            basic_auth: basic_auth.clone(),
        };
        match self.request(&EntityId::empty(), None, &command).await? {
            Response::Pkey {
                session_id,
                version_range,
                cert_key,
            } => {
                let common = VersionRange::SUPPORTED_SERVER
                    .intersect(&version_range)
                    .ok_or_else(|| proxy_transport_error(TransportError::Version))?;
                let server_key = validate_relay(&cert_key, &relay.key_hash).map_err(|_| {
                    proxy_transport_error(TransportError::Handshake(HandshakeError::Identity))
                })?;
                Ok(ProxiedRelay {
                    session_id: session_id.into_vec(),
                    version: common.max(),
                    basic_auth,
                    server_key,
                })
            }
            other => Err(ClientError::UnexpectedResponse(unexpected(&other))),
        }
    }

    /// Sends `command` for `entity_id` to the relay through this proxy (`PFWD` → `PRES`,
    /// `Client.proxySMPCommand`). The relay's `ERR` is [`ClientError::Server`]; the proxy's own
    /// errors are the inner `Err`.
    pub async fn proxy_command(
        &self,
        relay: &ProxiedRelay,
        key: Option<&AuthKeyPair>,
        entity_id: &EntityId,
        command: &Command,
    ) -> ProxiedResult<Response> {
        let mut params = self.params.with_version(relay.version);
        params.session_id = relay.session_id.clone();
        let ephemeral = X25519KeyPair::generate(&mut OsRng);
        let secret = ephemeral.diffie_hellman(&relay.server_key);
        let corr_id = SmpClient::new_corr_id();
        let nonce = CbNonce::from_prefix(corr_id.as_bytes());
        let transmission = encode_transmission(
            &params,
            Some(&relay.server_key),
            &corr_id,
            entity_id,
            key,
            &command.to_bytes(relay.version),
        )?;
        let encrypted = seal_proxied(&secret, &nonce, &transmission)?;
        let session_entity = EntityId::new(relay.session_id.clone())?;
        let pfwd = Command::Pfwd {
            version: relay.version,
            key: *ephemeral.public_key(),
            encrypted,
        };
        let bytes = self.encode_transmission(
            &corr_id,
            &session_entity,
            None,
            &pfwd.to_bytes(self.params.version),
        )?;
        let reply = self.exchange_one(corr_id, bytes).await?;
        match into_response(reply, &session_entity) {
            Ok(Response::Pres(encrypted)) => {
                open_proxied_response(&secret, &nonce, &params, &encrypted).map(Ok)
            }
            Ok(other) => Ok(Err(ProxyClientError::Unexpected(unexpected(&other)))),
            Err(ClientError::Server(error)) => Ok(Err(ProxyClientError::Protocol(error))),
            Err(ClientError::BadResponse(error)) => Ok(Err(ProxyClientError::Response(error))),
            Err(ClientError::UnexpectedResponse(text)) => {
                Ok(Err(ProxyClientError::Unexpected(text)))
            }
            Err(error) => Err(error),
        }
    }

    /// `SEND` through the proxy.
    pub async fn proxy_send(
        &self,
        relay: &ProxiedRelay,
        sender_id: &EntityId,
        sender_key: Option<&AuthKeyPair>,
        notification: bool,
        body: &[u8],
    ) -> ProxiedResult<()> {
        let command = Command::Send {
            flags: MsgFlags { notification },
            body: body.to_vec(),
        };
        let response = self
            .proxy_command(relay, sender_key, sender_id, &command)
            .await?;
        Ok(response.and_then(expect_ok))
    }

    /// `SKEY` through the proxy: the sender secures the queue with its key.
    pub async fn proxy_secure(
        &self,
        relay: &ProxiedRelay,
        sender_id: &EntityId,
        sender_key: &AuthKeyPair,
    ) -> ProxiedResult<()> {
        let command = Command::Skey(sender_key.public_key());
        let response = self
            .proxy_command(relay, Some(sender_key), sender_id, &command)
            .await?;
        Ok(response.and_then(expect_ok))
    }

    /// `LGET` through the proxy.
    pub async fn proxy_link_get(
        &self,
        relay: &ProxiedRelay,
        link_id: &EntityId,
    ) -> ProxiedResult<LinkData> {
        let response = self
            .proxy_command(relay, None, link_id, &Command::Lget)
            .await?;
        match response {
            Ok(response) => link_data(response).map(Ok),
            Err(error) => Ok(Err(error)),
        }
    }

    /// `LKEY` through the proxy.
    pub async fn proxy_link_key(
        &self,
        relay: &ProxiedRelay,
        link_id: &EntityId,
        sender_key: &AuthKeyPair,
    ) -> ProxiedResult<LinkData> {
        let command = Command::Lkey(sender_key.public_key());
        let response = self
            .proxy_command(relay, Some(sender_key), link_id, &command)
            .await?;
        match response {
            Ok(response) => link_data(response).map(Ok),
            Err(error) => Ok(Err(error)),
        }
    }

    /// The proxy's side of `PFWD`: sends `RFWD` to the relay on this connection and returns the
    /// encrypted response for the client (`Client.forwardSMPTransmission`).
    pub async fn forward_transmission(
        &self,
        fwd_corr_id: &CorrId,
        fwd_version: Version,
        fwd_key: &DhPublicKey,
        fwd_transmission: &[u8],
    ) -> ClientResult<Vec<u8>> {
        let secret = self
            .session_secret()
            .ok_or(ClientError::TransportError(TransportError::NoAuth))?;
        let corr_id = SmpClient::new_corr_id();
        let nonce = CbNonce::from_prefix(corr_id.as_bytes());
        let forwarded = FwdTransmission {
            corr_id: fwd_corr_id.clone(),
            version: fwd_version,
            key: *fwd_key,
            encrypted: fwd_transmission.to_vec(),
        };
        let rfwd = Command::Rfwd(cb_encrypt_no_pad(secret, &nonce, &forwarded.to_bytes()));
        let bytes = self.encode_transmission(
            &corr_id,
            &EntityId::empty(),
            None,
            &rfwd.to_bytes(self.params.version),
        )?;
        let reply = self.exchange_one(corr_id, bytes).await?;
        match into_response(reply, &EntityId::empty())? {
            Response::Rres(encrypted) => open_forwarded_response(secret, &nonce, &encrypted),
            other => Err(ClientError::UnexpectedResponse(unexpected(&other))),
        }
    }
}

fn expect_ok(response: Response) -> Result<(), ProxyClientError> {
    match response {
        Response::Ok => Ok(()),
        other => Err(ProxyClientError::Unexpected(unexpected(&other))),
    }
}

/// The client's s2r encryption of one transmission: batch content `01 || s16(t)` padded to
/// [`PADDED_PROXIED_LENGTH`] (`proxySMPCommand`).
pub fn seal_proxied(
    secret: &DhSecret,
    nonce: &CbNonce,
    transmission: &[u8],
) -> ClientResult<Vec<u8>> {
    let content = match batch_transmissions(&[transmission]).into_iter().next() {
        Some(Ok(content)) => content,
        _ => return Err(ClientError::TransportError(TransportError::LargeMsg)),
    };
    cb_encrypt(secret, nonce, &content, PADDED_PROXIED_LENGTH)
        .map_err(|_| ClientError::TransportError(TransportError::LargeMsg))
}

/// Opens the relay's answer inside `PRES` (reversed nonce) and decodes its one transmission
/// with the relay's parameters; the relay's `ERR` becomes [`ClientError::Server`].
pub fn open_proxied_response(
    secret: &DhSecret,
    nonce: &CbNonce,
    params: &TransmissionParams,
    encrypted: &[u8],
) -> ClientResult<Response> {
    let content =
        cb_decrypt(secret, &nonce.reversed(), encrypted).map_err(|_| ClientError::Crypto)?;
    let batch = decode_batch(&content)?;
    let mut transmissions = batch.iter();
    let (Some(bytes), None) = (transmissions.next(), transmissions.next()) else {
        return Err(ClientError::TransportError(TransportError::Block));
    };
    match decode_client(params, bytes).response {
        Ok(Response::Err(error)) => Err(ClientError::Server(error)),
        Ok(response) => Ok(response),
        Err(error) => Err(ClientError::BadResponse(error)),
    }
}

/// Opens `RRES` (p2r layer, reversed nonce, no padding) and returns the client's encrypted
/// response inside it; a body that does not parse is `BLOCK`.
pub fn open_forwarded_response(
    secret: &DhSecret,
    nonce: &CbNonce,
    encrypted: &[u8],
) -> ClientResult<Vec<u8>> {
    let decrypted =
        cb_decrypt_no_pad(secret, &nonce.reversed(), encrypted).map_err(|_| ClientError::Crypto)?;
    let response = FwdResponse::from_bytes(&decrypted)
        .map_err(|_| ClientError::BadResponse(ErrorType::Block))?;
    Ok(response.encrypted)
}

/// The client's check of `PKEY` (`connectSMPProxiedRelay: validateRelay`): 2..4 certificates,
/// SHA-256 of the identity certificate = `key_hash`, X.509 path validation, and a session key
/// signed by the leaf certificate's key that is an X25519 key.
pub fn validate_relay(
    cert_key: &CertChainPubKey,
    key_hash: &KeyHash,
) -> Result<DhPublicKey, String> {
    let chain = cert_key
        .cert_chain
        .certificates()
        .iter()
        .map(|der| X509::from_der(der).map_err(|error| error.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    validate_server_chain(&chain, key_hash).map_err(|error| error.to_string())?;
    let leaf = chain.first().ok_or("empty chain")?;
    let leaf_key = leaf.public_key().map_err(|error| error.to_string())?;
    let algorithm = match leaf_key.id() {
        Id::ED25519 => SignatureAlgorithm::Ed25519,
        Id::ED448 => SignatureAlgorithm::Ed448,
        _ => return Err("leaf key is not an EdDSA key".into()),
    };
    let signed = &cert_key.signed_key;
    if signed.algorithm() != Some(algorithm) {
        return Err("signature algorithm is not the leaf key's".into());
    }
    let valid = Verifier::new_without_digest(&leaf_key)
        .and_then(|mut verifier| verifier.verify_oneshot(signed.signature(), signed.signed_bytes()))
        .map_err(|error| error.to_string())?;
    if !valid {
        return Err("bad signature of the session key".into());
    }
    match signed.public_key().map_err(|error| error.to_string())? {
        PublicKey::X25519(raw) => Ok(DhPublicKey(raw)),
        _ => Err("session key is not X25519".into()),
    }
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;
