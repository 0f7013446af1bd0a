//! Pending message notifications for NMSG delivery (`Server/NtfStore.hs`): per notifier id, the
//! notifications of messages sent with the notification flag, kept until they are delivered to a
//! subscribed notifier connection or expire (24 h by default).

use smp_proto::ids::{EntityId, MsgId};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One notification (`NtfStore.MsgNtf`): the encrypted `NMsgMeta` and its random nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgNtf {
    pub msg_id: MsgId,
    /// Message timestamp, seconds since the epoch.
    pub timestamp: i64,
    pub nonce: [u8; 24],
    /// `cbEncrypt(rcvNtfDhSecret, nonce, pad(NMsgMeta, 128))`, 144 bytes.
    pub encrypted_meta: Vec<u8>,
}

/// All pending notifications (`NtfStore.NtfStore`), oldest first per notifier.
#[derive(Default)]
pub struct NtfStore {
    by_notifier: Mutex<HashMap<EntityId, Vec<MsgNtf>>>,
}

impl NtfStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> MutexGuard<'_, HashMap<EntityId, Vec<MsgNtf>>> {
        // Every operation leaves the map consistent, so a poisoned lock is still usable.
        self.by_notifier
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// `NtfStore.storeNtf`.
    pub fn store(&self, notifier_id: &EntityId, notification: MsgNtf) {
        self.map()
            .entry(notifier_id.clone())
            .or_default()
            .push(notification);
    }

    /// `NtfStore.deleteNtfs`: drops the notifier's notifications (NDEL, DEL, NKEY), returns how many.
    pub fn delete(&self, notifier_id: &EntityId) -> usize {
        self.map().remove(notifier_id).map_or(0, |ntfs| ntfs.len())
    }

    /// Notifier ids that have something to deliver.
    pub fn notifiers_with_pending(&self) -> Vec<EntityId> {
        self.map()
            .iter()
            .filter(|(_, ntfs)| !ntfs.is_empty())
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A copy of every pending notification, oldest first per notifier (for a save while
    /// serving; nothing is removed).
    pub fn snapshot(&self) -> Vec<(EntityId, Vec<MsgNtf>)> {
        self.map()
            .iter()
            .filter(|(_, ntfs)| !ntfs.is_empty())
            .map(|(id, ntfs)| (id.clone(), ntfs.clone()))
            .collect()
    }

    /// Removes and returns the notifier's notifications, oldest first.
    pub fn take(&self, notifier_id: &EntityId) -> Vec<MsgNtf> {
        self.map().remove(notifier_id).unwrap_or_default()
    }

    /// Puts back notifications that could not be sent (the connection's queue was full), before
    /// any that arrived meanwhile.
    pub fn restore(&self, notifier_id: &EntityId, mut notifications: Vec<MsgNtf>) {
        if notifications.is_empty() {
            return;
        }
        let mut map = self.map();
        let entry = map.entry(notifier_id.clone()).or_default();
        notifications.append(entry);
        *entry = notifications;
    }

    /// `NtfStore.deleteExpiredNtfs`: drops notifications older than `before` (epoch seconds).
    pub fn delete_expired(&self, before: i64) -> usize {
        let mut expired = 0;
        self.map().retain(|_, ntfs| {
            let length = ntfs.len();
            ntfs.retain(|ntf| ntf.timestamp >= before);
            expired += length - ntfs.len();
            !ntfs.is_empty()
        });
        expired
    }

    /// Total number of pending notifications.
    pub fn len(&self) -> usize {
        self.map().values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ntf(byte: u8, timestamp: i64) -> MsgNtf {
        MsgNtf {
            msg_id: MsgId::from([byte; 24]),
            timestamp,
            nonce: [byte; 24],
            encrypted_meta: vec![byte; 144],
        }
    }

    #[test]
    fn store_take_restore_delete() {
        let store = NtfStore::new();
        let id = EntityId::from([1; 24]);
        store.store(&id, ntf(1, 10));
        store.store(&id, ntf(2, 20));
        assert_eq!(store.notifiers_with_pending(), std::slice::from_ref(&id));
        let taken = store.take(&id);
        assert_eq!(taken, [ntf(1, 10), ntf(2, 20)]);
        store.store(&id, ntf(3, 30));
        store.restore(&id, taken);
        assert_eq!(store.take(&id), [ntf(1, 10), ntf(2, 20), ntf(3, 30)]);
        store.store(&id, ntf(4, 40));
        assert_eq!(store.delete(&id), 1);
        assert!(store.is_empty());
    }

    #[test]
    fn snapshot_copies_without_removing() {
        let store = NtfStore::new();
        let id = EntityId::from([1; 24]);
        store.store(&id, ntf(1, 10));
        store.store(&id, ntf(2, 20));
        assert_eq!(
            store.snapshot(),
            [(id.clone(), vec![ntf(1, 10), ntf(2, 20)])]
        );
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn expiry_drops_old_notifications_only() {
        let store = NtfStore::new();
        let (a, b) = (EntityId::from([1; 24]), EntityId::from([2; 24]));
        store.store(&a, ntf(1, 10));
        store.store(&a, ntf(2, 30));
        store.store(&b, ntf(3, 5));
        assert_eq!(store.delete_expired(20), 2);
        assert_eq!(store.len(), 1);
        assert_eq!(store.notifiers_with_pending(), [a]);
    }
}
