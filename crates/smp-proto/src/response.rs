//! Server → client messages of SMP v6–v18 (`Protocol.hs: data BrokerMsg`,
//! `instance ProtocolEncoding SMPVersion ErrorType BrokerMsg`), the plaintext layouts inside `MSG`
//! and `NMSG`, and the proxy forwarding envelopes (`FwdTransmission`, `FwdResponse`).

use crate::codec::{
    Decode, DecodeError, DecodeResult, Encode, Reader, ShortBytes, SystemTime, Writer,
};
use crate::command::{sender_can_secure, MsgFlags, QueueLinkData, QueueMode};
use crate::error::{CommandError, ErrorType};
use crate::ids::{CorrId, EntityId, MsgId};
use crate::keys::DhPublicKey;
use crate::version::{Version, VersionRange};
use crate::x509::CertChainPubKey;

/// Server notifier credentials in `IDS` (v17+): `s8(notifierId) s8(srvNtfDhKey)`
/// (`Protocol.ServerNtfCreds`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerNtfCreds {
    pub notifier_id: EntityId,
    pub server_ntf_dh_key: DhPublicKey,
}

/// The ids and keys of a new queue (`Protocol.QueueIdsKeys`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueIds {
    pub recipient_id: EntityId,
    pub sender_id: EntityId,
    pub server_dh_key: DhPublicKey,
    /// v9+ (v9–v14 as the `sndSecure` flag).
    pub queue_mode: Option<QueueMode>,
    /// v15+.
    pub link_id: Option<EntityId>,
    /// v16+.
    pub service_id: Option<EntityId>,
    /// v17+.
    pub server_ntf_creds: Option<ServerNtfCreds>,
}

/// A server message (`Protocol.BrokerMsg`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Response {
    /// `IDS`: answer to NEW.
    Ids(Box<QueueIds>),
    /// `LNK s8(senderId) linkData`.
    Lnk {
        sender_id: EntityId,
        link_data: QueueLinkData,
    },
    /// `SOK opt(s8(serviceId))` (v16+; `OK` below).
    Sok(Option<EntityId>),
    /// `SOKS i64`.
    Soks(i64),
    /// `MSG s8(msgId) tail(encrypted body)`.
    Msg {
        msg_id: MsgId,
        encrypted_body: Vec<u8>,
    },
    /// `NID s8(notifierId) s8(srvNtfDhKey)`.
    Nid {
        notifier_id: EntityId,
        server_ntf_dh_key: DhPublicKey,
    },
    /// `NMSG nonce(24) s8(encrypted NMsgMeta)`.
    Nmsg {
        nonce: [u8; 24],
        encrypted_meta: ShortBytes,
    },
    /// `PKEY s8(sessionId) versionRange CertChainPubKey`.
    Pkey {
        session_id: ShortBytes,
        version_range: VersionRange,
        cert_key: Box<CertChainPubKey>,
    },
    /// `RRES tail`.
    Rres(Vec<u8>),
    /// `PRES tail`.
    Pres(Vec<u8>),
    /// `END`.
    End,
    /// `ENDS i64`.
    Ends(i64),
    /// `DELD` (v10+; `END` below).
    Deld,
    /// `INFO <QueueInfo JSON>`, kept as text.
    Info(String),
    /// `OK`.
    Ok,
    /// `ERR <error>`.
    Err(ErrorType),
    /// `PONG`.
    Pong,
}

impl Response {
    /// Appends the wire form for a connection of `version` (`encodeProtocol`).
    pub fn encode(&self, version: Version, out: &mut Vec<u8>) {
        match self {
            Response::Ids(ids) => {
                out.put_bytes(b"IDS ");
                ids.recipient_id.encode(out);
                ids.sender_id.encode(out);
                ids.server_dh_key.encode(out);
                if version >= Version::SHORT_LINKS {
                    out.put_optional(ids.queue_mode.as_ref(), |out, mode| mode.encode(out));
                    out.put_optional(ids.link_id.as_ref(), |out, id| id.encode(out));
                    if version >= Version::SERVICE_CERTS {
                        out.put_optional(ids.service_id.as_ref(), |out, id| id.encode(out));
                    }
                    if version >= Version::NEW_NTF_CREDS {
                        out.put_optional(ids.server_ntf_creds.as_ref(), |out, creds| {
                            creds.notifier_id.encode(out);
                            creds.server_ntf_dh_key.encode(out);
                        });
                    }
                } else if version >= Version::SND_AUTH_KEY {
                    out.put_bool(sender_can_secure(ids.queue_mode));
                }
            }
            Response::Lnk {
                sender_id,
                link_data,
            } => {
                out.put_bytes(b"LNK ");
                sender_id.encode(out);
                link_data.encode(out);
            }
            Response::Sok(service_id) if version >= Version::SERVICE_CERTS => {
                out.put_bytes(b"SOK ");
                out.put_optional(service_id.as_ref(), |out, id| id.encode(out));
            }
            Response::Sok(_) | Response::Ok => out.put_bytes(b"OK"),
            Response::Soks(count) => {
                out.put_bytes(b"SOKS ");
                out.put_i64(*count);
            }
            Response::Msg {
                msg_id,
                encrypted_body,
            } => {
                out.put_bytes(b"MSG ");
                msg_id.encode(out);
                out.put_bytes(encrypted_body);
            }
            Response::Nid {
                notifier_id,
                server_ntf_dh_key,
            } => {
                out.put_bytes(b"NID ");
                notifier_id.encode(out);
                server_ntf_dh_key.encode(out);
            }
            Response::Nmsg {
                nonce,
                encrypted_meta,
            } => {
                out.put_bytes(b"NMSG ");
                out.put_bytes(nonce);
                encrypted_meta.encode(out);
            }
            Response::Pkey {
                session_id,
                version_range,
                cert_key,
            } => {
                out.put_bytes(b"PKEY ");
                session_id.encode(out);
                version_range.encode(out);
                cert_key.encode(out);
            }
            Response::Rres(bytes) => {
                out.put_bytes(b"RRES ");
                out.put_bytes(bytes);
            }
            Response::Pres(bytes) => {
                out.put_bytes(b"PRES ");
                out.put_bytes(bytes);
            }
            Response::End => out.put_bytes(b"END"),
            Response::Ends(count) => {
                out.put_bytes(b"ENDS ");
                out.put_i64(*count);
            }
            Response::Deld if version >= Version::DELETED_EVENT => out.put_bytes(b"DELD"),
            Response::Deld => out.put_bytes(b"END"),
            Response::Info(json) => {
                out.put_bytes(b"INFO ");
                out.put_bytes(json.as_bytes());
            }
            Response::Err(error) => {
                out.put_bytes(b"ERR ");
                error.for_version(version).encode(out);
            }
            Response::Pong => out.put_bytes(b"PONG"),
        }
    }

    /// [`Response::encode`] into a new buffer.
    pub fn to_bytes(&self, version: Version) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(version, &mut out);
        out
    }

    /// Parses a server message as a client of `version` does (`parseProtocol`).
    pub fn parse(version: Version, bytes: &[u8]) -> Result<Response, ErrorType> {
        let split = bytes
            .iter()
            .position(|byte| *byte == b' ')
            .unwrap_or(bytes.len());
        let (tag, params) = bytes.split_at(split);
        let mut reader = Reader::new(params);
        let parsed = match tag {
            b"IDS" => parse_ids(version, &mut reader),
            b"LNK" => with_space(&mut reader, |r| {
                Ok(Response::Lnk {
                    sender_id: EntityId::decode(r)?,
                    link_data: QueueLinkData::decode(r)?,
                })
            }),
            b"SOK" => with_space(&mut reader, |r| {
                r.optional(EntityId::decode).map(Response::Sok)
            }),
            b"SOKS" => with_space(&mut reader, |r| r.i64().map(Response::Soks)),
            b"MSG" => with_space(&mut reader, |r| {
                Ok(Response::Msg {
                    msg_id: MsgId::decode(r)?,
                    encrypted_body: r.tail().to_vec(),
                })
            }),
            b"NID" => with_space(&mut reader, |r| {
                Ok(Response::Nid {
                    notifier_id: EntityId::decode(r)?,
                    server_ntf_dh_key: DhPublicKey::decode(r)?,
                })
            }),
            b"NMSG" => with_space(&mut reader, |r| {
                Ok(Response::Nmsg {
                    nonce: r.take_array()?,
                    encrypted_meta: ShortBytes::decode(r)?,
                })
            }),
            b"PKEY" => with_space(&mut reader, |r| {
                Ok(Response::Pkey {
                    session_id: ShortBytes::decode(r)?,
                    version_range: VersionRange::decode(r)?,
                    cert_key: Box::new(CertChainPubKey::decode(r)?),
                })
            }),
            b"RRES" => with_space(&mut reader, |r| Ok(Response::Rres(r.tail().to_vec()))),
            b"PRES" => with_space(&mut reader, |r| Ok(Response::Pres(r.tail().to_vec()))),
            b"END" => Ok(Response::End),
            b"ENDS" => with_space(&mut reader, |r| r.i64().map(Response::Ends)),
            b"DELD" => Ok(Response::Deld),
            b"INFO" => with_space(&mut reader, |r| {
                let json = r.tail();
                serde_json::from_slice::<serde_json::Value>(json)
                    .map_err(|_| DecodeError::Malformed("queue info JSON"))?;
                String::from_utf8(json.to_vec())
                    .map(Response::Info)
                    .map_err(|_| DecodeError::Malformed("queue info JSON"))
            }),
            b"OK" => Ok(Response::Ok),
            b"ERR" => with_space(&mut reader, |r| ErrorType::decode(r).map(Response::Err)),
            b"PONG" => Ok(Response::Pong),
            _ => return Err(ErrorType::Cmd(CommandError::Unknown)),
        };
        let syntax = ErrorType::Cmd(CommandError::Syntax);
        let response = parsed.map_err(|_| syntax.clone())?;
        reader.finish().map_err(|_| syntax)?;
        Ok(response)
    }

    /// Entity-id rules a client applies to server messages (`checkCredentials` for `BrokerMsg`,
    /// spec §5.10): IDS and ERR any entity; PONG, PKEY, RRES none; all others one.
    pub fn check_credentials(&self, entity_id: &EntityId) -> Result<(), ErrorType> {
        match self {
            Response::Ids(_) | Response::Err(_) => Ok(()),
            Response::Pong | Response::Pkey { .. } | Response::Rres(_) => {
                if entity_id.is_empty() {
                    Ok(())
                } else {
                    Err(ErrorType::Cmd(CommandError::HasAuth))
                }
            }
            _ if entity_id.is_empty() => Err(ErrorType::Cmd(CommandError::NoEntity)),
            _ => Ok(()),
        }
    }
}

fn with_space(
    reader: &mut Reader<'_>,
    parse: impl FnOnce(&mut Reader<'_>) -> DecodeResult<Response>,
) -> DecodeResult<Response> {
    reader.space()?;
    parse(reader)
}

/// `protocolP … IDS_` for each version.
fn parse_ids(version: Version, reader: &mut Reader<'_>) -> DecodeResult<Response> {
    reader.space()?;
    let recipient_id = EntityId::decode(reader)?;
    let sender_id = EntityId::decode(reader)?;
    let server_dh_key = DhPublicKey::decode(reader)?;
    let mut ids = QueueIds {
        recipient_id,
        sender_id,
        server_dh_key,
        queue_mode: None,
        link_id: None,
        service_id: None,
        server_ntf_creds: None,
    };
    if version >= Version::SHORT_LINKS {
        ids.queue_mode = reader.optional(QueueMode::decode)?;
        ids.link_id = reader.optional(EntityId::decode)?;
        if version >= Version::SERVICE_CERTS {
            ids.service_id = reader.optional(EntityId::decode)?;
        }
        if version >= Version::NEW_NTF_CREDS {
            ids.server_ntf_creds = reader.optional(|r| {
                Ok(ServerNtfCreds {
                    notifier_id: EntityId::decode(r)?,
                    server_ntf_dh_key: DhPublicKey::decode(r)?,
                })
            })?;
        }
    } else if version >= Version::SND_AUTH_KEY {
        ids.queue_mode = Some(if reader.bool()? {
            QueueMode::Messaging
        } else {
            QueueMode::Contact
        });
    }
    Ok(Response::Ids(Box::new(ids)))
}

/// Plaintext inside `MSG` before padding (`Protocol.RcvMsgBody`, `encodeRcvMsgBody`,
/// `clientRcvMsgBodyP`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RcvMsgBody {
    /// `i64(ts) flags SP body`
    Message {
        timestamp: SystemTime,
        flags: MsgFlags,
        body: Vec<u8>,
    },
    /// `"QUOTA" SP i64(ts)`: the queue was full after this point.
    Quota { timestamp: SystemTime },
}

impl Encode for RcvMsgBody {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            RcvMsgBody::Message {
                timestamp,
                flags,
                body,
            } => {
                timestamp.encode(out);
                flags.encode(out);
                out.put_u8(b' ');
                out.put_bytes(body);
            }
            RcvMsgBody::Quota { timestamp } => {
                out.put_bytes(b"QUOTA ");
                timestamp.encode(out);
            }
        }
    }
}

impl Decode for RcvMsgBody {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let quota = reader.attempt(|r| {
            r.literal(b"QUOTA ", "quota marker")?;
            SystemTime::decode(r)
        });
        if let Some(timestamp) = quota {
            return Ok(RcvMsgBody::Quota { timestamp });
        }
        let timestamp = SystemTime::decode(reader)?;
        let flags = MsgFlags::decode(reader)?;
        reader.space()?;
        Ok(RcvMsgBody::Message {
            timestamp,
            flags,
            body: reader.tail().to_vec(),
        })
    }
}

/// Plaintext inside `NMSG` (`Protocol.NMsgMeta`): `s8(msgId) i64(ts)`; trailing bytes are ignored
/// when parsing (room for extensions).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NMsgMeta {
    pub msg_id: MsgId,
    pub timestamp: SystemTime,
}

impl Encode for NMsgMeta {
    fn encode(&self, out: &mut Vec<u8>) {
        self.msg_id.encode(out);
        self.timestamp.encode(out);
    }
}

impl Decode for NMsgMeta {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let msg_id = MsgId::decode(reader)?;
        let timestamp = SystemTime::decode(reader)?;
        reader.tail();
        Ok(NMsgMeta { msg_id, timestamp })
    }
}

/// What a proxy sends a relay inside `RFWD` after decryption (`Protocol.FwdTransmission`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FwdTransmission {
    pub corr_id: CorrId,
    pub version: Version,
    pub key: DhPublicKey,
    pub encrypted: Vec<u8>,
}

impl Encode for FwdTransmission {
    fn encode(&self, out: &mut Vec<u8>) {
        self.corr_id.encode(out);
        self.version.encode(out);
        self.key.encode(out);
        out.put_bytes(&self.encrypted);
    }
}

impl Decode for FwdTransmission {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(FwdTransmission {
            corr_id: CorrId::decode(reader)?,
            version: Version::decode(reader)?,
            key: DhPublicKey::decode(reader)?,
            encrypted: reader.tail().to_vec(),
        })
    }
}

/// What a relay answers inside `RRES` before encryption (`Protocol.FwdResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FwdResponse {
    pub corr_id: CorrId,
    pub encrypted: Vec<u8>,
}

impl Encode for FwdResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        self.corr_id.encode(out);
        out.put_bytes(&self.encrypted);
    }
}

impl Decode for FwdResponse {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(FwdResponse {
            corr_id: CorrId::decode(reader)?,
            encrypted: reader.tail().to_vec(),
        })
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
