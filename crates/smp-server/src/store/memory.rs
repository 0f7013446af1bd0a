//! A [`Store`] held in memory under one lock: the four id maps of `QueueStore/STM.hs` and a FIFO
//! of messages per queue with the quota rule of `MsgStore/STM.hs: writeMsg`.
//!
//! This is the processor's test double and the server's store until the `smp-store` crate
//! (store log, persistence) is wired in behind the same trait.

use super::{
    NotifierCreds, QueueParty, QueueRecord, QueueStatus, Store, StoredMessage, WriteOutcome,
};
use smp_proto::command::QueueLinkData;
use smp_proto::error::ErrorType;
use smp_proto::ids::{EntityId, MsgId};
use smp_proto::keys::AuthKey;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Default per-queue quota (`Server/Env/STM.hs: defaultMsgQueueQuota`).
pub const DEFAULT_QUOTA: usize = 128;

#[derive(Default)]
struct MessageQueue {
    messages: VecDeque<StoredMessage>,
    /// `canWrite`: false after the quota marker until the queue is drained.
    can_write: bool,
}

#[derive(Default)]
struct Maps {
    queues: HashMap<EntityId, QueueRecord>,
    senders: HashMap<EntityId, EntityId>,
    notifiers: HashMap<EntityId, EntityId>,
    links: HashMap<EntityId, EntityId>,
    messages: HashMap<EntityId, MessageQueue>,
}

/// The in-memory store.
pub struct MemoryStore {
    quota: usize,
    maps: Mutex<Maps>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    pub fn new(quota: usize) -> Self {
        MemoryStore {
            quota,
            maps: Mutex::new(Maps::default()),
        }
    }

    fn maps(&self) -> MutexGuard<'_, Maps> {
        // Every operation completes its map updates before returning, so the maps stay valid.
        self.maps.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(DEFAULT_QUOTA)
    }
}

fn with_queue<T>(
    maps: &mut Maps,
    recipient_id: &EntityId,
    f: impl FnOnce(&mut QueueRecord) -> Result<T, ErrorType>,
) -> Result<T, ErrorType> {
    maps.queues
        .get_mut(recipient_id)
        .map_or(Err(ErrorType::Auth), f)
}

impl Store for MemoryStore {
    fn queue(&self, party: QueueParty, id: &EntityId) -> Result<QueueRecord, ErrorType> {
        let maps = self.maps();
        let recipient_id = match party {
            QueueParty::Recipient => Some(id),
            QueueParty::Sender => maps.senders.get(id),
            QueueParty::Notifier => maps.notifiers.get(id),
            QueueParty::Link => maps.links.get(id),
        };
        recipient_id
            .and_then(|rid| maps.queues.get(rid))
            .cloned()
            .ok_or(ErrorType::Auth)
    }

    fn add_queue(&self, record: QueueRecord) -> Result<(), ErrorType> {
        let mut maps = self.maps();
        let rid = record.recipient_id.clone();
        let link_id = record.link.as_ref().map(|(id, _)| id.clone());
        let notifier_id = record.notifier.as_ref().map(|n| n.notifier_id.clone());
        let taken = maps.queues.contains_key(&rid)
            || maps.senders.contains_key(&record.sender_id)
            || notifier_id
                .as_ref()
                .is_some_and(|id| maps.notifiers.contains_key(id))
            || link_id
                .as_ref()
                .is_some_and(|id| maps.links.contains_key(id));
        if taken {
            return Err(ErrorType::Duplicate);
        }
        maps.senders.insert(record.sender_id.clone(), rid.clone());
        if let Some(id) = notifier_id {
            maps.notifiers.insert(id, rid.clone());
        }
        if let Some(id) = link_id {
            maps.links.insert(id, rid.clone());
        }
        maps.messages.insert(
            rid.clone(),
            MessageQueue {
                messages: VecDeque::new(),
                can_write: true,
            },
        );
        maps.queues.insert(rid, record);
        Ok(())
    }

    fn secure_queue(&self, recipient_id: &EntityId, key: AuthKey) -> Result<(), ErrorType> {
        with_queue(&mut self.maps(), recipient_id, |queue| {
            match queue.sender_key {
                Some(existing) if existing != key => return Err(ErrorType::Auth),
                _ => queue.sender_key = Some(key),
            }
            Ok(())
        })
    }

    fn update_recipient_keys(
        &self,
        recipient_id: &EntityId,
        keys: Vec<AuthKey>,
    ) -> Result<(), ErrorType> {
        with_queue(&mut self.maps(), recipient_id, |queue| {
            queue.recipient_keys = keys;
            Ok(())
        })
    }

    fn add_link_data(
        &self,
        recipient_id: &EntityId,
        link_id: EntityId,
        data: QueueLinkData,
    ) -> Result<(), ErrorType> {
        let mut maps = self.maps();
        let maps = &mut *maps;
        let queue = maps.queues.get_mut(recipient_id).ok_or(ErrorType::Auth)?;
        match &mut queue.link {
            Some((existing_id, existing)) => {
                if *existing_id != link_id || existing.fixed != data.fixed {
                    return Err(ErrorType::Auth);
                }
                existing.user = data.user;
            }
            None => {
                if maps.links.contains_key(&link_id) {
                    return Err(ErrorType::Duplicate);
                }
                maps.links.insert(link_id.clone(), recipient_id.clone());
                queue.link = Some((link_id, data));
            }
        }
        Ok(())
    }

    fn delete_link_data(&self, recipient_id: &EntityId) -> Result<(), ErrorType> {
        let mut maps = self.maps();
        let removed = with_queue(&mut maps, recipient_id, |queue| Ok(queue.link.take()))?;
        if let Some((link_id, _)) = removed {
            maps.links.remove(&link_id);
        }
        Ok(())
    }

    fn link_data(
        &self,
        recipient_id: &EntityId,
        link_id: &EntityId,
    ) -> Result<QueueLinkData, ErrorType> {
        with_queue(&mut self.maps(), recipient_id, |queue| match &queue.link {
            Some((id, data)) if id == link_id => Ok(data.clone()),
            _ => Err(ErrorType::Auth),
        })
    }

    fn add_notifier(
        &self,
        recipient_id: &EntityId,
        creds: NotifierCreds,
    ) -> Result<Option<NotifierCreds>, ErrorType> {
        let mut maps = self.maps();
        if !maps.queues.contains_key(recipient_id) {
            return Err(ErrorType::Auth);
        }
        if maps.notifiers.contains_key(&creds.notifier_id) {
            return Err(ErrorType::Duplicate);
        }
        maps.notifiers
            .insert(creds.notifier_id.clone(), recipient_id.clone());
        let previous = with_queue(&mut maps, recipient_id, |queue| {
            Ok(queue.notifier.replace(creds))
        })?;
        if let Some(previous) = &previous {
            maps.notifiers.remove(&previous.notifier_id);
        }
        Ok(previous)
    }

    fn delete_notifier(&self, recipient_id: &EntityId) -> Result<Option<NotifierCreds>, ErrorType> {
        let mut maps = self.maps();
        let removed = with_queue(&mut maps, recipient_id, |queue| Ok(queue.notifier.take()))?;
        if let Some(removed) = &removed {
            maps.notifiers.remove(&removed.notifier_id);
        }
        Ok(removed)
    }

    fn suspend_queue(&self, recipient_id: &EntityId) -> Result<(), ErrorType> {
        with_queue(&mut self.maps(), recipient_id, |queue| {
            queue.status = QueueStatus::Off;
            Ok(())
        })
    }

    fn delete_queue(&self, recipient_id: &EntityId) -> Result<QueueRecord, ErrorType> {
        let mut maps = self.maps();
        let queue = maps.queues.remove(recipient_id).ok_or(ErrorType::Auth)?;
        maps.senders.remove(&queue.sender_id);
        if let Some(notifier) = &queue.notifier {
            maps.notifiers.remove(&notifier.notifier_id);
        }
        if let Some((link_id, _)) = &queue.link {
            maps.links.remove(link_id);
        }
        maps.messages.remove(recipient_id);
        Ok(queue)
    }

    fn write_message(
        &self,
        recipient_id: &EntityId,
        message: StoredMessage,
    ) -> Result<WriteOutcome, ErrorType> {
        let quota = self.quota;
        let mut maps = self.maps();
        let queue = maps.messages.get_mut(recipient_id).ok_or(ErrorType::Auth)?;
        let was_empty = queue.messages.is_empty();
        if !queue.can_write && !was_empty {
            return Ok(None);
        }
        queue.can_write = quota > queue.messages.len();
        if queue.can_write {
            queue.messages.push_back(message.clone());
            Ok(Some((message, was_empty)))
        } else {
            queue.messages.push_back(StoredMessage::Quota {
                msg_id: message.msg_id().clone(),
                timestamp: message.timestamp(),
            });
            Ok(None)
        }
    }

    fn peek_message(&self, recipient_id: &EntityId) -> Result<Option<StoredMessage>, ErrorType> {
        let maps = self.maps();
        let queue = maps.messages.get(recipient_id).ok_or(ErrorType::Auth)?;
        Ok(queue.messages.front().cloned())
    }

    fn delete_message(
        &self,
        recipient_id: &EntityId,
        msg_id: &MsgId,
    ) -> Result<Option<StoredMessage>, ErrorType> {
        let mut maps = self.maps();
        let queue = maps.messages.get_mut(recipient_id).ok_or(ErrorType::Auth)?;
        if queue.messages.front().map(StoredMessage::msg_id) == Some(msg_id) {
            Ok(queue.messages.pop_front())
        } else {
            Ok(None)
        }
    }

    fn delete_and_peek(
        &self,
        recipient_id: &EntityId,
        msg_id: &MsgId,
    ) -> Result<(Option<StoredMessage>, Option<StoredMessage>), ErrorType> {
        let deleted = self.delete_message(recipient_id, msg_id)?;
        Ok((deleted, self.peek_message(recipient_id)?))
    }

    fn queue_size(&self, recipient_id: &EntityId) -> Result<usize, ErrorType> {
        let maps = self.maps();
        let queue = maps.messages.get(recipient_id).ok_or(ErrorType::Auth)?;
        Ok(queue.messages.len())
    }

    fn delete_expired_messages(
        &self,
        recipient_id: &EntityId,
        before: i64,
    ) -> Result<usize, ErrorType> {
        let mut maps = self.maps();
        let queue = maps.messages.get_mut(recipient_id).ok_or(ErrorType::Auth)?;
        Ok(expire_queue(queue, before))
    }

    fn expire_all_messages(&self, before: i64) -> usize {
        self.maps()
            .messages
            .values_mut()
            .map(|queue| expire_queue(queue, before))
            .sum()
    }
}

/// `deleteExpireMsgs_`: regular head messages older than `before`; a quota marker stops it.
fn expire_queue(queue: &mut MessageQueue, before: i64) -> usize {
    let mut count = 0;
    while let Some(StoredMessage::Message { timestamp, .. }) = queue.messages.front() {
        if timestamp.0 >= before {
            break;
        }
        queue.messages.pop_front();
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use smp_proto::codec::SystemTime;
    use smp_proto::command::MsgFlags;
    use smp_proto::crypto::DhSecret;

    fn record(byte: u8) -> QueueRecord {
        QueueRecord {
            recipient_id: EntityId::from([byte; 24]),
            sender_id: EntityId::from([byte + 100; 24]),
            recipient_keys: vec![AuthKey::Ed25519([byte; 32])],
            rcv_dh_secret: DhSecret([0; 32]),
            sender_key: None,
            queue_mode: None,
            link: None,
            notifier: None,
            status: QueueStatus::Active,
        }
    }

    fn message(byte: u8, timestamp: i64) -> StoredMessage {
        StoredMessage::Message {
            msg_id: MsgId::from([byte; 24]),
            timestamp: SystemTime(timestamp),
            flags: MsgFlags::default(),
            body: vec![byte],
        }
    }

    #[test]
    fn quota_marker_then_refusal_until_drained() {
        let store = MemoryStore::new(2);
        let queue = record(1);
        let rid = queue.recipient_id.clone();
        store.add_queue(queue).unwrap();
        assert_eq!(
            store.write_message(&rid, message(1, 1)).unwrap(),
            Some((message(1, 1), true))
        );
        assert!(store.write_message(&rid, message(2, 1)).unwrap().is_some());
        assert_eq!(store.write_message(&rid, message(3, 1)).unwrap(), None);
        assert_eq!(store.queue_size(&rid).unwrap(), 3);
        assert_eq!(store.write_message(&rid, message(4, 1)).unwrap(), None);
        assert_eq!(store.queue_size(&rid).unwrap(), 3);
        for id in 1..=3 {
            store
                .delete_message(&rid, &MsgId::from([id; 24]))
                .unwrap()
                .unwrap();
        }
        assert!(store.write_message(&rid, message(5, 1)).unwrap().is_some());
    }

    #[test]
    fn expiry_stops_at_newer_message_and_marker() {
        let store = MemoryStore::new(2);
        let queue = record(1);
        let rid = queue.recipient_id.clone();
        store.add_queue(queue).unwrap();
        store.write_message(&rid, message(1, 10)).unwrap();
        store.write_message(&rid, message(2, 30)).unwrap();
        store.write_message(&rid, message(3, 5)).unwrap(); // marker
        assert_eq!(store.expire_all_messages(20), 1);
        assert_eq!(store.expire_all_messages(100), 1);
        assert_eq!(store.queue_size(&rid).unwrap(), 1);
    }

    #[test]
    fn ids_are_unique_across_maps_and_lookups_follow_the_party() {
        let store = MemoryStore::default();
        let queue = record(1);
        store.add_queue(queue.clone()).unwrap();
        assert_eq!(store.add_queue(queue.clone()), Err(ErrorType::Duplicate));
        let sender = queue.sender_id.clone();
        assert!(store.queue(QueueParty::Sender, &sender).is_ok());
        assert_eq!(
            store.queue(QueueParty::Recipient, &sender),
            Err(ErrorType::Auth)
        );
        let rid = queue.recipient_id.clone();
        store.secure_queue(&rid, AuthKey::Ed25519([7; 32])).unwrap();
        store.secure_queue(&rid, AuthKey::Ed25519([7; 32])).unwrap();
        assert_eq!(
            store.secure_queue(&rid, AuthKey::Ed25519([8; 32])),
            Err(ErrorType::Auth)
        );
        store.delete_queue(&rid).unwrap();
        assert_eq!(
            store.queue(QueueParty::Sender, &sender),
            Err(ErrorType::Auth)
        );
    }
}
