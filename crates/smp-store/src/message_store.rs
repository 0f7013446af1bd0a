//! The in-memory message store (`MsgStore/STM.hs`): a FIFO per queue with the quota rule and the
//! quota marker (`writeMsg`), head-only deletion for ACK (`tryDelMsg`, `tryDelPeekMsg`), and expiry
//! from the head stopping at a marker (`MsgStore/Types.hs: deleteExpireMsgs_`).
//!
//! Queues are kept in 64 mutex-guarded shards chosen by a keyed hash of the recipient id; a queue
//! is dropped from its map when it becomes empty (an empty queue accepts the next write whatever
//! its `canWrite` flag, so nothing is lost). A message is its 24-byte id, timestamp, flag and one
//! shared body allocation.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

/// Messages a queue holds before refusing (`Env/STM.hs: defaultMsgQueueQuota`).
pub const DEFAULT_QUOTA: usize = 128;
/// Largest message body (`Protocol.MaxMessageLen`).
pub const MAX_MESSAGE_LENGTH: usize = 16_088;

const SHARDS: usize = 64;

/// A stored message or quota marker (`Protocol.Message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub msg_id: [u8; 24],
    /// Unix seconds.
    pub timestamp: i64,
    pub kind: MessageKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    /// `Message`: the notification flag and the client-encrypted body.
    Message { notification: bool, body: Arc<[u8]> },
    /// `MessageQuota`: stored instead of the first refused message.
    Quota,
}

impl Message {
    pub fn is_quota(&self) -> bool {
        matches!(self.kind, MessageKind::Quota)
    }
}

#[derive(Debug)]
struct MessageQueue {
    messages: VecDeque<Message>,
    /// `canWrite`: false from the quota marker until the queue is drained.
    can_write: bool,
}

impl Default for MessageQueue {
    fn default() -> Self {
        MessageQueue {
            messages: VecDeque::new(),
            can_write: true,
        }
    }
}

type Shard = HashMap<Box<[u8]>, MessageQueue>;

/// Counts of an expiry run or a restore (`MsgStore/Types.hs: MessageStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageStats {
    pub stored: usize,
    pub expired: usize,
    pub queues: usize,
}

/// All queues' messages.
#[derive(Debug)]
pub struct MessageStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    quota: usize,
}

impl Default for MessageStore {
    fn default() -> Self {
        MessageStore::new(DEFAULT_QUOTA)
    }
}

impl MessageStore {
    pub fn new(quota: usize) -> Self {
        MessageStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
            hasher: RandomState::new(),
            quota,
        }
    }

    pub fn quota(&self) -> usize {
        self.quota
    }

    fn shard(&self, recipient_id: &[u8]) -> &Mutex<Shard> {
        let index = (self.hasher.hash_one(recipient_id) as usize) % SHARDS;
        &self.shards[index]
    }

    /// `writeMsg`: stores `message` when the queue can take it and returns it with whether the
    /// queue was empty before; past the quota stores a marker (same id and time) once and returns
    /// `None` (`ERR QUOTA`), and refuses everything until the queue is drained.
    pub fn write_message(&self, recipient_id: &[u8], message: Message) -> Option<(Message, bool)> {
        let mut shard = self.shard(recipient_id).lock();
        let queue = shard.entry(recipient_id.into()).or_default();
        let empty = queue.messages.is_empty();
        if !(queue.can_write || empty) {
            return None;
        }
        // Quota counts stored entries, the marker included, before this write.
        let can_write = self.quota > queue.messages.len();
        queue.can_write = can_write;
        if can_write {
            queue.messages.push_back(message.clone());
            Some((message, empty))
        } else {
            queue.messages.push_back(Message {
                msg_id: message.msg_id,
                timestamp: message.timestamp,
                kind: MessageKind::Quota,
            });
            None
        }
    }

    /// `tryPeekMsg`.
    pub fn peek(&self, recipient_id: &[u8]) -> Option<Message> {
        let shard = self.shard(recipient_id).lock();
        shard.get(recipient_id)?.messages.front().cloned()
    }

    /// `tryDelMsg`: removes the head if its id is `msg_id`.
    pub fn delete_message(&self, recipient_id: &[u8], msg_id: &[u8]) -> Option<Message> {
        self.delete_and_peek(recipient_id, msg_id).0
    }

    /// `tryDelPeekMsg`: removes the head if its id is `msg_id` (returning it), then the new head;
    /// when the id does not match, `(None, head)`.
    pub fn delete_and_peek(
        &self,
        recipient_id: &[u8],
        msg_id: &[u8],
    ) -> (Option<Message>, Option<Message>) {
        let mut shard = self.shard(recipient_id).lock();
        let Some(queue) = shard.get_mut(recipient_id) else {
            return (None, None);
        };
        let deleted = match queue.messages.front() {
            Some(head) if head.msg_id.as_slice() == msg_id => queue.messages.pop_front(),
            _ => None,
        };
        let next = queue.messages.front().cloned();
        if queue.messages.is_empty() {
            shard.remove(recipient_id);
        }
        (deleted, next)
    }

    /// `getQueueSize`: stored entries, the marker included.
    pub fn size(&self, recipient_id: &[u8]) -> usize {
        let shard = self.shard(recipient_id).lock();
        shard
            .get(recipient_id)
            .map_or(0, |queue| queue.messages.len())
    }

    /// Drops a deleted queue's messages; returns how many there were.
    pub fn delete_queue(&self, recipient_id: &[u8]) -> usize {
        let mut shard = self.shard(recipient_id).lock();
        shard
            .remove(recipient_id)
            .map_or(0, |queue| queue.messages.len())
    }

    /// Marks a queue over quota (`setOverQuota_`, only while restoring).
    pub fn set_over_quota(&self, recipient_id: &[u8]) {
        let mut shard = self.shard(recipient_id).lock();
        if let Some(queue) = shard.get_mut(recipient_id) {
            queue.can_write = false;
        }
    }

    /// `deleteExpireMsgs_` for one queue: removes head messages older than `before` (Unix
    /// seconds), stopping at the first newer one or at a quota marker. Returns how many.
    pub fn expire_queue(&self, recipient_id: &[u8], before: i64) -> usize {
        let mut shard = self.shard(recipient_id).lock();
        let Some(queue) = shard.get_mut(recipient_id) else {
            return 0;
        };
        let expired = expire_head(queue, before);
        if queue.messages.is_empty() {
            shard.remove(recipient_id);
        }
        expired
    }

    /// Expiry over all queues (`expireOldMessages`); `queues` counts queues holding messages.
    pub fn expire_all(&self, before: i64) -> MessageStats {
        let mut stats = MessageStats::default();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.retain(|_, queue| {
                stats.expired += expire_head(queue, before);
                stats.stored += queue.messages.len();
                stats.queues += 1;
                !queue.messages.is_empty()
            });
        }
        stats
    }

    /// Messages stored in all queues.
    pub fn message_count(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .values()
                    .map(|q| q.messages.len())
                    .sum::<usize>()
            })
            .sum()
    }

    /// Every queue with messages, ordered by recipient id, with a copy of its messages (for
    /// saving); with `drain` the queues are emptied.
    pub fn snapshot(&self, drain: bool) -> Vec<(Box<[u8]>, Vec<Message>)> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            for (recipient_id, queue) in shard.iter() {
                all.push((
                    recipient_id.clone(),
                    queue.messages.iter().cloned().collect(),
                ));
            }
            if drain {
                shard.clear();
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Removes the head if it is a quota marker (`mergeQuotaMsgs`, restoring only).
    pub(crate) fn drop_quota_head(&self, recipient_id: &[u8]) {
        let mut shard = self.shard(recipient_id).lock();
        if let Some(queue) = shard.get_mut(recipient_id) {
            if queue.messages.front().is_some_and(Message::is_quota) {
                queue.messages.pop_front();
            }
        }
    }
}

fn expire_head(queue: &mut MessageQueue, before: i64) -> usize {
    let mut expired = 0;
    while let Some(head) = queue.messages.front() {
        if head.is_quota() || head.timestamp >= before {
            break;
        }
        queue.messages.pop_front();
        expired += 1;
    }
    expired
}

#[cfg(test)]
#[path = "message_store_tests.rs"]
pub(crate) mod tests;
