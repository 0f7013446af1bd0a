//! One line of `smp-server-store.log` (`StoreLog.StoreLogRecord` and the `StrEncoding` of
//! `QueueRec`, `NtfCreds`, `ServiceRec`, `ServerEntityStatus`, `BlockingInfo`): encoding in the
//! reference's exact layout and a parser that accepts every older form the reference accepts.

use crate::record::{
    NotifierCreds, QueueRecord, QueueStatus, ServiceParty, ServiceRecord, ServiceRole,
};
use crate::text::{put_auth_key, put_base64, put_int, Cursor, TextError, TextResult};
use smp_proto::command::{QueueLinkData, QueueMode};
use smp_proto::crypto::DhSecret;
use smp_proto::error::{BlockingInfo, BlockingReason, ClientNotice};
use smp_proto::ids::EntityId;
use smp_proto::keys::AuthKey;

/// A change to the queue store (`StoreLog.StoreLogRecord`); the comment names the line's tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLogRecord {
    /// `CREATE rid=<id> <queue>`
    CreateQueue {
        recipient_id: EntityId,
        queue: Box<QueueRecord>,
    },
    /// `LINK <rid> <linkId> <fixed> <user>`
    CreateLink {
        recipient_id: EntityId,
        link_id: EntityId,
        data: QueueLinkData,
    },
    /// `LDELETE <rid>`
    DeleteLink { recipient_id: EntityId },
    /// `SECURE <rid> <senderKey>`
    SecureQueue {
        recipient_id: EntityId,
        sender_key: AuthKey,
    },
    /// `KEYS <rid> <key>[,<key>...]`
    UpdateKeys {
        recipient_id: EntityId,
        keys: Vec<AuthKey>,
    },
    /// `NOTIFIER <rid> <nId> <nKey> <nDhSecret>[ nsrv=<serviceId>]`
    AddNotifier {
        recipient_id: EntityId,
        notifier: NotifierCreds,
    },
    /// `SUSPEND <rid>`
    SuspendQueue { recipient_id: EntityId },
    /// `BLOCK <rid> reason=<r>[,notice=<json>]`
    BlockQueue {
        recipient_id: EntityId,
        info: BlockingInfo,
    },
    /// `UNBLOCK <rid>`
    UnblockQueue { recipient_id: EntityId },
    /// `DELETE <rid>`
    DeleteQueue { recipient_id: EntityId },
    /// `NDELETE <rid>`
    DeleteNotifier { recipient_id: EntityId },
    /// `TIME <rid> <seconds>`
    UpdateTime {
        recipient_id: EntityId,
        updated_at: i64,
    },
    /// `NEW_SERVICE service_id=... role=... cert=... cert_hash=... created_at=...`
    NewService(ServiceRecord),
    /// `QUEUE_SERVICE <rid> <R|N> [<serviceId>]`
    QueueService {
        recipient_id: EntityId,
        party: ServiceParty,
        service_id: Option<EntityId>,
    },
}

/// Tags in the order the reference's parser tries them (`SLRTag` `strP`).
const TAGS: [&[u8]; 14] = [
    b"CREATE",
    b"LINK",
    b"LDELETE",
    b"SECURE",
    b"KEYS",
    b"NOTIFIER",
    b"SUSPEND",
    b"BLOCK",
    b"UNBLOCK",
    b"DELETE",
    b"NDELETE",
    b"TIME",
    b"NEW_SERVICE",
    b"QUEUE_SERVICE",
];

/// Why a line did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line starts with a word that is no record tag (a newer version's record, or junk).
    #[error("unknown record type")]
    UnknownTag,
    #[error("{0}")]
    Malformed(TextError),
}

impl From<TextError> for LineError {
    fn from(error: TextError) -> Self {
        LineError::Malformed(error)
    }
}

impl StoreLogRecord {
    /// The line without its `\n` (`strEncode`).
    pub fn encode(&self, out: &mut Vec<u8>) {
        fn tagged(out: &mut Vec<u8>, tag: &[u8], recipient_id: &EntityId) {
            out.extend_from_slice(tag);
            out.push(b' ');
            put_base64(out, recipient_id.as_bytes());
        }
        match self {
            StoreLogRecord::CreateQueue {
                recipient_id,
                queue,
            } => {
                out.extend_from_slice(b"CREATE rid=");
                put_base64(out, recipient_id.as_bytes());
                out.push(b' ');
                encode_queue(out, queue);
            }
            StoreLogRecord::CreateLink {
                recipient_id,
                link_id,
                data,
            } => {
                tagged(out, b"LINK", recipient_id);
                out.push(b' ');
                put_base64(out, link_id.as_bytes());
                out.push(b' ');
                encode_link_data(out, data);
            }
            StoreLogRecord::DeleteLink { recipient_id } => tagged(out, b"LDELETE", recipient_id),
            StoreLogRecord::SecureQueue {
                recipient_id,
                sender_key,
            } => {
                tagged(out, b"SECURE", recipient_id);
                out.push(b' ');
                put_auth_key(out, sender_key);
            }
            StoreLogRecord::UpdateKeys { recipient_id, keys } => {
                tagged(out, b"KEYS", recipient_id);
                out.push(b' ');
                encode_keys(out, keys);
            }
            StoreLogRecord::AddNotifier {
                recipient_id,
                notifier,
            } => {
                tagged(out, b"NOTIFIER", recipient_id);
                out.push(b' ');
                encode_notifier(out, notifier);
            }
            StoreLogRecord::SuspendQueue { recipient_id } => tagged(out, b"SUSPEND", recipient_id),
            StoreLogRecord::BlockQueue { recipient_id, info } => {
                tagged(out, b"BLOCK", recipient_id);
                out.push(b' ');
                encode_blocking_info(out, info);
            }
            StoreLogRecord::UnblockQueue { recipient_id } => tagged(out, b"UNBLOCK", recipient_id),
            StoreLogRecord::DeleteQueue { recipient_id } => tagged(out, b"DELETE", recipient_id),
            StoreLogRecord::DeleteNotifier { recipient_id } => {
                tagged(out, b"NDELETE", recipient_id)
            }
            StoreLogRecord::UpdateTime {
                recipient_id,
                updated_at,
            } => {
                tagged(out, b"TIME", recipient_id);
                out.push(b' ');
                put_int(out, *updated_at);
            }
            StoreLogRecord::NewService(service) => {
                out.extend_from_slice(b"NEW_SERVICE service_id=");
                put_base64(out, service.service_id.as_bytes());
                out.extend_from_slice(b" role=");
                out.push(service.role.tag());
                out.extend_from_slice(b" cert=");
                for (index, certificate) in service.certificates.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    put_base64(out, certificate);
                }
                out.extend_from_slice(b" cert_hash=");
                put_base64(out, &service.cert_hash);
                out.extend_from_slice(b" created_at=");
                put_int(out, service.created_at);
            }
            StoreLogRecord::QueueService {
                recipient_id,
                party,
                service_id,
            } => {
                tagged(out, b"QUEUE_SERVICE", recipient_id);
                out.push(b' ');
                out.push(match party {
                    ServiceParty::Recipient => b'R',
                    ServiceParty::Notifier => b'N',
                });
                out.push(b' ');
                if let Some(service_id) = service_id {
                    put_base64(out, service_id.as_bytes());
                }
            }
        }
    }

    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.encode(&mut out);
        out
    }

    /// Parses one line (without `\n`), all of it (`strDecode`).
    pub fn parse(line: &[u8]) -> Result<StoreLogRecord, LineError> {
        let mut cursor = Cursor::new(line);
        let tag = TAGS
            .iter()
            .position(|tag| cursor.starts_with(tag) && cursor.rest().get(tag.len()) == Some(&b' '))
            .ok_or(LineError::UnknownTag)?;
        cursor.literal(TAGS[tag], "tag")?;
        cursor.space()?;
        let record = match tag {
            0 => {
                cursor.literal(b"rid=", "rid=")?;
                let recipient_id = entity_id(&mut cursor)?;
                cursor.space()?;
                StoreLogRecord::CreateQueue {
                    recipient_id,
                    queue: Box::new(parse_queue(&mut cursor)?),
                }
            }
            1 => {
                let recipient_id = entity_id(&mut cursor)?;
                cursor.space()?;
                let link_id = entity_id(&mut cursor)?;
                cursor.space()?;
                StoreLogRecord::CreateLink {
                    recipient_id,
                    link_id,
                    data: link_data(&mut cursor)?,
                }
            }
            3 => {
                let recipient_id = entity_id(&mut cursor)?;
                cursor.space()?;
                StoreLogRecord::SecureQueue {
                    recipient_id,
                    sender_key: cursor.auth_key()?,
                }
            }
            4 => {
                let recipient_id = entity_id(&mut cursor)?;
                cursor.space()?;
                StoreLogRecord::UpdateKeys {
                    recipient_id,
                    keys: cursor.list(true, Cursor::auth_key)?,
                }
            }
            5 => {
                let recipient_id = entity_id(&mut cursor)?;
                cursor.space()?;
                StoreLogRecord::AddNotifier {
                    recipient_id,
                    notifier: parse_notifier(&mut cursor)?,
                }
            }
            7 => {
                let recipient_id = entity_id(&mut cursor)?;
                cursor.space()?;
                StoreLogRecord::BlockQueue {
                    recipient_id,
                    info: parse_blocking_info(&mut cursor)?,
                }
            }
            11 => {
                let recipient_id = entity_id(&mut cursor)?;
                cursor.space()?;
                StoreLogRecord::UpdateTime {
                    recipient_id,
                    updated_at: cursor.int64()?,
                }
            }
            12 => StoreLogRecord::NewService(parse_service(&mut cursor)?),
            13 => {
                let recipient_id = entity_id(&mut cursor)?;
                cursor.space()?;
                let party = match cursor.any_byte()? {
                    b'R' => ServiceParty::Recipient,
                    b'N' => ServiceParty::Notifier,
                    _ => return Err(TextError("service party").into()),
                };
                cursor.space()?;
                let service_id = cursor.optional(entity_id);
                StoreLogRecord::QueueService {
                    recipient_id,
                    party,
                    service_id,
                }
            }
            _ => {
                let recipient_id = entity_id(&mut cursor)?;
                match tag {
                    2 => StoreLogRecord::DeleteLink { recipient_id },
                    6 => StoreLogRecord::SuspendQueue { recipient_id },
                    8 => StoreLogRecord::UnblockQueue { recipient_id },
                    9 => StoreLogRecord::DeleteQueue { recipient_id },
                    _ => StoreLogRecord::DeleteNotifier { recipient_id },
                }
            }
        };
        cursor.end()?;
        Ok(record)
    }
}

fn entity_id(cursor: &mut Cursor<'_>) -> TextResult<EntityId> {
    let bytes = cursor.base64()?;
    EntityId::new(bytes).map_err(|_| TextError("id length"))
}

fn dh_secret(cursor: &mut Cursor<'_>) -> TextResult<DhSecret> {
    cursor.base64_array::<32>("X25519 DH secret").map(DhSecret)
}

fn encode_keys(out: &mut Vec<u8>, keys: &[AuthKey]) {
    for (index, key) in keys.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        put_auth_key(out, key);
    }
}

fn encode_link_data(out: &mut Vec<u8>, data: &QueueLinkData) {
    put_base64(out, &data.fixed);
    out.push(b' ');
    put_base64(out, &data.user);
}

fn link_data(cursor: &mut Cursor<'_>) -> TextResult<QueueLinkData> {
    let fixed = cursor.base64()?;
    cursor.space()?;
    let user = cursor.base64()?;
    Ok(QueueLinkData { fixed, user })
}

fn encode_notifier(out: &mut Vec<u8>, notifier: &NotifierCreds) {
    put_base64(out, notifier.notifier_id.as_bytes());
    out.push(b' ');
    put_auth_key(out, &notifier.notifier_key);
    out.push(b' ');
    put_base64(out, &notifier.rcv_ntf_dh_secret.0);
    if let Some(service_id) = &notifier.service_id {
        out.extend_from_slice(b" nsrv=");
        put_base64(out, service_id.as_bytes());
    }
}

fn parse_notifier(cursor: &mut Cursor<'_>) -> TextResult<NotifierCreds> {
    let notifier_id = entity_id(cursor)?;
    cursor.space()?;
    let notifier_key = cursor.auth_key()?;
    cursor.space()?;
    let rcv_ntf_dh_secret = dh_secret(cursor)?;
    let service_id = cursor.optional(|c| {
        c.literal(b" nsrv=", "nsrv=")?;
        entity_id(c)
    });
    Ok(NotifierCreds {
        notifier_id,
        notifier_key,
        rcv_ntf_dh_secret,
        service_id,
    })
}

fn encode_blocking_info(out: &mut Vec<u8>, info: &BlockingInfo) {
    out.extend_from_slice(b"reason=");
    out.extend_from_slice(match info.reason {
        BlockingReason::Spam => b"spam",
        BlockingReason::Content => b"content",
    });
    if let Some(notice) = &info.notice {
        out.extend_from_slice(b",notice=");
        out.extend_from_slice(notice.to_json().as_bytes());
    }
}

/// `reason=spam|content[,notice=<JSON>]`. The reference reads the notice to the end of the line,
/// so it cannot parse a queue line where `rsrv=` follows a notice; the JSON it writes has no
/// spaces, so reading it up to the next space accepts those lines too.
fn parse_blocking_info(cursor: &mut Cursor<'_>) -> TextResult<BlockingInfo> {
    cursor.literal(b"reason=", "reason=")?;
    let reason = if cursor.literal(b"spam", "reason").is_ok() {
        BlockingReason::Spam
    } else {
        cursor.literal(b"content", "reason")?;
        BlockingReason::Content
    };
    let notice = cursor.optional(|c| {
        c.literal(b",notice=", "notice")?;
        ClientNotice::from_json(c.take_till(b" ")).map_err(|_| TextError("notice JSON"))
    });
    Ok(BlockingInfo { reason, notice })
}

/// `QueueRec` `strEncode`: fields in the reference's order, optional ones omitted.
pub fn encode_queue(out: &mut Vec<u8>, queue: &QueueRecord) {
    out.extend_from_slice(b"rk=");
    encode_keys(out, &queue.recipient_keys);
    out.extend_from_slice(b" rdh=");
    put_base64(out, &queue.rcv_dh_secret.0);
    out.extend_from_slice(b" sid=");
    put_base64(out, queue.sender_id.as_bytes());
    out.extend_from_slice(b" sk=");
    if let Some(key) = &queue.sender_key {
        put_auth_key(out, key);
    }
    match queue.queue_mode {
        Some(QueueMode::Messaging) => out.extend_from_slice(b" queue_mode=M"),
        Some(QueueMode::Contact) => out.extend_from_slice(b" queue_mode=C"),
        None => {}
    }
    if let Some((link_id, data)) = &queue.link {
        out.extend_from_slice(b" link_id=");
        put_base64(out, link_id.as_bytes());
        out.extend_from_slice(b" queue_data=");
        encode_link_data(out, data);
    }
    if let Some(notifier) = &queue.notifier {
        out.extend_from_slice(b" notifier=");
        encode_notifier(out, notifier);
    }
    if let Some(updated_at) = queue.updated_at {
        out.extend_from_slice(b" updated_at=");
        put_int(out, updated_at);
    }
    match &queue.status {
        QueueStatus::Active => {}
        QueueStatus::Off => out.extend_from_slice(b" status=off"),
        QueueStatus::Blocked(info) => {
            out.extend_from_slice(b" status=blocked,");
            encode_blocking_info(out, info);
        }
    }
    if let Some(service_id) = &queue.rcv_service_id {
        out.extend_from_slice(b" rsrv=");
        put_base64(out, service_id.as_bytes());
    }
}

/// `QueueRec` `strP`, with the legacy ` sndSecure=T|F` and absent-mode forms.
pub fn parse_queue(cursor: &mut Cursor<'_>) -> TextResult<QueueRecord> {
    cursor.literal(b"rk=", "rk=")?;
    let recipient_keys = cursor.list(true, Cursor::auth_key)?;
    cursor.space()?;
    cursor.literal(b"rdh=", "rdh=")?;
    let rcv_dh_secret = dh_secret(cursor)?;
    cursor.space()?;
    cursor.literal(b"sid=", "sid=")?;
    let sender_id = entity_id(cursor)?;
    cursor.space()?;
    cursor.literal(b"sk=", "sk=")?;
    let sender_key = cursor.optional(Cursor::auth_key);
    let queue_mode = cursor
        .optional(|c| {
            c.literal(b" sndSecure=", "sndSecure=")?;
            Ok(if c.boolean()? {
                QueueMode::Messaging
            } else {
                QueueMode::Contact
            })
        })
        .or_else(|| {
            cursor.optional(|c| {
                c.literal(b" queue_mode=", "queue_mode=")?;
                match c.any_byte()? {
                    b'M' => Ok(QueueMode::Messaging),
                    b'C' => Ok(QueueMode::Contact),
                    _ => Err(TextError("queue mode")),
                }
            })
        });
    let link = cursor.optional(|c| {
        c.literal(b" link_id=", "link_id=")?;
        let link_id = entity_id(c)?;
        c.literal(b" queue_data=", "queue_data=")?;
        Ok((link_id, link_data(c)?))
    });
    let notifier = cursor.optional(|c| {
        c.literal(b" notifier=", "notifier=")?;
        parse_notifier(c)
    });
    let updated_at = cursor.optional(|c| {
        c.literal(b" updated_at=", "updated_at=")?;
        c.int64()
    });
    let status = cursor
        .optional(|c| {
            c.literal(b" status=", "status=")?;
            if c.literal(b"active", "status").is_ok() {
                Ok(QueueStatus::Active)
            } else if c.literal(b"off", "status").is_ok() {
                Ok(QueueStatus::Off)
            } else {
                c.literal(b"blocked,", "status")?;
                Ok(QueueStatus::Blocked(parse_blocking_info(c)?))
            }
        })
        .unwrap_or(QueueStatus::Active);
    let rcv_service_id = cursor.optional(|c| {
        c.literal(b" rsrv=", "rsrv=")?;
        entity_id(c)
    });
    Ok(QueueRecord {
        recipient_keys,
        rcv_dh_secret,
        sender_id,
        sender_key,
        queue_mode,
        link,
        notifier,
        status,
        updated_at,
        rcv_service_id,
    })
}

fn parse_service(cursor: &mut Cursor<'_>) -> TextResult<ServiceRecord> {
    cursor.literal(b"service_id=", "service_id=")?;
    let service_id = entity_id(cursor)?;
    cursor.literal(b" role=", "role=")?;
    let role = ServiceRole::from_tag(cursor.any_byte()?).ok_or(TextError("service role"))?;
    cursor.literal(b" cert=", "cert=")?;
    let certificates = cursor.list(false, Cursor::base64)?;
    cursor.literal(b" cert_hash=", "cert_hash=")?;
    let cert_hash = cursor.base64()?;
    cursor.literal(b" created_at=", "created_at=")?;
    let created_at = cursor.int64()?;
    Ok(ServiceRecord {
        service_id,
        role,
        certificates,
        cert_hash,
        created_at,
    })
}

#[cfg(test)]
#[path = "log_record_tests.rs"]
pub(crate) mod tests;
