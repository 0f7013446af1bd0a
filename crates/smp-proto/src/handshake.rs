//! The SMP transport handshake messages (`Transport.hs`): the server hello, the client hello, the
//! service response (v16+), and the text form of transport errors.
//!
//! Each message travels alone in a plain-padded block. Unlike every other unit, handshake messages
//! may be followed by bytes the parser ignores (`Transport.getHandshake` does not require the end of
//! input), so use [`parse_handshake`] rather than [`Decode::from_bytes`] on a received message.

use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};
use crate::ids::EntityId;
use crate::keys::{DhPublicKey, KeyHash};
use crate::version::{Version, VersionRange};
use crate::x509::CertChainPubKey;

/// Parses a handshake message, ignoring trailing bytes (`Transport.getHandshake`).
pub fn parse_handshake<T: Decode>(message: &[u8]) -> DecodeResult<T> {
    T::decode(&mut Reader::new(message))
}

/// The server's first message (`Transport.SMPServerHandshake`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub version_range: VersionRange,
    /// tls-unique of the connection (32 bytes with TLS 1.3).
    pub session_id: Vec<u8>,
    /// Certificate chain and signed X25519 session key. Sent only when `version_range.max() >= 7`,
    /// with no presence marker.
    pub server_key: Option<CertChainPubKey>,
}

impl Encode for ServerHello {
    fn encode(&self, out: &mut Vec<u8>) {
        self.version_range.encode(out);
        out.put_short(&self.session_id);
        if self.version_range.max() >= Version::AUTH_CMDS {
            if let Some(key) = &self.server_key {
                key.encode(out);
            }
        }
    }
}

impl Decode for ServerHello {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let version_range = VersionRange::decode(reader)?;
        let session_id = reader.short_bytes()?.to_vec();
        // `Transport.authEncryptCmdsP`: an optional parser, absent when it does not parse.
        let server_key = if version_range.max() >= Version::AUTH_CMDS {
            reader.attempt(CertChainPubKey::decode)
        } else {
            None
        };
        Ok(ServerHello {
            version_range,
            session_id,
            server_key,
        })
    }
}

/// The role a service client declares (`Transport.SMPServiceRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceRole {
    /// `M`
    Messaging,
    /// `N`
    Notifier,
    /// `P`
    Proxy,
}

impl Encode for ServiceRole {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(match self {
            ServiceRole::Messaging => b'M',
            ServiceRole::Notifier => b'N',
            ServiceRole::Proxy => b'P',
        });
    }
}

impl Decode for ServiceRole {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        match reader.u8()? {
            b'M' => Ok(ServiceRole::Messaging),
            b'N' => Ok(ServiceRole::Notifier),
            b'P' => Ok(ServiceRole::Proxy),
            _ => Err(DecodeError::Malformed("service role")),
        }
    }
}

/// The service block of a v16+ client hello (`Transport.SMPClientHandshakeService`): the role and
/// the client's TLS chain with an Ed25519 session key signed by its leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientService {
    pub role: ServiceRole,
    pub cert_key: CertChainPubKey,
}

impl Encode for ClientService {
    fn encode(&self, out: &mut Vec<u8>) {
        self.role.encode(out);
        self.cert_key.encode(out);
    }
}

impl Decode for ClientService {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(ClientService {
            role: ServiceRole::decode(reader)?,
            cert_key: CertChainPubKey::decode(reader)?,
        })
    }
}

/// The client's answer to the server hello (`Transport.SMPClientHandshake`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The version the client chose.
    pub version: Version,
    /// The server identity the client expects.
    pub key_hash: KeyHash,
    /// The client's X25519 session key (v7+, no presence marker; real clients always send it).
    pub session_key: Option<DhPublicKey>,
    /// `T` only from an SMP server acting as a proxy (v14+; disables block encryption).
    pub proxy_server: bool,
    /// Service credentials (v16+).
    pub service: Option<ClientService>,
}

impl Encode for ClientHello {
    fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        self.key_hash.encode(out);
        if self.version >= Version::AUTH_CMDS {
            if let Some(key) = &self.session_key {
                key.encode(out);
            }
        }
        if self.version >= Version::PROXY_SERVER_HANDSHAKE {
            out.put_bool(self.proxy_server);
        }
        if self.version >= Version::SERVICE_CERTS {
            out.put_optional(self.service.as_ref(), |out, service| service.encode(out));
        }
    }
}

impl Decode for ClientHello {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let version = Version::decode(reader)?;
        let key_hash = KeyHash::decode(reader)?;
        // `Transport.authEncryptCmdsP`: backtracks when the bytes are not an X25519 key.
        let session_key = if version >= Version::AUTH_CMDS {
            reader.attempt(DhPublicKey::decode)
        } else {
            None
        };
        let proxy_server = if version >= Version::PROXY_SERVER_HANDSHAKE {
            reader.bool()?
        } else {
            false
        };
        let service = if version >= Version::SERVICE_CERTS {
            reader.optional(ClientService::decode)?
        } else {
            None
        };
        Ok(ClientHello {
            version,
            key_hash,
            session_key,
            proxy_server,
            service,
        })
    }
}

/// The third handshake message, sent only to clients that sent a service block
/// (`Transport.SMPServerHandshakeResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceResponse {
    /// `'R' s8(serviceId)`
    Accepted(EntityId),
    /// `'E' transportError`
    Rejected(TransportError),
}

impl Encode for ServiceResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ServiceResponse::Accepted(service_id) => {
                out.put_u8(b'R');
                service_id.encode(out);
            }
            ServiceResponse::Rejected(error) => {
                out.put_u8(b'E');
                error.encode(out);
            }
        }
    }
}

impl Decode for ServiceResponse {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        match reader.u8()? {
            b'R' => EntityId::decode(reader).map(ServiceResponse::Accepted),
            b'E' => TransportError::decode(reader).map(ServiceResponse::Rejected),
            _ => Err(DecodeError::Malformed("service handshake response")),
        }
    }
}

/// Why the handshake failed (`Transport.HandshakeError`); the text is the constructor name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeError {
    Parse,
    Identity,
    BadAuth,
    BadService,
}

impl HandshakeError {
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeError::Parse => "PARSE",
            HandshakeError::Identity => "IDENTITY",
            HandshakeError::BadAuth => "BAD_AUTH",
            HandshakeError::BadService => "BAD_SERVICE",
        }
    }
}

/// A transport-level error (`Transport.TransportError`). Text on the wire, words separated by one
/// space: `BLOCK`, `VERSION`, `LARGE_MSG`, `SESSION`, `NO_AUTH`, `HANDSHAKE <error>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportError {
    /// `BLOCK`: a block could not be parsed.
    Block,
    /// `VERSION`: no compatible version.
    Version,
    /// `LARGE_MSG`: the message does not fit in a block.
    LargeMsg,
    /// `SESSION`: wrong session id.
    Session,
    /// `NO_AUTH`: the server sent no session key.
    NoAuth,
    /// `HANDSHAKE <error>`.
    Handshake(HandshakeError),
}

impl Encode for TransportError {
    fn encode(&self, out: &mut Vec<u8>) {
        let word: &[u8] = match self {
            TransportError::Block => b"BLOCK",
            TransportError::Version => b"VERSION",
            TransportError::LargeMsg => b"LARGE_MSG",
            TransportError::Session => b"SESSION",
            TransportError::NoAuth => b"NO_AUTH",
            TransportError::Handshake(error) => {
                out.put_bytes(b"HANDSHAKE ");
                error.as_str().as_bytes()
            }
        };
        out.put_bytes(word);
    }
}

/// Bytes up to (not including) the next space or newline (`Parsers.wordEnd`).
pub(crate) fn word<'a>(reader: &mut Reader<'a>) -> &'a [u8] {
    let rest = reader.remaining();
    let length = rest
        .iter()
        .position(|byte| *byte == b' ' || *byte == b'\n')
        .unwrap_or(rest.len());
    // `length <= rest.len()`, so this take cannot fail.
    reader.take(length).unwrap_or_default()
}

impl Decode for TransportError {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let rest = reader.remaining();
        let length = rest
            .iter()
            .position(|byte| *byte == b' ')
            .unwrap_or(rest.len());
        let tag = reader.take(length)?;
        Ok(match tag {
            b"BLOCK" => TransportError::Block,
            b"VERSION" => TransportError::Version,
            b"LARGE_MSG" => TransportError::LargeMsg,
            b"SESSION" => TransportError::Session,
            b"NO_AUTH" => TransportError::NoAuth,
            b"HANDSHAKE" => {
                reader.space()?;
                TransportError::Handshake(match word(reader) {
                    b"PARSE" => HandshakeError::Parse,
                    b"IDENTITY" => HandshakeError::Identity,
                    b"BAD_AUTH" => HandshakeError::BadAuth,
                    b"BAD_SERVICE" => HandshakeError::BadService,
                    _ => return Err(DecodeError::Malformed("handshake error")),
                })
            }
            _ => return Err(DecodeError::Malformed("transport error")),
        })
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl std::error::Error for TransportError {}

#[cfg(test)]
#[path = "handshake_tests.rs"]
mod tests;
