//! The state behind [`crate::QueueStore`]'s lock and the one function that changes it: applying a
//! [`StoreLogRecord`], used both for runtime changes (which are then logged) and for replaying the
//! store log. Each arm follows the matching `QueueStore/STM.hs` function.
//!
//! Indexes are `hashbrown::HashTable<u32>` of slot numbers: an entry costs 4 bytes plus a control
//! byte, and the id itself is read from the slot when probing.

use crate::compact::{Slab, Slot};
use crate::log_record::StoreLogRecord;
use crate::queue_store::StoreError;
use crate::record::{
    NotifierCreds, QueueParty, QueueRecord, QueueStatus, ServiceParty, ServiceRecord,
};
use hashbrown::hash_table::{Entry, VacantEntry};
use hashbrown::HashTable;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

/// A registered service and the queues associated with it (`STMService`).
#[derive(Debug)]
pub(crate) struct ServiceEntry {
    pub record: ServiceRecord,
    /// Slot numbers of queues whose recipient subscribes through this service.
    pub recipient_queues: HashSet<u32>,
    /// Slot numbers of queues whose notifier is associated with this service.
    pub notifier_queues: HashSet<u32>,
}

/// What a successful change produced.
#[derive(Debug)]
pub(crate) enum Applied {
    Done,
    /// Whether anything changed (TIME).
    Changed(bool),
    /// The replaced or removed notifier.
    Notifier(Option<NotifierCreds>),
    /// The record of the queue just deleted.
    Deleted(Box<QueueRecord>),
    /// The service id, and whether it was newly registered.
    Service(smp_proto::ids::EntityId, bool),
}

#[derive(Default)]
pub(crate) struct Inner {
    pub slots: Slab,
    hasher: RandomState,
    recipients: HashTable<u32>,
    senders: HashTable<u32>,
    pub notifiers: HashTable<u32>,
    links: HashTable<u32>,
    pub services: HashMap<smp_proto::ids::EntityId, ServiceEntry>,
    service_certs: HashMap<Vec<u8>, smp_proto::ids::EntityId>,
    pub live_queues: usize,
}

fn key_of(slot: &Slot, party: QueueParty) -> Option<&[u8]> {
    match party {
        QueueParty::Recipient => Some(slot.recipient_id()),
        QueueParty::Sender => (!slot.is_deleted()).then(|| slot.sender_id()),
        QueueParty::Notifier => slot.notifier_id(),
        QueueParty::Link => slot.link_id(),
    }
}

impl Inner {
    fn table(&self, party: QueueParty) -> &HashTable<u32> {
        match party {
            QueueParty::Recipient => &self.recipients,
            QueueParty::Sender => &self.senders,
            QueueParty::Notifier => &self.notifiers,
            QueueParty::Link => &self.links,
        }
    }

    /// The slot indexed under `id` in `party`'s id space, live or deleted.
    pub fn find_any(&self, party: QueueParty, id: &[u8]) -> Option<u32> {
        self.find_hashed(party, id, self.hasher.hash_one(id))
    }

    /// [`Inner::find_any`] with the id's hash already computed (by [`IdHashes::of`]).
    fn find_hashed(&self, party: QueueParty, id: &[u8], hash: u64) -> Option<u32> {
        let slots = &self.slots;
        self.table(party)
            .find(hash, |&number| {
                slots.get(number).and_then(|slot| key_of(slot, party)) == Some(id)
            })
            .copied()
    }

    /// The live queue's slot indexed under `id`.
    pub fn find_live(&self, party: QueueParty, id: &[u8]) -> Option<u32> {
        self.find_any(party, id).filter(|&number| {
            self.slots
                .get(number)
                .is_some_and(|slot| !slot.is_deleted())
        })
    }

    /// Makes room for `queues` more queues (in the slab and the recipient and sender indexes),
    /// `notifiers` more notifier ids and `links` more link ids at once, so that a replay does not
    /// rehash every id each time an index doubles.
    pub fn reserve(&mut self, queues: usize, notifiers: usize, links: usize) {
        let Inner {
            slots,
            hasher,
            recipients,
            senders,
            notifiers: notifier_table,
            links: link_table,
            ..
        } = self;
        slots.reserve(queues);
        for (table, party, additional) in [
            (recipients, QueueParty::Recipient, queues),
            (senders, QueueParty::Sender, queues),
            (notifier_table, QueueParty::Notifier, notifiers),
            (link_table, QueueParty::Link, links),
        ] {
            table.reserve(additional, |&other| {
                hasher.hash_one(
                    slots
                        .get(other)
                        .and_then(|slot| key_of(slot, party))
                        .unwrap_or_default(),
                )
            });
        }
    }

    /// The keyed hasher of the id indexes, for hashing ids ahead on other threads.
    pub fn hasher(&self) -> &RandomState {
        &self.hasher
    }

    fn index_insert(&mut self, party: QueueParty, number: u32) {
        let hash = match self.slots.get(number).and_then(|slot| key_of(slot, party)) {
            Some(id) => self.hasher.hash_one(id),
            None => return,
        };
        self.index_insert_hashed(party, number, hash);
    }

    /// Indexes `number` under its id in `party`'s space, whose hash is `hash`.
    fn index_insert_hashed(&mut self, party: QueueParty, number: u32, hash: u64) {
        let Inner {
            slots,
            hasher,
            recipients,
            senders,
            notifiers,
            links,
            ..
        } = self;
        let table = match party {
            QueueParty::Recipient => recipients,
            QueueParty::Sender => senders,
            QueueParty::Notifier => notifiers,
            QueueParty::Link => links,
        };
        table.insert_unique(hash, number, |&other| {
            hasher.hash_one(
                slots
                    .get(other)
                    .and_then(|slot| key_of(slot, party))
                    .unwrap_or_default(),
            )
        });
    }

    /// Removes `number`'s entry in `party`'s index; call before the slot loses that id.
    fn index_remove(&mut self, party: QueueParty, number: u32) {
        let Inner {
            slots,
            hasher,
            recipients,
            senders,
            notifiers,
            links,
            ..
        } = self;
        let table = match party {
            QueueParty::Recipient => recipients,
            QueueParty::Sender => senders,
            QueueParty::Notifier => notifiers,
            QueueParty::Link => links,
        };
        let Some(id) = slots.get(number).and_then(|slot| key_of(slot, party)) else {
            return;
        };
        let hash = hasher.hash_one(id);
        if let Ok(entry) = table.find_entry(hash, |&other| other == number) {
            entry.remove();
        }
    }

    fn service_sets(
        &mut self,
        party: ServiceParty,
        service_id: Option<&smp_proto::ids::EntityId>,
    ) -> Option<&mut HashSet<u32>> {
        let service = self.services.get_mut(service_id?)?;
        Some(match party {
            ServiceParty::Recipient => &mut service.recipient_queues,
            ServiceParty::Notifier => &mut service.notifier_queues,
        })
    }

    /// Removes the queue's notifier from the index and its service (`removeNotifier`).
    fn remove_notifier(&mut self, number: u32, record: &QueueRecord) {
        if let Some(notifier) = &record.notifier {
            self.index_remove(QueueParty::Notifier, number);
            if let Some(set) =
                self.service_sets(ServiceParty::Notifier, notifier.service_id.as_ref())
            {
                set.remove(&number);
            }
        }
    }

    fn live_record(&self, recipient_id: &[u8]) -> Result<(u32, QueueRecord), StoreError> {
        let number = self
            .find_live(QueueParty::Recipient, recipient_id)
            .ok_or(StoreError::Auth)?;
        let slot = self.slots.get(number).ok_or(StoreError::Auth)?;
        Ok((number, slot.record()))
    }

    fn store(&mut self, number: u32, record: &QueueRecord) {
        if let Some(slot) = self.slots.get_mut(number) {
            slot.replace(record);
        }
    }
}

/// Applies one change (the `QueueStore/STM.hs` function named in each arm).
pub(crate) fn apply(inner: &mut Inner, record: &StoreLogRecord) -> Result<Applied, StoreError> {
    match record {
        // addQueue_
        StoreLogRecord::CreateQueue {
            recipient_id,
            queue,
        } => {
            let slot = Slot::new(recipient_id.as_bytes(), queue);
            let hashes = IdHashes::of(&inner.hasher, &slot);
            add_queue(inner, slot, &hashes)
        }
        // addQueueLinkData (the LSET checks on the queue state are in QueueStore::set_link_data)
        StoreLogRecord::CreateLink {
            recipient_id,
            link_id,
            data,
        } => {
            let (number, mut queue) = inner.live_record(recipient_id.as_bytes())?;
            match &queue.link {
                None => {}
                Some((stored, stored_data))
                    if stored == link_id && stored_data.fixed == data.fixed => {}
                Some(_) => return Err(StoreError::Auth),
            }
            // Deliberately stricter than the reference: a link id of another queue is refused
            // rather than taken over.
            if inner
                .find_any(QueueParty::Link, link_id.as_bytes())
                .is_some_and(|other| other != number)
            {
                return Err(StoreError::Auth);
            }
            inner.index_remove(QueueParty::Link, number);
            queue.link = Some((link_id.clone(), data.clone()));
            inner.store(number, &queue);
            inner.index_insert(QueueParty::Link, number);
            Ok(Applied::Done)
        }
        // deleteQueueLinkData
        StoreLogRecord::DeleteLink { recipient_id } => {
            let (number, mut queue) = inner.live_record(recipient_id.as_bytes())?;
            if queue.link.is_some() {
                inner.index_remove(QueueParty::Link, number);
                queue.link = None;
                inner.store(number, &queue);
            }
            Ok(Applied::Done)
        }
        // secureQueue
        StoreLogRecord::SecureQueue {
            recipient_id,
            sender_key,
        } => {
            let (number, mut queue) = inner.live_record(recipient_id.as_bytes())?;
            match queue.sender_key {
                Some(stored) if stored == *sender_key => Ok(Applied::Done),
                Some(_) => Err(StoreError::Auth),
                None => {
                    queue.sender_key = Some(*sender_key);
                    inner.store(number, &queue);
                    Ok(Applied::Done)
                }
            }
        }
        // updateKeys
        StoreLogRecord::UpdateKeys { recipient_id, keys } => {
            let (number, mut queue) = inner.live_record(recipient_id.as_bytes())?;
            queue.recipient_keys = keys.clone();
            inner.store(number, &queue);
            Ok(Applied::Done)
        }
        // addQueueNotifier: the new notifier is not added to its service's set (as the reference)
        StoreLogRecord::AddNotifier {
            recipient_id,
            notifier,
        } => {
            let (number, mut queue) = inner.live_record(recipient_id.as_bytes())?;
            if inner
                .find_any(QueueParty::Notifier, notifier.notifier_id.as_bytes())
                .is_some()
            {
                return Err(StoreError::Duplicate);
            }
            inner.remove_notifier(number, &queue);
            let previous = queue.notifier.replace(notifier.clone());
            inner.store(number, &queue);
            inner.index_insert(QueueParty::Notifier, number);
            Ok(Applied::Notifier(previous))
        }
        // deleteQueueNotifier
        StoreLogRecord::DeleteNotifier { recipient_id } => {
            let (number, mut queue) = inner.live_record(recipient_id.as_bytes())?;
            inner.remove_notifier(number, &queue);
            let previous = queue.notifier.take();
            if previous.is_some() {
                inner.store(number, &queue);
            }
            Ok(Applied::Notifier(previous))
        }
        // suspendQueue, blockQueue, unblockQueue (setStatus)
        StoreLogRecord::SuspendQueue { recipient_id } => {
            set_status(inner, recipient_id, QueueStatus::Off)
        }
        StoreLogRecord::BlockQueue { recipient_id, info } => {
            set_status(inner, recipient_id, QueueStatus::Blocked(*info))
        }
        StoreLogRecord::UnblockQueue { recipient_id } => {
            set_status(inner, recipient_id, QueueStatus::Active)
        }
        // deleteStoreQueue: the recipient and link ids stay indexed (and reserved) until restart
        StoreLogRecord::DeleteQueue { recipient_id } => {
            let (number, queue) = inner.live_record(recipient_id.as_bytes())?;
            inner.index_remove(QueueParty::Sender, number);
            inner.remove_notifier(number, &queue);
            if let Some(set) =
                inner.service_sets(ServiceParty::Recipient, queue.rcv_service_id.as_ref())
            {
                set.remove(&number);
            }
            if let Some(slot) = inner.slots.get_mut(number) {
                slot.mark_deleted();
            }
            inner.live_queues = inner.live_queues.saturating_sub(1);
            Ok(Applied::Deleted(Box::new(queue)))
        }
        // updateQueueTime
        StoreLogRecord::UpdateTime {
            recipient_id,
            updated_at,
        } => {
            let (number, mut queue) = inner.live_record(recipient_id.as_bytes())?;
            if queue.updated_at == Some(*updated_at) {
                return Ok(Applied::Changed(false));
            }
            queue.updated_at = Some(*updated_at);
            inner.store(number, &queue);
            Ok(Applied::Changed(true))
        }
        StoreLogRecord::NewService(service) => get_create_service(inner, service),
        StoreLogRecord::QueueService {
            recipient_id,
            party,
            service_id,
        } => set_queue_service(inner, recipient_id.as_bytes(), *party, service_id.as_ref()),
    }
}

/// The index hashes of a packed queue's ids, computed with the store's keyed hasher (by replay
/// workers ahead of applying, so that the applying thread only probes and inserts).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdHashes {
    recipient: u64,
    sender: u64,
    notifier: Option<u64>,
    link: Option<u64>,
}

impl IdHashes {
    /// The hashes of `slot`'s recipient, sender, notifier and link ids.
    pub fn of(hasher: &RandomState, slot: &Slot) -> IdHashes {
        IdHashes {
            recipient: hasher.hash_one(slot.recipient_id()),
            sender: hasher.hash_one(slot.sender_id()),
            notifier: slot.notifier_id().map(|id| hasher.hash_one(id)),
            link: slot.link_id().map(|id| hasher.hash_one(id)),
        }
    }
}

/// Where `id` (hashed to `hash`) goes in `party`'s index `table`, or `Duplicate` if it is there.
fn vacant<'t>(
    table: &'t mut HashTable<u32>,
    slots: &Slab,
    hasher: &RandomState,
    (party, id, hash): (QueueParty, &[u8], u64),
) -> Result<VacantEntry<'t, u32>, StoreError> {
    let entry = table.entry(
        hash,
        |&other| slots.get(other).and_then(|slot| key_of(slot, party)) == Some(id),
        |&other| {
            hasher.hash_one(
                slots
                    .get(other)
                    .and_then(|slot| key_of(slot, party))
                    .unwrap_or_default(),
            )
        },
    );
    match entry {
        Entry::Vacant(entry) => Ok(entry),
        Entry::Occupied(_) => Err(StoreError::Duplicate),
    }
}

/// `addQueue_`: adds the packed queue `slot` (its ids hashed into `hashes` by the same hasher),
/// or fails with `Duplicate` when any of its recipient, sender, notifier or link ids is taken.
pub(crate) fn add_queue(
    inner: &mut Inner,
    slot: Slot,
    hashes: &IdHashes,
) -> Result<Applied, StoreError> {
    let Inner {
        slots,
        hasher,
        recipients,
        senders,
        notifiers,
        links,
        ..
    } = inner;
    let number = u32::try_from(slots.len()).ok();
    // One probe each for the recipient and sender ids: finding them absent also finds where they
    // go. (The tables may grow here even when the queue is then refused; that changes nothing.)
    let recipient = vacant(
        recipients,
        slots,
        hasher,
        (QueueParty::Recipient, slot.recipient_id(), hashes.recipient),
    )?;
    let sender = vacant(
        senders,
        slots,
        hasher,
        (QueueParty::Sender, slot.sender_id(), hashes.sender),
    )?;
    let find =
        |table: &HashTable<u32>, party: QueueParty, id: Option<&[u8]>, hash: Option<u64>| match (
            id, hash,
        ) {
            (Some(id), Some(hash)) => table
                .find(hash, |&other| {
                    slots.get(other).and_then(|slot| key_of(slot, party)) == Some(id)
                })
                .is_some(),
            _ => false,
        };
    if find(
        notifiers,
        QueueParty::Notifier,
        slot.notifier_id(),
        hashes.notifier,
    ) || find(links, QueueParty::Link, slot.link_id(), hashes.link)
    {
        return Err(StoreError::Duplicate);
    }
    let number = number.ok_or_else(|| StoreError::Log("queue store is full".to_owned()))?;
    recipient.insert(number);
    sender.insert(number);
    let rcv_service = slot.rcv_service_id().cloned();
    let notifier_service = slot.notifier_service_id().cloned();
    slots.push(slot);
    for (party, hash) in [
        (QueueParty::Notifier, hashes.notifier),
        (QueueParty::Link, hashes.link),
    ] {
        if let Some(hash) = hash {
            inner.index_insert_hashed(party, number, hash);
        }
    }
    if let Some(set) = inner.service_sets(ServiceParty::Recipient, rcv_service.as_ref()) {
        set.insert(number);
    }
    if let Some(set) = inner.service_sets(ServiceParty::Notifier, notifier_service.as_ref()) {
        set.insert(number);
    }
    inner.live_queues += 1;
    Ok(Applied::Done)
}

fn set_status(
    inner: &mut Inner,
    recipient_id: &smp_proto::ids::EntityId,
    status: QueueStatus,
) -> Result<Applied, StoreError> {
    let (number, mut queue) = inner.live_record(recipient_id.as_bytes())?;
    queue.status = status;
    inner.store(number, &queue);
    Ok(Applied::Done)
}

/// `getCreateService`: looked up by certificate hash first.
fn get_create_service(inner: &mut Inner, service: &ServiceRecord) -> Result<Applied, StoreError> {
    if let Some(existing_id) = inner.service_certs.get(&service.cert_hash).cloned() {
        if let Some(existing) = inner.services.get(&existing_id) {
            return if existing.record.role == service.role {
                Ok(Applied::Service(existing.record.service_id.clone(), false))
            } else {
                Err(StoreError::Service)
            };
        }
    } else if inner.services.contains_key(&service.service_id) {
        return Err(StoreError::Duplicate);
    }
    inner.services.insert(
        service.service_id.clone(),
        ServiceEntry {
            record: service.clone(),
            recipient_queues: HashSet::new(),
            notifier_queues: HashSet::new(),
        },
    );
    inner
        .service_certs
        .insert(service.cert_hash.clone(), service.service_id.clone());
    Ok(Applied::Service(service.service_id.clone(), true))
}

/// `setQueueService`.
fn set_queue_service(
    inner: &mut Inner,
    recipient_id: &[u8],
    party: ServiceParty,
    service_id: Option<&smp_proto::ids::EntityId>,
) -> Result<Applied, StoreError> {
    let (number, mut queue) = inner.live_record(recipient_id)?;
    let previous = match party {
        ServiceParty::Recipient => queue.rcv_service_id.clone(),
        ServiceParty::Notifier => match &queue.notifier {
            None => return Err(StoreError::Auth),
            Some(notifier) => notifier.service_id.clone(),
        },
    };
    if previous.as_ref() == service_id {
        return Ok(Applied::Done);
    }
    if let Some(set) = inner.service_sets(party, previous.as_ref()) {
        set.remove(&number);
    }
    if let Some(set) = inner.service_sets(party, service_id) {
        set.insert(number);
    }
    match party {
        ServiceParty::Recipient => queue.rcv_service_id = service_id.cloned(),
        ServiceParty::Notifier => {
            if let Some(notifier) = queue.notifier.as_mut() {
                notifier.service_id = service_id.cloned();
            }
        }
    }
    inner.store(number, &queue);
    Ok(Applied::Done)
}
