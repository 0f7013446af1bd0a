//! What command processing needs from the queue and message stores (`QueueStore/Types.hs:
//! QueueStoreClass`, `MsgStore/Types.hs: MsgStoreClass`), as one object-safe trait so the
//! processor does not care which backend holds the data.
//!
//! Errors are the wire errors the reference answers with (`ERR AUTH` for a missing queue or a
//! refused change, `DUPLICATE_` for an id collision on insert, `STORE text` for backend
//! failures), so the processor passes them through.

pub mod backend;

use smp_proto::codec::SystemTime;
use smp_proto::command::{MsgFlags, QueueLinkData, QueueMode};
use smp_proto::crypto::DhSecret;
use smp_proto::error::{BlockingInfo, ErrorType};
use smp_proto::ids::{EntityId, MsgId};
use smp_proto::keys::AuthKey;

/// Which id map a command's entity id is looked up in (`QueueStore/STM.hs: getQueue_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueParty {
    Recipient,
    Sender,
    Notifier,
    Link,
}

/// Queue status (`QueueStore.hs: ServerEntityStatus`; deleted queues are gone from the maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStatus {
    Active,
    /// Suspended by the recipient with `OFF`.
    Off,
    /// Blocked by the operator.
    Blocked(BlockingInfo),
}

/// Notifier credentials of a queue (`QueueStore.hs: NtfCreds`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierCreds {
    pub notifier_id: EntityId,
    pub notifier_key: AuthKey,
    pub rcv_ntf_dh_secret: DhSecret,
}

/// A queue record (`QueueStore.hs: QueueRec`) with its recipient id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    pub recipient_id: EntityId,
    pub sender_id: EntityId,
    /// Never empty: NEW sets one, RKEY replaces the list with a non-empty one.
    pub recipient_keys: Vec<AuthKey>,
    pub rcv_dh_secret: DhSecret,
    pub sender_key: Option<AuthKey>,
    /// `None` for queues created before v9.
    pub queue_mode: Option<QueueMode>,
    /// Link id and data (short links).
    pub link: Option<(EntityId, QueueLinkData)>,
    pub notifier: Option<NotifierCreds>,
    pub status: QueueStatus,
}

impl QueueRecord {
    /// `Server.hs: isContactQueue` (legacy mode-less queues without a sender key count).
    pub fn is_contact(&self) -> bool {
        match self.queue_mode {
            Some(QueueMode::Messaging) => false,
            Some(QueueMode::Contact) => true,
            None => self.sender_key.is_none(),
        }
    }

    /// `Server.hs: isSecuredMsgQueue`.
    pub fn is_secured_messaging(&self) -> bool {
        self.queue_mode != Some(QueueMode::Contact) && self.sender_key.is_some()
    }
}

/// A stored message (`Protocol.hs: Message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredMessage {
    Message {
        msg_id: MsgId,
        timestamp: SystemTime,
        flags: MsgFlags,
        body: Vec<u8>,
    },
    /// The quota marker written instead of the first refused message.
    Quota {
        msg_id: MsgId,
        timestamp: SystemTime,
    },
}

impl StoredMessage {
    pub fn msg_id(&self) -> &MsgId {
        match self {
            StoredMessage::Message { msg_id, .. } | StoredMessage::Quota { msg_id, .. } => msg_id,
        }
    }

    pub fn timestamp(&self) -> SystemTime {
        match self {
            StoredMessage::Message { timestamp, .. } | StoredMessage::Quota { timestamp, .. } => {
                *timestamp
            }
        }
    }
}

/// Totals of an expiry run over all queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiredMessages {
    /// Messages deleted.
    pub expired: usize,
    /// Messages (and quota markers) left in all queues.
    pub stored: usize,
}

/// Result of writing a message: `None` when over quota (`ERR QUOTA`), else the stored message and
/// whether the queue was empty before.
pub type WriteOutcome = Option<(StoredMessage, bool)>;

/// Store operations, named after the reference's.
pub trait Store: Send + Sync {
    /// `getQueueRec`: `ERR AUTH` when there is no queue under `id` in `party`'s map.
    fn queue(&self, party: QueueParty, id: &EntityId) -> Result<QueueRecord, ErrorType>;
    /// `addQueue`: `DUPLICATE_` if any of its recipient, sender, notifier or link ids is taken.
    fn add_queue(&self, record: QueueRecord) -> Result<(), ErrorType>;
    /// `secureQueue`: sets the sender key; the same key again is fine, a different one `AUTH`.
    fn secure_queue(&self, recipient_id: &EntityId, key: AuthKey) -> Result<(), ErrorType>;
    /// `updateKeys`: replaces the recipient keys.
    fn update_recipient_keys(
        &self,
        recipient_id: &EntityId,
        keys: Vec<AuthKey>,
    ) -> Result<(), ErrorType>;
    /// `addQueueLinkData`: `AUTH` when another link id is set or the fixed data differs.
    fn add_link_data(
        &self,
        recipient_id: &EntityId,
        link_id: EntityId,
        data: QueueLinkData,
    ) -> Result<(), ErrorType>;
    /// `deleteQueueLinkData`.
    fn delete_link_data(&self, recipient_id: &EntityId) -> Result<(), ErrorType>;
    /// `getQueueLinkData`: `AUTH` unless the stored link id is `link_id`.
    fn link_data(
        &self,
        recipient_id: &EntityId,
        link_id: &EntityId,
    ) -> Result<QueueLinkData, ErrorType>;
    /// `addQueueNotifier`: `DUPLICATE_` when the notifier id is taken; returns the replaced one.
    fn add_notifier(
        &self,
        recipient_id: &EntityId,
        creds: NotifierCreds,
    ) -> Result<Option<NotifierCreds>, ErrorType>;
    /// `deleteQueueNotifier`: returns the removed notifier.
    fn delete_notifier(&self, recipient_id: &EntityId) -> Result<Option<NotifierCreds>, ErrorType>;
    /// `suspendQueue` (OFF).
    fn suspend_queue(&self, recipient_id: &EntityId) -> Result<(), ErrorType>;
    /// `updateQueueTime`: records that the queue was used today (`now` in epoch seconds; the
    /// store keeps the date and logs it when it changes).
    fn update_queue_time(&self, recipient_id: &EntityId, now: i64) -> Result<(), ErrorType>;
    /// `deleteQueue`: the queue and its messages; returns the deleted record.
    fn delete_queue(&self, recipient_id: &EntityId) -> Result<QueueRecord, ErrorType>;

    /// `writeMsg`: stores `message` unless over quota (then the quota marker, once).
    fn write_message(
        &self,
        recipient_id: &EntityId,
        message: StoredMessage,
    ) -> Result<WriteOutcome, ErrorType>;
    /// `tryPeekMsg`.
    fn peek_message(&self, recipient_id: &EntityId) -> Result<Option<StoredMessage>, ErrorType>;
    /// `tryDelMsg`: deletes the head if its id is `msg_id`.
    fn delete_message(
        &self,
        recipient_id: &EntityId,
        msg_id: &MsgId,
    ) -> Result<Option<StoredMessage>, ErrorType>;
    /// `tryDelPeekMsg`: deletes the head if its id is `msg_id`, then peeks.
    #[allow(clippy::type_complexity)]
    fn delete_and_peek(
        &self,
        recipient_id: &EntityId,
        msg_id: &MsgId,
    ) -> Result<(Option<StoredMessage>, Option<StoredMessage>), ErrorType>;
    /// `getQueueSize` (the quota marker counts).
    fn queue_size(&self, recipient_id: &EntityId) -> Result<usize, ErrorType>;
    /// `deleteExpiredMsgs` of one queue: head messages older than `before` (epoch seconds),
    /// stopping at a quota marker. Returns how many.
    fn delete_expired_messages(
        &self,
        recipient_id: &EntityId,
        before: i64,
    ) -> Result<usize, ErrorType>;
    /// Expiry over every queue (`expireMessagesThread`).
    fn expire_all_messages(&self, before: i64) -> ExpiredMessages;
}
