//! Parameter types of queue commands and responses: the `NEW` request and its parts, queue modes,
//! link data and message flags (`Protocol.hs: NewQueueReq`, `SubscriptionMode`, `QueueReqData`,
//! `NewNtfCreds`, `EncDataBytes`, `MsgFlags`; `QueueInfo.hs: QueueMode`).

use crate::address::BasicAuth;
use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};
use crate::ids::EntityId;
use crate::keys::{AuthKey, DhPublicKey};
use crate::version::Version;

/// Whether `NEW` also subscribes this connection (`Protocol.SubscriptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionMode {
    /// `S`
    Subscribe,
    /// `C`
    OnlyCreate,
}

impl Encode for SubscriptionMode {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(match self {
            SubscriptionMode::Subscribe => b'S',
            SubscriptionMode::OnlyCreate => b'C',
        });
    }
}

impl Decode for SubscriptionMode {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        match reader.u8()? {
            b'S' => Ok(SubscriptionMode::Subscribe),
            b'C' => Ok(SubscriptionMode::OnlyCreate),
            _ => Err(DecodeError::Malformed("subscription mode")),
        }
    }
}

/// Queue mode (`QueueInfo.QueueMode`): `M` messaging (sender may secure), `C` contact address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueMode {
    Messaging,
    Contact,
}

impl Encode for QueueMode {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(match self {
            QueueMode::Messaging => b'M',
            QueueMode::Contact => b'C',
        });
    }
}

impl Decode for QueueMode {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        match reader.u8()? {
            b'M' => Ok(QueueMode::Messaging),
            b'C' => Ok(QueueMode::Contact),
            _ => Err(DecodeError::Malformed("queue mode")),
        }
    }
}

/// `Protocol.senderCanSecure`: only messaging queues.
pub fn sender_can_secure(mode: Option<QueueMode>) -> bool {
    mode == Some(QueueMode::Messaging)
}

/// Short-link data: two client-encrypted blobs, `s16` each (`Protocol.QueueLinkData`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct QueueLinkData {
    /// Immutable part.
    pub fixed: Vec<u8>,
    /// Replaceable part.
    pub user: Vec<u8>,
}

impl Encode for QueueLinkData {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_large(&self.fixed);
        out.put_large(&self.user);
    }
}

impl Decode for QueueLinkData {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(QueueLinkData {
            fixed: reader.large_bytes()?.to_vec(),
            user: reader.large_bytes()?.to_vec(),
        })
    }
}

/// Queue mode and optional link data of `NEW` (`Protocol.QueueReqData`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueueReqData {
    /// `'M' opt(s8(senderId) linkData)`
    Messaging(Option<(EntityId, QueueLinkData)>),
    /// `'C' opt(s8(linkId) s8(senderId) linkData)`
    Contact(Option<(EntityId, EntityId, QueueLinkData)>),
}

impl QueueReqData {
    /// `Protocol.queueReqMode`.
    pub fn mode(&self) -> QueueMode {
        match self {
            QueueReqData::Messaging(_) => QueueMode::Messaging,
            QueueReqData::Contact(_) => QueueMode::Contact,
        }
    }
}

impl Encode for QueueReqData {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            QueueReqData::Messaging(data) => {
                out.put_u8(b'M');
                out.put_optional(data.as_ref(), |out, (sender_id, link_data)| {
                    sender_id.encode(out);
                    link_data.encode(out);
                });
            }
            QueueReqData::Contact(data) => {
                out.put_u8(b'C');
                out.put_optional(data.as_ref(), |out, (link_id, sender_id, link_data)| {
                    link_id.encode(out);
                    sender_id.encode(out);
                    link_data.encode(out);
                });
            }
        }
    }
}

impl Decode for QueueReqData {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        match reader.u8()? {
            b'M' => Ok(QueueReqData::Messaging(reader.optional(|r| {
                Ok((EntityId::decode(r)?, QueueLinkData::decode(r)?))
            })?)),
            b'C' => Ok(QueueReqData::Contact(reader.optional(|r| {
                Ok((
                    EntityId::decode(r)?,
                    EntityId::decode(r)?,
                    QueueLinkData::decode(r)?,
                ))
            })?)),
            _ => Err(DecodeError::Malformed("queue request data")),
        }
    }
}

/// Notifier credentials sent in `NEW` (v17+): `s8(notifierKey) s8(rcvNtfDhKey)`
/// (`Protocol.NewNtfCreds`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewNtfCreds {
    pub notifier_key: AuthKey,
    pub recipient_ntf_dh_key: DhPublicKey,
}

impl Encode for NewNtfCreds {
    fn encode(&self, out: &mut Vec<u8>) {
        self.notifier_key.encode(out);
        self.recipient_ntf_dh_key.encode(out);
    }
}

impl Decode for NewNtfCreds {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(NewNtfCreds {
            notifier_key: AuthKey::decode(reader)?,
            recipient_ntf_dh_key: DhPublicKey::decode(reader)?,
        })
    }
}

/// The `NEW` request (`Protocol.NewQueueReq`); its wire form depends on the version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewQueueRequest {
    pub recipient_key: AuthKey,
    pub recipient_dh_key: DhPublicKey,
    pub basic_auth: Option<BasicAuth>,
    pub subscribe_mode: SubscriptionMode,
    /// v9–v14 carry only the mode (as `sndSecure`); v6–v8 carry nothing.
    pub queue_data: Option<QueueReqData>,
    /// v17+.
    pub ntf_creds: Option<NewNtfCreds>,
}

impl NewQueueRequest {
    /// Parameters after `NEW` (`encodeProtocol … NEW`), without the leading space.
    pub fn encode_params(&self, version: Version, out: &mut Vec<u8>) {
        self.recipient_key.encode(out);
        self.recipient_dh_key.encode(out);
        if version >= Version::SND_AUTH_KEY {
            out.put_optional(self.basic_auth.as_ref(), |out, auth| auth.encode(out));
            self.subscribe_mode.encode(out);
            if version >= Version::SHORT_LINKS {
                out.put_optional(self.queue_data.as_ref(), |out, data| data.encode(out));
                if version >= Version::NEW_NTF_CREDS {
                    out.put_optional(self.ntf_creds.as_ref(), |out, creds| creds.encode(out));
                }
            } else {
                let mode = self.queue_data.as_ref().map(QueueReqData::mode);
                out.put_bool(sender_can_secure(mode));
            }
        } else {
            if let Some(auth) = &self.basic_auth {
                out.put_u8(b'A');
                auth.encode(out);
            }
            self.subscribe_mode.encode(out);
        }
    }

    /// The server's parser (`protocolP … NEW_ → newCmd`), after the leading space.
    pub fn decode_params(version: Version, reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let recipient_key = AuthKey::decode(reader)?;
        let recipient_dh_key = DhPublicKey::decode(reader)?;
        let (basic_auth, subscribe_mode, queue_data, ntf_creds);
        if version >= Version::SND_AUTH_KEY {
            basic_auth = reader.optional(BasicAuth::decode)?;
            subscribe_mode = SubscriptionMode::decode(reader)?;
            if version >= Version::SHORT_LINKS {
                queue_data = reader.optional(QueueReqData::decode)?;
                ntf_creds = if version >= Version::NEW_NTF_CREDS {
                    reader.optional(NewNtfCreds::decode)?
                } else {
                    None
                };
            } else {
                queue_data = Some(if reader.bool()? {
                    QueueReqData::Messaging(None)
                } else {
                    QueueReqData::Contact(None)
                });
                ntf_creds = None;
            }
        } else {
            basic_auth = if reader.peek() == Some(b'A') {
                reader.u8()?;
                Some(BasicAuth::decode(reader)?)
            } else {
                None
            };
            subscribe_mode = SubscriptionMode::decode(reader)?;
            queue_data = None;
            ntf_creds = None;
        }
        Ok(NewQueueRequest {
            recipient_key,
            recipient_dh_key,
            basic_auth,
            subscribe_mode,
            queue_data,
            ntf_creds,
        })
    }
}

/// Message flags of `SEND` (`Protocol.MsgFlags`): one Bool on the wire; the parser skips any
/// further bytes up to the next space (reserved for future flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MsgFlags {
    /// Whether the recipient's notifier should be told.
    pub notification: bool,
}

impl Encode for MsgFlags {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_bool(self.notification);
    }
}

impl Decode for MsgFlags {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let notification = reader.bool()?;
        let reserved = reader
            .remaining()
            .iter()
            .take_while(|byte| **byte != b' ')
            .count();
        reader.take(reserved)?;
        Ok(MsgFlags { notification })
    }
}
