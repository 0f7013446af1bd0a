//! The in-memory queue store (`QueueStore/STM.hs: STMQueueStore`): queue records in a slab of
//! compact slots, four id indexes (recipient, sender, notifier, link) holding only slot numbers,
//! services, and an optional store log that every change is appended to.
//!
//! Concurrency: one `parking_lot::RwLock` over the whole store. Lookups (every SEND, SUB, ...) take
//! the read lock for a hash probe and a record copy; changes take the write lock, apply, and append
//! their log line before releasing it, so the log order is the order changes were applied. No
//! lock is ever held across an `.await` (there is none: this crate is synchronous).
//!
//! Deleted queues keep their slot (marked deleted) and their recipient and link index entries
//! until restart, as the reference's in-memory store keeps them: those ids stay reserved and
//! lookups through them answer `AUTH`.

use crate::apply::{apply, Applied, Inner};
use crate::compaction::{Compaction, CompactionOutcome};
use crate::log_record::StoreLogRecord;
use crate::record::{
    NotifierCreds, QueueParty, QueueRecord, QueueStatus, ServiceParty, ServiceRecord,
};
use crate::snapshot::StoreSnapshot;
use crate::store_log::{LogMark, StoreLogWriter};
use parking_lot::{Mutex, RwLock};
use smp_proto::command::QueueLinkData;
use smp_proto::error::{BlockingInfo, ErrorType};
use smp_proto::ids::EntityId;
use smp_proto::keys::AuthKey;
use std::sync::Arc;

/// Why a store operation failed; [`ErrorType::from`] gives the wire error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such (live) queue, or a refused change: `ERR AUTH`.
    #[error("AUTH")]
    Auth,
    /// An id is already taken: `DUPLICATE_` (the server retries or answers `INTERNAL`).
    #[error("DUPLICATE_")]
    Duplicate,
    /// A service certificate registered with another role: `ERR SERVICE`.
    #[error("SERVICE")]
    Service,
    /// The change was applied in memory but appending to the store log failed: `ERR STORE`.
    #[error("STORE {0}")]
    Log(String),
}

impl From<StoreError> for ErrorType {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Auth => ErrorType::Auth,
            StoreError::Duplicate => ErrorType::Duplicate,
            StoreError::Service => ErrorType::Service,
            StoreError::Log(text) => ErrorType::Store(text),
        }
    }
}

/// Counts for stats and metrics (`QueueStore/Types.hs: EntityCounts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntityCounts {
    pub queues: usize,
    pub notifiers: usize,
    pub recipient_services: usize,
    pub notifier_services: usize,
    pub recipient_service_queues: usize,
    pub notifier_service_queues: usize,
}

/// The store log writer, shared between the store (appending under its write lock) and a
/// background compaction (switching it to the compacted file).
pub(crate) type SharedLog = Arc<Mutex<Option<StoreLogWriter>>>;

/// The queue store shared by all connections.
#[derive(Default)]
pub struct QueueStore {
    inner: RwLock<Inner>,
    log: SharedLog,
    /// The background compaction of the store log started at open, until it is waited for.
    compaction: Mutex<Option<Compaction>>,
}

impl std::fmt::Debug for QueueStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueStore")
            .field("queues", &self.inner.read().live_queues)
            .finish()
    }
}

impl QueueStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts appending every change to `writer` (`setStoreLog`).
    pub fn set_store_log(&self, writer: StoreLogWriter) {
        *self.log.lock() = Some(writer);
    }

    /// Stops logging and returns the writer (to close it at shutdown), after waiting for a
    /// compaction still running in the background to finish, so that the file it leaves is the
    /// compacted one.
    pub fn take_store_log(&self) -> Option<StoreLogWriter> {
        let _ = self.finish_compaction();
        self.log.lock().take()
    }

    /// Pre-sizes the slab and the id indexes for `additional` more queues (before a replay).
    pub fn reserve_queues(&self, additional: usize) {
        self.inner.write().reserve(additional, 0, 0);
    }

    /// Pre-sizes for `queues` more queues, `notifiers` more notifier ids and `links` more link
    /// ids (the replay's estimate).
    pub(crate) fn reserve(&self, queues: usize, notifiers: usize, links: usize) {
        self.inner.write().reserve(queues, notifiers, links);
    }

    /// A copy of the keyed id hasher, for replay workers that hash ids ahead of applying.
    pub(crate) fn id_hasher(&self) -> std::hash::RandomState {
        self.inner.read().hasher().clone()
    }

    /// Runs `replay` with the write lock held: a replay applies a whole chunk of records, without
    /// logging them, under one lock.
    pub(crate) fn replay_batch<R>(&self, replay: impl FnOnce(&mut Inner) -> R) -> R {
        replay(&mut self.inner.write())
    }

    /// Applies `record` and, if it succeeded and `should_log` says so, appends it to the log while
    /// still holding the write lock.
    fn change(
        &self,
        record: StoreLogRecord,
        should_log: impl FnOnce(&Applied) -> bool,
    ) -> Result<Applied, StoreError> {
        let mut inner = self.inner.write();
        let applied = apply(&mut inner, &record)?;
        if should_log(&applied) {
            if let Some(writer) = self.log.lock().as_mut() {
                writer.append(&record).map_err(|error| {
                    let text = format!(
                        "{record_name}, withLog, {error}",
                        record_name = record_name(&record)
                    );
                    // `withLog'`: the change stays applied in memory, the command gets
                    // `ERR STORE`, and the server goes on serving.
                    tracing::error!("STORE: {text}");
                    StoreError::Log(text)
                })?;
            }
        }
        Ok(applied)
    }

    /// `addQueue`: `Duplicate` if any of its recipient, sender, notifier or link ids is taken.
    pub fn add_queue(&self, recipient_id: EntityId, queue: QueueRecord) -> Result<(), StoreError> {
        self.change(
            StoreLogRecord::CreateQueue {
                recipient_id,
                queue: Box::new(queue),
            },
            |_| true,
        )
        .map(drop)
    }

    /// `getQueue_` + `readQueueRec`: the recipient id and record of a live queue, else `Auth`.
    pub fn queue(
        &self,
        party: QueueParty,
        id: &[u8],
    ) -> Result<(EntityId, QueueRecord), StoreError> {
        let inner = self.inner.read();
        let slot = inner.find_live(party, id).ok_or(StoreError::Auth)?;
        let slot = inner.slots.get(slot).ok_or(StoreError::Auth)?;
        let recipient_id =
            EntityId::new(slot.recipient_id().to_vec()).map_err(|_| StoreError::Auth)?;
        Ok((recipient_id, slot.record()))
    }

    /// `getQueueLinkData`: the data if `link_id` is the queue's link id, else `Auth`.
    pub fn link_data(
        &self,
        recipient_id: &[u8],
        link_id: &[u8],
    ) -> Result<QueueLinkData, StoreError> {
        let (_, record) = self.queue(QueueParty::Recipient, recipient_id)?;
        match record.link {
            Some((stored, data)) if stored.as_bytes() == link_id => Ok(data),
            _ => Err(StoreError::Auth),
        }
    }

    /// LSET (`Server.hs` `LSET` + `addQueueLinkData`): `Auth` for a secured messaging queue, for a
    /// different link id than the one set, for changed fixed data, or for a link id another queue
    /// uses.
    pub fn set_link_data(
        &self,
        recipient_id: &EntityId,
        link_id: EntityId,
        data: QueueLinkData,
    ) -> Result<(), StoreError> {
        {
            let (_, record) = self.queue(QueueParty::Recipient, recipient_id.as_bytes())?;
            if record.is_secured_messaging() {
                return Err(StoreError::Auth);
            }
        }
        let record = StoreLogRecord::CreateLink {
            recipient_id: recipient_id.clone(),
            link_id,
            data,
        };
        self.change(record, |_| true).map(drop)
    }

    /// `deleteQueueLinkData` (LDEL, and SEND to a secured messaging queue with link data).
    pub fn delete_link_data(&self, recipient_id: &EntityId) -> Result<(), StoreError> {
        let record = StoreLogRecord::DeleteLink {
            recipient_id: recipient_id.clone(),
        };
        self.change(record, |_| true).map(drop)
    }

    /// `secureQueue` (KEY, SKEY, LKEY): sets the sender key; the same key again is fine (and is
    /// logged again, as the reference does), a different one `Auth`.
    pub fn secure_queue(
        &self,
        recipient_id: &EntityId,
        sender_key: AuthKey,
    ) -> Result<(), StoreError> {
        let record = StoreLogRecord::SecureQueue {
            recipient_id: recipient_id.clone(),
            sender_key,
        };
        self.change(record, |_| true).map(drop)
    }

    /// `updateKeys` (RKEY): replaces the recipient keys (`keys` must not be empty, else `Auth`).
    pub fn update_recipient_keys(
        &self,
        recipient_id: &EntityId,
        keys: Vec<AuthKey>,
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Err(StoreError::Auth);
        }
        let record = StoreLogRecord::UpdateKeys {
            recipient_id: recipient_id.clone(),
            keys,
        };
        self.change(record, |_| true).map(drop)
    }

    /// `addQueueNotifier` (NKEY): `Duplicate` if the notifier id is taken; returns the replaced
    /// notifier.
    pub fn add_notifier(
        &self,
        recipient_id: &EntityId,
        notifier: NotifierCreds,
    ) -> Result<Option<NotifierCreds>, StoreError> {
        let record = StoreLogRecord::AddNotifier {
            recipient_id: recipient_id.clone(),
            notifier,
        };
        match self.change(record, |_| true)? {
            Applied::Notifier(previous) => Ok(previous),
            _ => Ok(None),
        }
    }

    /// `deleteQueueNotifier` (NDEL): returns the removed notifier.
    pub fn delete_notifier(
        &self,
        recipient_id: &EntityId,
    ) -> Result<Option<NotifierCreds>, StoreError> {
        let record = StoreLogRecord::DeleteNotifier {
            recipient_id: recipient_id.clone(),
        };
        match self.change(record, |_| true)? {
            Applied::Notifier(previous) => Ok(previous),
            _ => Ok(None),
        }
    }

    /// `suspendQueue` (OFF).
    pub fn suspend_queue(&self, recipient_id: &EntityId) -> Result<(), StoreError> {
        let record = StoreLogRecord::SuspendQueue {
            recipient_id: recipient_id.clone(),
        };
        self.change(record, |_| true).map(drop)
    }

    /// `blockQueue` (control port).
    pub fn block_queue(
        &self,
        recipient_id: &EntityId,
        info: BlockingInfo,
    ) -> Result<(), StoreError> {
        let record = StoreLogRecord::BlockQueue {
            recipient_id: recipient_id.clone(),
            info,
        };
        self.change(record, |_| true).map(drop)
    }

    /// `unblockQueue` (control port).
    pub fn unblock_queue(&self, recipient_id: &EntityId) -> Result<(), StoreError> {
        let record = StoreLogRecord::UnblockQueue {
            recipient_id: recipient_id.clone(),
        };
        self.change(record, |_| true).map(drop)
    }

    /// `updateQueueTime`: sets the day-rounded time; logs `TIME` only when it changed. Returns
    /// whether it changed.
    pub fn update_time(&self, recipient_id: &EntityId, date: i64) -> Result<bool, StoreError> {
        {
            // Cheap check under the read lock: the usual case is "already today".
            let inner = self.inner.read();
            let slot = inner
                .find_live(QueueParty::Recipient, recipient_id.as_bytes())
                .and_then(|slot| inner.slots.get(slot))
                .ok_or(StoreError::Auth)?;
            if slot.updated_at() == Some(date) {
                return Ok(false);
            }
        }
        let record = StoreLogRecord::UpdateTime {
            recipient_id: recipient_id.clone(),
            updated_at: date,
        };
        let applied = self.change(record, |applied| matches!(applied, Applied::Changed(true)))?;
        Ok(matches!(applied, Applied::Changed(true)))
    }

    /// `deleteStoreQueue` (DEL): returns the deleted record.
    pub fn delete_queue(&self, recipient_id: &EntityId) -> Result<QueueRecord, StoreError> {
        let record = StoreLogRecord::DeleteQueue {
            recipient_id: recipient_id.clone(),
        };
        match self.change(record, |_| true)? {
            Applied::Deleted(record) => Ok(*record),
            _ => Err(StoreError::Auth),
        }
    }

    /// `getCreateService`: the id of the service with this certificate hash, registering it (and
    /// logging `NEW_SERVICE`) when new; `Service` if it was registered with another role.
    pub fn get_create_service(&self, service: ServiceRecord) -> Result<EntityId, StoreError> {
        match self.change(StoreLogRecord::NewService(service), |applied| {
            matches!(applied, Applied::Service(_, true))
        })? {
            Applied::Service(id, _) => Ok(id),
            _ => Err(StoreError::Service),
        }
    }

    /// `setQueueService`: associates (or with `None` dissociates) the queue's recipient or
    /// notifier with a service; `Auth` for a notifier service on a queue without notifier.
    pub fn set_queue_service(
        &self,
        recipient_id: &EntityId,
        party: ServiceParty,
        service_id: Option<EntityId>,
    ) -> Result<(), StoreError> {
        let record = StoreLogRecord::QueueService {
            recipient_id: recipient_id.clone(),
            party,
            service_id,
        };
        self.change(record, |_| true).map(drop)
    }

    /// `getServiceQueueCount`: queues associated with a service; `Auth` for an unknown service.
    pub fn service_queue_count(
        &self,
        party: ServiceParty,
        service_id: &EntityId,
    ) -> Result<usize, StoreError> {
        let inner = self.inner.read();
        let service = inner.services.get(service_id).ok_or(StoreError::Auth)?;
        Ok(match party {
            ServiceParty::Recipient => service.recipient_queues.len(),
            ServiceParty::Notifier => service.notifier_queues.len(),
        })
    }

    /// `getEntityCounts`.
    pub fn counts(&self) -> EntityCounts {
        let inner = self.inner.read();
        let mut counts = EntityCounts {
            queues: inner.live_queues,
            notifiers: inner.notifiers.len(),
            ..EntityCounts::default()
        };
        for service in inner.services.values() {
            match service.record.role {
                crate::record::ServiceRole::Messaging => counts.recipient_services += 1,
                crate::record::ServiceRole::Notifier => counts.notifier_services += 1,
                crate::record::ServiceRole::Proxy => {}
            }
            counts.recipient_service_queues += service.recipient_queues.len();
            counts.notifier_service_queues += service.notifier_queues.len();
        }
        counts
    }

    /// The records that describe the current state, in the order compaction writes them
    /// (`writeQueueStore`): services by id, then live queues by recipient id (raw bytes).
    pub fn snapshot_records(&self, mut each: impl FnMut(StoreLogRecord)) {
        let inner = self.inner.read();
        let mut services: Vec<&ServiceRecord> = inner
            .services
            .values()
            .map(|service| &service.record)
            .collect();
        services.sort_by(|a, b| a.service_id.cmp(&b.service_id));
        for service in services {
            each(StoreLogRecord::NewService(service.clone()));
        }
        let mut live: Vec<(&[u8], u32)> = inner
            .slots
            .iter()
            .filter(|(_, slot)| !slot.is_deleted())
            .map(|(number, slot)| (slot.recipient_id(), number))
            .collect();
        live.sort_unstable();
        for (recipient_id, number) in live {
            let (Ok(recipient_id), Some(slot)) = (
                EntityId::new(recipient_id.to_vec()),
                inner.slots.get(number),
            ) else {
                continue;
            };
            each(StoreLogRecord::CreateQueue {
                recipient_id,
                queue: Box::new(slot.record()),
            });
        }
    }

    /// The same lines as [`QueueStore::snapshot_records`] (each record and its `\n`, in the same
    /// order), encoded on `workers` threads and handed to `write` in order, a few thousand lines
    /// at a time. Returns the number of records. Encodes a [`QueueStore::snapshot`], so the store
    /// stays unlocked (and changeable) while this runs.
    pub fn write_snapshot_lines<E>(
        &self,
        workers: usize,
        write: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        self.snapshot().write_lines(workers, write)
    }

    /// A frozen copy of the current state for writing a compacted log, taken in O(slab chunks)
    /// under the write lock.
    pub fn snapshot(&self) -> StoreSnapshot {
        freeze(&mut self.inner.write())
    }

    /// A frozen copy of the current state and where the store log ends in that state (its
    /// writer and the length after its last complete record), taken together: changes apply
    /// and append under the write lock, held here, so no record can fall between the two.
    /// `None` without a store log.
    pub(crate) fn snapshot_at_log_end(&self) -> Option<(StoreSnapshot, LogMark)> {
        let mut inner = self.inner.write();
        let mark = self.log.lock().as_ref().map(StoreLogWriter::mark)?;
        Some((freeze(&mut inner), mark))
    }

    /// The store log writer as shared with a background compaction.
    pub(crate) fn shared_log(&self) -> SharedLog {
        Arc::clone(&self.log)
    }

    /// Keeps `compaction` running until [`QueueStore::finish_compaction`] (or the store's end,
    /// which abandons it); a previous one is waited for first.
    pub(crate) fn keep_compaction(&self, compaction: Compaction) {
        let previous = self.compaction.lock().replace(compaction);
        if let Some(previous) = previous {
            let _ = previous.wait();
        }
    }

    /// Whether the store log compaction started by [`crate::store_log::open_store_log`] is still
    /// running.
    pub fn compaction_running(&self) -> bool {
        self.compaction
            .lock()
            .as_ref()
            .is_some_and(|compaction| !compaction.is_finished())
    }

    /// Waits for the store log compaction started by [`crate::store_log::open_store_log`], if
    /// one is running; `None` when there was none. Its outcome was already logged.
    pub fn finish_compaction(&self) -> Option<CompactionOutcome> {
        let compaction = self.compaction.lock().take()?;
        Some(compaction.wait())
    }

    /// Visits every live queue (expiration, export), under the read lock.
    pub fn for_each_queue(&self, mut each: impl FnMut(&[u8], &QueueRecord)) {
        let inner = self.inner.read();
        for (_, slot) in inner.slots.iter().filter(|(_, slot)| !slot.is_deleted()) {
            each(slot.recipient_id(), &slot.record());
        }
    }

    /// The status of a live queue, cheaply (no record copy).
    pub fn status(&self, party: QueueParty, id: &[u8]) -> Result<QueueStatus, StoreError> {
        self.queue(party, id).map(|(_, record)| record.status)
    }
}

fn freeze(inner: &mut Inner) -> StoreSnapshot {
    let services = inner
        .services
        .values()
        .map(|service| service.record.clone())
        .collect();
    StoreSnapshot::new(services, inner.slots.freeze())
}

fn record_name(record: &StoreLogRecord) -> &'static str {
    match record {
        StoreLogRecord::CreateQueue { .. } => "addStoreQueue",
        StoreLogRecord::CreateLink { .. } => "addQueueLinkData",
        StoreLogRecord::DeleteLink { .. } => "deleteQueueLinkData",
        StoreLogRecord::SecureQueue { .. } => "secureQueue",
        StoreLogRecord::UpdateKeys { .. } => "updateKeys",
        StoreLogRecord::AddNotifier { .. } => "addQueueNotifier",
        StoreLogRecord::SuspendQueue { .. } => "suspendQueue",
        StoreLogRecord::BlockQueue { .. } => "blockQueue",
        StoreLogRecord::UnblockQueue { .. } => "unblockQueue",
        StoreLogRecord::DeleteQueue { .. } => "deleteStoreQueue",
        StoreLogRecord::DeleteNotifier { .. } => "deleteQueueNotifier",
        StoreLogRecord::UpdateTime { .. } => "updateQueueTime",
        StoreLogRecord::NewService(_) => "getCreateService",
        StoreLogRecord::QueueService { .. } => "setQueueService",
    }
}

#[cfg(test)]
#[path = "queue_store_tests.rs"]
mod tests;
