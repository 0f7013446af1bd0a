//! Transmissions: the authorization, optional service signature, session id (v6), correlation id,
//! entity id and command of one unit in a batch (`Protocol.hs: transmissionP`, `tDecodeServer`,
//! `tDecodeClient`, `tEncodeAuth`, `encodeTransmissionForAuth`, `encodeTransmission`).
//!
//! ```text
//! transmission = s8(auth) [opt(s8(serviceSig)) if v>=16 and auth non-empty] [s8(sessionId) if v<7]
//!                s8(corrId) s8(entityId) command
//! authorized   = s8(sessionId) s8(corrId) s8(entityId) command     -- what auth signs, all versions
//! ```

use crate::codec::{Decode, DecodeError, DecodeResult, Reader, Writer};
use crate::command::Command;
use crate::error::ErrorType;
use crate::ids::{CorrId, EntityId};
use crate::response::Response;
use crate::version::Version;

/// Per-connection parameters that shape transmissions (`Transport.THandleParams`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransmissionParams {
    pub version: Version,
    /// tls-unique of the connection.
    pub session_id: Vec<u8>,
    /// The session id is not sent but still authorized (v7+).
    pub imply_session_id: bool,
    /// A service-signature field follows non-empty authorizations (v16+).
    pub service_auth: bool,
}

impl TransmissionParams {
    /// Parameters of a connection that negotiated `version`.
    pub fn new(version: Version, session_id: Vec<u8>) -> Self {
        TransmissionParams {
            version,
            session_id,
            imply_session_id: version >= Version::AUTH_CMDS,
            service_auth: version >= Version::SERVICE_CERTS,
        }
    }

    /// The same connection speaking another version, as for forwarded transmissions: the
    /// session-id rule stays (`Transport.smpTHParamsSetVersion`).
    pub fn with_version(&self, version: Version) -> Self {
        TransmissionParams {
            version,
            session_id: self.session_id.clone(),
            imply_session_id: self.imply_session_id,
            service_auth: version >= Version::SERVICE_CERTS,
        }
    }
}

/// A command authorization, its kind given by its length (`Protocol.decodeTAuthBytes`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum TransmissionAuth {
    /// 64-byte Ed25519 signature.
    Ed25519([u8; 64]),
    /// 114-byte Ed448 signature.
    Ed448([u8; 114]),
    /// 80-byte X25519 authenticator (v7+): crypto_box of the SHA-512 of the authorized bytes.
    Authenticator([u8; 80]),
}

impl TransmissionAuth {
    /// `Ok(None)` for empty bytes; any length other than 0, 64, 80, 114 is an error (`BLOCK`).
    pub fn from_slice(bytes: &[u8]) -> DecodeResult<Option<Self>> {
        Ok(Some(match bytes.len() {
            0 => return Ok(None),
            64 => TransmissionAuth::Ed25519(array(bytes)?),
            80 => TransmissionAuth::Authenticator(array(bytes)?),
            114 => TransmissionAuth::Ed448(array(bytes)?),
            _ => return Err(DecodeError::Malformed("authorization length")),
        }))
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            TransmissionAuth::Ed25519(bytes) => bytes,
            TransmissionAuth::Ed448(bytes) => bytes,
            TransmissionAuth::Authenticator(bytes) => bytes,
        }
    }
}

fn array<const N: usize>(bytes: &[u8]) -> DecodeResult<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| DecodeError::Malformed("authorization length"))
}

impl std::fmt::Debug for TransmissionAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            TransmissionAuth::Ed25519(_) => "Ed25519",
            TransmissionAuth::Ed448(_) => "Ed448",
            TransmissionAuth::Authenticator(_) => "Authenticator",
        };
        write!(f, "TransmissionAuth::{kind}")
    }
}

/// A 64-byte Ed25519 service signature (v16+).
pub type ServiceSignature = [u8; 64];

/// A transmission split into its fields, not yet interpreted (`Protocol.RawTransmission`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTransmission<'a> {
    /// The authorization bytes as sent (any length; checked by [`decode_server`]).
    pub authorization: &'a [u8],
    pub service_signature: Option<ServiceSignature>,
    /// `s8(sessionId) s8(corrId) s8(entityId) command`, with the connection's session id
    /// prepended for v7+.
    pub authorized: Vec<u8>,
    /// The session id sent in the transmission (v6 only; empty otherwise).
    pub session_id: &'a [u8],
    pub corr_id: CorrId,
    pub entity_id: EntityId,
    pub command: &'a [u8],
}

impl<'a> RawTransmission<'a> {
    /// `Protocol.transmissionP`: the whole input must be one transmission.
    pub fn parse(params: &TransmissionParams, bytes: &'a [u8]) -> DecodeResult<Self> {
        let mut reader = Reader::new(bytes);
        let authorization = reader.short_bytes()?;
        let service_signature = if params.service_auth && !authorization.is_empty() {
            reader.optional(|r| match r.short_bytes()? {
                signature if signature.len() == 64 => array::<64>(signature),
                _ => Err(DecodeError::Malformed("service signature length")),
            })?
        } else {
            None
        };
        let rest = reader.remaining();
        let session_id = if params.imply_session_id {
            &rest[..0]
        } else {
            reader.short_bytes()?
        };
        let corr_id = CorrId::decode(&mut reader)?;
        let entity_id = EntityId::decode(&mut reader)?;
        let command = reader.tail();
        let authorized = if params.imply_session_id {
            let mut authorized = Vec::with_capacity(1 + params.session_id.len() + rest.len());
            authorized.put_short(&params.session_id);
            authorized.extend_from_slice(rest);
            authorized
        } else {
            rest.to_vec()
        };
        Ok(RawTransmission {
            authorization,
            service_signature,
            authorized,
            session_id,
            corr_id,
            entity_id,
            command,
        })
    }
}

/// A command the server accepted at the syntax level (`Protocol.SignedTransmission`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCommand {
    pub authorization: Option<TransmissionAuth>,
    pub service_signature: Option<ServiceSignature>,
    /// The bytes the authorization covers.
    pub authorized: Vec<u8>,
    pub corr_id: CorrId,
    pub entity_id: EntityId,
    pub command: Command,
}

/// An error the server answers while decoding, with the correlation and entity ids that the
/// response carries (spec §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedTransmission {
    pub corr_id: CorrId,
    pub entity_id: EntityId,
    pub error: ErrorType,
}

/// Decodes one client transmission on the server (`Protocol.tDecodeServer`):
/// malformed → `BLOCK` (empty ids); v6 session mismatch → `SESSION` (corr id); bad authorization
/// length → `BLOCK` (corr id); unknown tag / bad parameters / credential rules → `CMD …`
/// (corr id and entity id).
pub fn decode_server(
    params: &TransmissionParams,
    bytes: &[u8],
) -> Result<SignedCommand, RejectedTransmission> {
    let raw = RawTransmission::parse(params, bytes).map_err(|_| RejectedTransmission {
        corr_id: CorrId::empty(),
        entity_id: EntityId::empty(),
        error: ErrorType::Block,
    })?;
    let reject_without_entity = |error| RejectedTransmission {
        corr_id: raw.corr_id.clone(),
        entity_id: EntityId::empty(),
        error,
    };
    if !params.imply_session_id && raw.session_id != params.session_id.as_slice() {
        return Err(reject_without_entity(ErrorType::Session));
    }
    let authorization = TransmissionAuth::from_slice(raw.authorization)
        .map_err(|_| reject_without_entity(ErrorType::Block))?;
    let command = Command::parse(params.version, raw.command)
        .and_then(|command| {
            command
                .check_credentials(authorization.is_some(), &raw.entity_id)
                .map(|()| command)
        })
        .map_err(|error| RejectedTransmission {
            corr_id: raw.corr_id.clone(),
            entity_id: raw.entity_id.clone(),
            error: ErrorType::Cmd(error),
        })?;
    Ok(SignedCommand {
        authorization,
        service_signature: raw.service_signature,
        authorized: raw.authorized,
        corr_id: raw.corr_id,
        entity_id: raw.entity_id,
        command,
    })
}

/// A server message as a client sees it (`Protocol.tDecodeClient`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTransmission {
    pub corr_id: CorrId,
    pub entity_id: EntityId,
    pub response: Result<Response, ErrorType>,
}

/// Decodes one server transmission on the client: malformed → `BLOCK` (empty ids); v6 session
/// mismatch → `SESSION`; otherwise the parsed message checked by
/// [`Response::check_credentials`]. The authorization field is not interpreted.
pub fn decode_client(params: &TransmissionParams, bytes: &[u8]) -> ClientTransmission {
    let raw = match RawTransmission::parse(params, bytes) {
        Ok(raw) => raw,
        Err(_) => {
            return ClientTransmission {
                corr_id: CorrId::empty(),
                entity_id: EntityId::empty(),
                response: Err(ErrorType::Block),
            }
        }
    };
    if !params.imply_session_id && raw.session_id != params.session_id.as_slice() {
        return ClientTransmission {
            corr_id: raw.corr_id,
            entity_id: EntityId::empty(),
            response: Err(ErrorType::Session),
        };
    }
    let response = Response::parse(params.version, raw.command).and_then(|response| {
        response
            .check_credentials(&raw.entity_id)
            .map(|()| response)
    });
    ClientTransmission {
        corr_id: raw.corr_id,
        entity_id: raw.entity_id,
        response,
    }
}

/// `s8(corrId) s8(entityId) message` (`Protocol.encodeTransmission_`).
fn encode_body(corr_id: &CorrId, entity_id: &EntityId, message: &[u8], out: &mut Vec<u8>) {
    out.put_short(corr_id.as_bytes());
    out.put_short(entity_id.as_bytes());
    out.put_bytes(message);
}

/// Encodes a client transmission (`encodeTransmissionForAuth` + `tEncode`). `authorize` gets the
/// authorized bytes and returns the authorization and optional service signature, or `None` for an
/// unauthorized command.
pub fn encode_client(
    params: &TransmissionParams,
    corr_id: &CorrId,
    entity_id: &EntityId,
    command: &Command,
    authorize: impl FnOnce(&[u8]) -> Option<(TransmissionAuth, Option<ServiceSignature>)>,
) -> Vec<u8> {
    let mut authorized = Vec::new();
    authorized.put_short(&params.session_id);
    let prefix = authorized.len();
    encode_body(
        corr_id,
        entity_id,
        &command.to_bytes(params.version),
        &mut authorized,
    );
    let sent = if params.imply_session_id {
        &authorized[prefix..]
    } else {
        &authorized[..]
    };
    let mut out = Vec::with_capacity(authorized.len() + 200);
    match authorize(&authorized) {
        None => out.put_u8(0),
        Some((auth, service_signature)) => {
            out.put_short(auth.as_bytes());
            if params.service_auth {
                out.put_optional(service_signature.as_ref(), |out, signature| {
                    out.put_short(signature)
                });
            }
        }
    }
    out.put_bytes(sent);
    out
}

/// Encodes a server message: unauthorized, session id only for v6 (`encodeTransmission`).
pub fn encode_server(
    params: &TransmissionParams,
    corr_id: &CorrId,
    entity_id: &EntityId,
    response: &Response,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_u8(0);
    if !params.imply_session_id {
        out.put_short(&params.session_id);
    }
    encode_body(
        corr_id,
        entity_id,
        &response.to_bytes(params.version),
        &mut out,
    );
    out
}

#[cfg(test)]
#[path = "transmission_tests.rs"]
mod tests;
