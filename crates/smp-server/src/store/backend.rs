//! The server's [`Store`]: the `smp-store` queue store (with its store log) and message store,
//! adapted to the processor's types.

use super::{
    ExpiredMessages, NotifierCreds, QueueParty, QueueRecord, QueueStatus, Store, StoredMessage,
    WriteOutcome,
};
use crate::clock::Clock;
use smp_proto::codec::SystemTime;
use smp_proto::command::{MsgFlags, QueueLinkData};
use smp_proto::error::ErrorType;
use smp_proto::ids::{EntityId, MsgId};
use smp_proto::keys::AuthKey;
use smp_store::message_store::MessageKind;
use smp_store::record::system_date;
use smp_store::{Message, MessageStore, QueueStore};
use std::sync::Arc;

/// Queue store and message store of the server.
pub struct StoreBackend {
    pub queues: QueueStore,
    pub messages: MessageStore,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for StoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreBackend")
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

impl StoreBackend {
    /// Empty stores; `quota` messages per queue (`msgQueueQuota`).
    pub fn new(quota: usize, clock: Arc<dyn Clock>) -> Self {
        StoreBackend {
            queues: QueueStore::new(),
            messages: MessageStore::new(quota),
            clock,
        }
    }
}

fn store_party(party: QueueParty) -> smp_store::QueueParty {
    match party {
        QueueParty::Recipient => smp_store::QueueParty::Recipient,
        QueueParty::Sender => smp_store::QueueParty::Sender,
        QueueParty::Notifier => smp_store::QueueParty::Notifier,
        QueueParty::Link => smp_store::QueueParty::Link,
    }
}

fn from_store_notifier(creds: smp_store::NotifierCreds) -> NotifierCreds {
    NotifierCreds {
        notifier_id: creds.notifier_id,
        notifier_key: creds.notifier_key,
        rcv_ntf_dh_secret: creds.rcv_ntf_dh_secret,
    }
}

fn to_store_notifier(creds: NotifierCreds) -> smp_store::NotifierCreds {
    smp_store::NotifierCreds {
        notifier_id: creds.notifier_id,
        notifier_key: creds.notifier_key,
        rcv_ntf_dh_secret: creds.rcv_ntf_dh_secret,
        service_id: None,
    }
}

fn from_store_record(recipient_id: EntityId, record: smp_store::QueueRecord) -> QueueRecord {
    QueueRecord {
        recipient_id,
        sender_id: record.sender_id,
        recipient_keys: record.recipient_keys,
        rcv_dh_secret: record.rcv_dh_secret,
        sender_key: record.sender_key,
        queue_mode: record.queue_mode,
        link: record.link,
        notifier: record.notifier.map(from_store_notifier),
        status: match record.status {
            smp_store::QueueStatus::Active => QueueStatus::Active,
            smp_store::QueueStatus::Off => QueueStatus::Off,
            smp_store::QueueStatus::Blocked(info) => QueueStatus::Blocked(info),
        },
    }
}

fn from_store_message(message: Message) -> StoredMessage {
    let msg_id = MsgId::from(message.msg_id);
    let timestamp = SystemTime(message.timestamp);
    match message.kind {
        MessageKind::Message { notification, body } => StoredMessage::Message {
            msg_id,
            timestamp,
            flags: MsgFlags { notification },
            body: body.to_vec(),
        },
        MessageKind::Quota => StoredMessage::Quota { msg_id, timestamp },
    }
}

fn to_store_message(message: StoredMessage) -> Result<Message, ErrorType> {
    let (msg_id, timestamp, kind) = match message {
        StoredMessage::Message {
            msg_id,
            timestamp,
            flags,
            body,
        } => (
            msg_id,
            timestamp,
            MessageKind::Message {
                notification: flags.notification,
                body: body.into(),
            },
        ),
        StoredMessage::Quota { msg_id, timestamp } => (msg_id, timestamp, MessageKind::Quota),
    };
    // The server only creates 24-byte ids.
    let msg_id = <[u8; 24]>::try_from(msg_id.as_bytes()).map_err(|_| ErrorType::Internal)?;
    Ok(Message {
        msg_id,
        timestamp: timestamp.0,
        kind,
    })
}

impl Store for StoreBackend {
    fn queue(&self, party: QueueParty, id: &EntityId) -> Result<QueueRecord, ErrorType> {
        let (recipient_id, record) = self.queues.queue(store_party(party), id.as_bytes())?;
        Ok(from_store_record(recipient_id, record))
    }

    fn add_queue(&self, record: QueueRecord) -> Result<(), ErrorType> {
        let stored = smp_store::QueueRecord {
            recipient_keys: record.recipient_keys,
            rcv_dh_secret: record.rcv_dh_secret,
            sender_id: record.sender_id,
            sender_key: record.sender_key,
            queue_mode: record.queue_mode,
            link: record.link,
            notifier: record.notifier.map(to_store_notifier),
            status: match record.status {
                QueueStatus::Active => smp_store::QueueStatus::Active,
                QueueStatus::Off => smp_store::QueueStatus::Off,
                QueueStatus::Blocked(info) => smp_store::QueueStatus::Blocked(info),
            },
            updated_at: Some(system_date(self.clock.seconds())),
            rcv_service_id: None,
        };
        Ok(self.queues.add_queue(record.recipient_id, stored)?)
    }

    fn secure_queue(&self, recipient_id: &EntityId, key: AuthKey) -> Result<(), ErrorType> {
        Ok(self.queues.secure_queue(recipient_id, key)?)
    }

    fn update_recipient_keys(
        &self,
        recipient_id: &EntityId,
        keys: Vec<AuthKey>,
    ) -> Result<(), ErrorType> {
        Ok(self.queues.update_recipient_keys(recipient_id, keys)?)
    }

    fn add_link_data(
        &self,
        recipient_id: &EntityId,
        link_id: EntityId,
        data: QueueLinkData,
    ) -> Result<(), ErrorType> {
        Ok(self.queues.set_link_data(recipient_id, link_id, data)?)
    }

    fn delete_link_data(&self, recipient_id: &EntityId) -> Result<(), ErrorType> {
        Ok(self.queues.delete_link_data(recipient_id)?)
    }

    fn link_data(
        &self,
        recipient_id: &EntityId,
        link_id: &EntityId,
    ) -> Result<QueueLinkData, ErrorType> {
        Ok(self
            .queues
            .link_data(recipient_id.as_bytes(), link_id.as_bytes())?)
    }

    fn add_notifier(
        &self,
        recipient_id: &EntityId,
        creds: NotifierCreds,
    ) -> Result<Option<NotifierCreds>, ErrorType> {
        let previous = self
            .queues
            .add_notifier(recipient_id, to_store_notifier(creds))?;
        Ok(previous.map(from_store_notifier))
    }

    fn delete_notifier(&self, recipient_id: &EntityId) -> Result<Option<NotifierCreds>, ErrorType> {
        let removed = self.queues.delete_notifier(recipient_id)?;
        Ok(removed.map(from_store_notifier))
    }

    fn suspend_queue(&self, recipient_id: &EntityId) -> Result<(), ErrorType> {
        Ok(self.queues.suspend_queue(recipient_id)?)
    }

    fn update_queue_time(&self, recipient_id: &EntityId, now: i64) -> Result<(), ErrorType> {
        self.queues.update_time(recipient_id, system_date(now))?;
        Ok(())
    }

    fn delete_queue(&self, recipient_id: &EntityId) -> Result<QueueRecord, ErrorType> {
        let record = self.queues.delete_queue(recipient_id)?;
        self.messages.delete_queue(recipient_id.as_bytes());
        Ok(from_store_record(recipient_id.clone(), record))
    }

    fn write_message(
        &self,
        recipient_id: &EntityId,
        message: StoredMessage,
    ) -> Result<WriteOutcome, ErrorType> {
        let message = to_store_message(message)?;
        let rid = recipient_id.as_bytes();
        let live = |store: &Self| {
            store
                .queues
                .queue(smp_store::QueueParty::Recipient, rid)
                .is_ok()
        };
        if !live(self) {
            return Err(ErrorType::Auth);
        }
        let written = self.messages.write_message(rid, message);
        // A DEL that ran between the check and the write would leave the message orphaned
        // (and an unknown queue in the saved message log): drop it again.
        if !live(self) {
            self.messages.delete_queue(rid);
            return Err(ErrorType::Auth);
        }
        Ok(written.map(|(message, was_empty)| (from_store_message(message), was_empty)))
    }

    fn peek_message(&self, recipient_id: &EntityId) -> Result<Option<StoredMessage>, ErrorType> {
        Ok(self
            .messages
            .peek(recipient_id.as_bytes())
            .map(from_store_message))
    }

    fn delete_message(
        &self,
        recipient_id: &EntityId,
        msg_id: &MsgId,
    ) -> Result<Option<StoredMessage>, ErrorType> {
        Ok(self
            .messages
            .delete_message(recipient_id.as_bytes(), msg_id.as_bytes())
            .map(from_store_message))
    }

    fn delete_and_peek(
        &self,
        recipient_id: &EntityId,
        msg_id: &MsgId,
    ) -> Result<(Option<StoredMessage>, Option<StoredMessage>), ErrorType> {
        let (deleted, next) = self
            .messages
            .delete_and_peek(recipient_id.as_bytes(), msg_id.as_bytes());
        Ok((
            deleted.map(from_store_message),
            next.map(from_store_message),
        ))
    }

    fn queue_size(&self, recipient_id: &EntityId) -> Result<usize, ErrorType> {
        Ok(self.messages.size(recipient_id.as_bytes()))
    }

    fn delete_expired_messages(
        &self,
        recipient_id: &EntityId,
        before: i64,
    ) -> Result<usize, ErrorType> {
        Ok(self.messages.expire_queue(recipient_id.as_bytes(), before))
    }

    fn expire_all_messages(&self, before: i64) -> ExpiredMessages {
        let stats = self.messages.expire_all(before);
        ExpiredMessages {
            expired: stats.expired,
            stored: stats.stored,
        }
    }
}
