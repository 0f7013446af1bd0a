//! Client → server commands of SMP v6–v18 (`Protocol.hs: data Command`, `CommandTag`,
//! `instance ProtocolEncoding SMPVersion ErrorType Cmd`), one variant per wire tag.
//!
//! Wire form: `TAG` or `TAG SP params`. The parser splits at the first space: an unknown tag is
//! `CMD UNKNOWN`, parameters that do not parse completely are `CMD SYNTAX`
//! (`Protocol.parseProtocol`). Commands are not gated by version except `NEW`, whose parameters
//! change with it.

mod queue;

pub use queue::{
    sender_can_secure, MsgFlags, NewNtfCreds, NewQueueRequest, QueueLinkData, QueueMode,
    QueueReqData, SubscriptionMode,
};

use crate::address::{BasicAuth, SmpServer};
use crate::codec::{Decode, DecodeResult, Encode, Reader, Writer};
use crate::error::CommandError;
use crate::handshake::ServiceRole;
use crate::ids::{EntityId, MsgId};
use crate::keys::{AuthKey, DhPublicKey};
use crate::version::Version;

/// Who sends a command, which decides the queue-id map it is looked up in (`Protocol.Party`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Creator,
    Recipient,
    RecipientService,
    Sender,
    IdleClient,
    Notifier,
    NotifierService,
    LinkClient,
    ProxiedClient,
    ProxyService,
}

impl Party {
    /// The service role allowed to send it in a service session (`Protocol.partyClientRole`);
    /// `None` = any role (PING).
    pub fn service_role(self) -> Option<ServiceRole> {
        match self {
            Party::Creator
            | Party::Recipient
            | Party::RecipientService
            | Party::Sender
            | Party::LinkClient
            | Party::ProxiedClient => Some(ServiceRole::Messaging),
            Party::Notifier | Party::NotifierService => Some(ServiceRole::Notifier),
            Party::ProxyService => Some(ServiceRole::Proxy),
            Party::IdleClient => None,
        }
    }
}

/// A client command (`Protocol.Command p`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// `NEW`: create a queue.
    New(Box<NewQueueRequest>),
    /// `SUB`: subscribe to a queue.
    Sub,
    /// `SUBS`: subscribe all queues of the service (v16).
    Subs,
    /// `KEY s8(senderKey)`: secure the queue.
    Key(AuthKey),
    /// `RKEY ne8(s8(recipientKey))`: replace the recipient keys.
    Rkey(Vec<AuthKey>),
    /// `LSET s8(linkId) linkData`.
    Lset {
        link_id: EntityId,
        link_data: QueueLinkData,
    },
    /// `LDEL`.
    Ldel,
    /// `NKEY s8(notifierKey) s8(rcvNtfDhKey)`.
    Nkey {
        notifier_key: AuthKey,
        recipient_ntf_dh_key: DhPublicKey,
    },
    /// `NDEL`.
    Ndel,
    /// `GET`.
    Get,
    /// `ACK s8(msgId)`.
    Ack(MsgId),
    /// `OFF`.
    Off,
    /// `DEL`.
    Del,
    /// `QUE`.
    Que,
    /// `SKEY s8(senderKey)` (v9).
    Skey(AuthKey),
    /// `SEND flags SP body`.
    Send { flags: MsgFlags, body: Vec<u8> },
    /// `PING`.
    Ping,
    /// `LKEY s8(senderKey)` (v15).
    Lkey(AuthKey),
    /// `LGET` (v15).
    Lget,
    /// `NSUB`.
    Nsub,
    /// `NSUBS` (v16).
    Nsubs,
    /// `PRXY server opt(s8(basicAuth))` (v8).
    Prxy {
        server: SmpServer,
        basic_auth: Option<BasicAuth>,
    },
    /// `PFWD u16(version) s8(X25519 key) tail(encrypted transmission)` (v8).
    Pfwd {
        version: Version,
        key: DhPublicKey,
        encrypted: Vec<u8>,
    },
    /// `RFWD tail(encrypted forwarded transmission)` (v8).
    Rfwd(Vec<u8>),
}

impl Command {
    /// The wire tag (`instance Encoding (CommandTag p)`).
    pub fn tag(&self) -> &'static str {
        match self {
            Command::New(_) => "NEW",
            Command::Sub => "SUB",
            Command::Subs => "SUBS",
            Command::Key(_) => "KEY",
            Command::Rkey(_) => "RKEY",
            Command::Lset { .. } => "LSET",
            Command::Ldel => "LDEL",
            Command::Nkey { .. } => "NKEY",
            Command::Ndel => "NDEL",
            Command::Get => "GET",
            Command::Ack(_) => "ACK",
            Command::Off => "OFF",
            Command::Del => "DEL",
            Command::Que => "QUE",
            Command::Skey(_) => "SKEY",
            Command::Send { .. } => "SEND",
            Command::Ping => "PING",
            Command::Lkey(_) => "LKEY",
            Command::Lget => "LGET",
            Command::Nsub => "NSUB",
            Command::Nsubs => "NSUBS",
            Command::Prxy { .. } => "PRXY",
            Command::Pfwd { .. } => "PFWD",
            Command::Rfwd(_) => "RFWD",
        }
    }

    /// The party of the command (`CT (SParty p) tag`).
    pub fn party(&self) -> Party {
        match self {
            Command::New(_) => Party::Creator,
            Command::Sub
            | Command::Key(_)
            | Command::Rkey(_)
            | Command::Lset { .. }
            | Command::Ldel
            | Command::Nkey { .. }
            | Command::Ndel
            | Command::Get
            | Command::Ack(_)
            | Command::Off
            | Command::Del
            | Command::Que => Party::Recipient,
            Command::Subs => Party::RecipientService,
            Command::Skey(_) | Command::Send { .. } => Party::Sender,
            Command::Ping => Party::IdleClient,
            Command::Lkey(_) | Command::Lget => Party::LinkClient,
            Command::Nsub => Party::Notifier,
            Command::Nsubs => Party::NotifierService,
            Command::Prxy { .. } | Command::Pfwd { .. } => Party::ProxiedClient,
            Command::Rfwd(_) => Party::ProxyService,
        }
    }

    /// Commands whose service signature is required in a service session and forbidden
    /// otherwise (`Protocol.useServiceAuth`): NEW, SUB, NSUB.
    pub fn uses_service_auth(&self) -> bool {
        matches!(self, Command::New(_) | Command::Sub | Command::Nsub)
    }

    /// Appends the wire form for a connection of `version` (`encodeProtocol`).
    pub fn encode(&self, version: Version, out: &mut Vec<u8>) {
        out.put_bytes(self.tag().as_bytes());
        let has_params = !matches!(
            self,
            Command::Sub
                | Command::Subs
                | Command::Ldel
                | Command::Ndel
                | Command::Get
                | Command::Off
                | Command::Del
                | Command::Que
                | Command::Ping
                | Command::Lget
                | Command::Nsub
                | Command::Nsubs
        );
        if has_params {
            out.put_u8(b' ');
        }
        match self {
            Command::New(request) => request.encode_params(version, out),
            Command::Key(key) | Command::Skey(key) | Command::Lkey(key) => key.encode(out),
            Command::Rkey(keys) => {
                // At most 255 keys: checked by the parser; callers build short lists.
                out.put_u8(keys.len().min(255) as u8);
                for key in keys.iter().take(255) {
                    key.encode(out);
                }
            }
            Command::Lset { link_id, link_data } => {
                link_id.encode(out);
                link_data.encode(out);
            }
            Command::Nkey {
                notifier_key,
                recipient_ntf_dh_key,
            } => {
                notifier_key.encode(out);
                recipient_ntf_dh_key.encode(out);
            }
            Command::Ack(msg_id) => msg_id.encode(out),
            Command::Send { flags, body } => {
                flags.encode(out);
                out.put_u8(b' ');
                out.put_bytes(body);
            }
            Command::Prxy { server, basic_auth } => {
                server.encode(out);
                out.put_optional(basic_auth.as_ref(), |out, auth| auth.encode(out));
            }
            Command::Pfwd {
                version,
                key,
                encrypted,
            } => {
                version.encode(out);
                key.encode(out);
                out.put_bytes(encrypted);
            }
            Command::Rfwd(encrypted) => out.put_bytes(encrypted),
            _ => {}
        }
    }

    /// [`Command::encode`] into a new buffer.
    pub fn to_bytes(&self, version: Version) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(version, &mut out);
        out
    }

    /// Parses a command as the server does for a connection of `version` (`parseProtocol`).
    pub fn parse(version: Version, bytes: &[u8]) -> Result<Command, CommandError> {
        let split = bytes
            .iter()
            .position(|byte| *byte == b' ')
            .unwrap_or(bytes.len());
        let (tag, params) = bytes.split_at(split);
        let parse_params: fn(Version, &mut Reader<'_>) -> DecodeResult<Command> = match tag {
            b"NEW" => |version, r| {
                r.space()?;
                NewQueueRequest::decode_params(version, r)
                    .map(|request| Command::New(Box::new(request)))
            },
            b"SUB" => |_, _| Ok(Command::Sub),
            b"SUBS" => |_, _| Ok(Command::Subs),
            b"KEY" => |_, r| {
                r.space()?;
                AuthKey::decode(r).map(Command::Key)
            },
            b"RKEY" => |_, r| {
                r.space()?;
                r.non_empty8(AuthKey::decode).map(Command::Rkey)
            },
            b"LSET" => |_, r| {
                r.space()?;
                Ok(Command::Lset {
                    link_id: EntityId::decode(r)?,
                    link_data: QueueLinkData::decode(r)?,
                })
            },
            b"LDEL" => |_, _| Ok(Command::Ldel),
            b"NKEY" => |_, r| {
                r.space()?;
                Ok(Command::Nkey {
                    notifier_key: AuthKey::decode(r)?,
                    recipient_ntf_dh_key: DhPublicKey::decode(r)?,
                })
            },
            b"NDEL" => |_, _| Ok(Command::Ndel),
            b"GET" => |_, _| Ok(Command::Get),
            b"ACK" => |_, r| {
                r.space()?;
                MsgId::decode(r).map(Command::Ack)
            },
            b"OFF" => |_, _| Ok(Command::Off),
            b"DEL" => |_, _| Ok(Command::Del),
            b"QUE" => |_, _| Ok(Command::Que),
            b"SKEY" => |_, r| {
                r.space()?;
                AuthKey::decode(r).map(Command::Skey)
            },
            b"SEND" => |_, r| {
                r.space()?;
                let flags = MsgFlags::decode(r)?;
                r.space()?;
                Ok(Command::Send {
                    flags,
                    body: r.tail().to_vec(),
                })
            },
            b"PING" => |_, _| Ok(Command::Ping),
            b"LKEY" => |_, r| {
                r.space()?;
                AuthKey::decode(r).map(Command::Lkey)
            },
            b"LGET" => |_, _| Ok(Command::Lget),
            b"NSUB" => |_, _| Ok(Command::Nsub),
            b"NSUBS" => |_, _| Ok(Command::Nsubs),
            b"PRXY" => |_, r| {
                r.space()?;
                Ok(Command::Prxy {
                    server: SmpServer::decode(r)?,
                    basic_auth: r.optional(BasicAuth::decode)?,
                })
            },
            b"PFWD" => |_, r| {
                r.space()?;
                Ok(Command::Pfwd {
                    version: Version::decode(r)?,
                    key: DhPublicKey::decode(r)?,
                    encrypted: r.tail().to_vec(),
                })
            },
            b"RFWD" => |_, r| {
                r.space()?;
                Ok(Command::Rfwd(r.tail().to_vec()))
            },
            _ => return Err(CommandError::Unknown),
        };
        let mut reader = Reader::new(params);
        let command = parse_params(version, &mut reader).map_err(|_| CommandError::Syntax)?;
        reader.finish().map_err(|_| CommandError::Syntax)?;
        Ok(command)
    }

    /// Presence rules for authorization and entity id (`checkCredentials` for `Command p`,
    /// spec §5.7).
    pub fn check_credentials(
        &self,
        has_auth: bool,
        entity_id: &EntityId,
    ) -> Result<(), CommandError> {
        let has_entity = !entity_id.is_empty();
        match self {
            // NEW must be authorized and have no entity.
            Command::New(_) if !has_auth => Err(CommandError::NoAuth),
            Command::New(_) if has_entity => Err(CommandError::HasAuth),
            Command::New(_) => Ok(()),
            // SEND needs the sender id; authorization only once secured.
            Command::Send { .. } if !has_entity => Err(CommandError::NoEntity),
            Command::Send { .. } => Ok(()),
            // Entity required, authorization forbidden.
            Command::Lget | Command::Pfwd { .. } if !has_entity => Err(CommandError::NoEntity),
            Command::Lget | Command::Pfwd { .. } if has_auth => Err(CommandError::HasAuth),
            Command::Lget | Command::Pfwd { .. } => Ok(()),
            // Neither entity nor authorization.
            Command::Ping | Command::Prxy { .. } | Command::Rfwd(_) if has_auth || has_entity => {
                Err(CommandError::HasAuth)
            }
            Command::Ping | Command::Prxy { .. } | Command::Rfwd(_) => Ok(()),
            // Everything else needs both.
            _ if !has_auth || !has_entity => Err(CommandError::NoAuth),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
