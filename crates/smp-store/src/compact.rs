//! The compact in-memory form of a queue record: one fixed 160-byte [`Slot`] per queue holding the
//! common case inline (24-byte ids, one 32-byte recipient key, a 32-byte sender key, the DH
//! secret, the day of the last update, mode and status), and an optional boxed [`Extra`] for
//! everything rarer (other id lengths, Ed448 or several recipient keys, link data, notifier,
//! blocking info, services). An idle ordinary queue therefore costs no heap allocation beyond its
//! slot.
//!
//! Slots live in a [`Slab`] of fixed-size chunks (no reallocation, no doubling overshoot); the
//! id indexes in [`crate::queue_store`] hold only slot numbers. Chunks are shared copy-on-write,
//! so a frozen copy of the slab (for a snapshot written in the background) costs one reference
//! count per chunk (taken with the store locked for writing), and a change after that copies only
//! the chunk it touches while the copy still uses it.

use crate::record::{NotifierCreds, QueueRecord, QueueStatus, SECONDS_PER_DAY};
use smp_proto::command::{QueueLinkData, QueueMode};
use smp_proto::crypto::DhSecret;
use smp_proto::error::BlockingInfo;
use smp_proto::ids::EntityId;
use smp_proto::keys::AuthKey;
use std::sync::Arc;

const KEY_NONE: u8 = 0;
const KEY_ED25519: u8 = 1;
const KEY_X25519: u8 = 2;
const KEY_IN_EXTRA: u8 = 3;

const MODE_MASK: u8 = 0b11;
const MODE_MESSAGING: u8 = 1;
const MODE_CONTACT: u8 = 2;
const STATUS_SHIFT: u8 = 2;
const STATUS_MASK: u8 = 0b11 << STATUS_SHIFT;
const STATUS_OFF: u8 = 1 << STATUS_SHIFT;
const STATUS_BLOCKED: u8 = 2 << STATUS_SHIFT;
const DELETED: u8 = 1 << 4;
const RECIPIENT_ID_IN_EXTRA: u8 = 1 << 5;
const SENDER_ID_IN_EXTRA: u8 = 1 << 6;

/// The usual id length (`ServerConfig.queueIdBytes = 24`).
pub const ID_LENGTH: usize = 24;

/// Rare parts of a queue record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Extra {
    recipient_id: Option<Box<[u8]>>,
    sender_id: Option<Box<[u8]>>,
    recipient_keys: Vec<AuthKey>,
    sender_key: Option<AuthKey>,
    link: Option<(EntityId, QueueLinkData)>,
    notifier: Option<NotifierCreds>,
    blocked: Option<BlockingInfo>,
    updated_at: Option<i64>,
    rcv_service_id: Option<EntityId>,
}

impl Extra {
    fn is_empty(&self) -> bool {
        *self == Extra::default()
    }
}

/// One queue (live or deleted) in compact form.
#[derive(Debug, Clone)]
pub struct Slot {
    recipient_id: [u8; ID_LENGTH],
    sender_id: [u8; ID_LENGTH],
    rcv_dh_secret: [u8; 32],
    recipient_key: [u8; 32],
    sender_key: [u8; 32],
    /// 0 = none, else the day number + 1 (when the value is a whole day; else it is in `extra`).
    updated_day: u32,
    recipient_key_kind: u8,
    sender_key_kind: u8,
    /// Mode, status and flag bits (the constants above).
    state: u8,
    extra: Option<Box<Extra>>,
}

fn short_key(key: &AuthKey) -> Option<(u8, [u8; 32])> {
    match key {
        AuthKey::Ed25519(raw) => Some((KEY_ED25519, *raw)),
        AuthKey::X25519(raw) => Some((KEY_X25519, *raw)),
        AuthKey::Ed448(_) => None,
    }
}

fn long_key(kind: u8, raw: &[u8; 32]) -> Option<AuthKey> {
    match kind {
        KEY_ED25519 => Some(AuthKey::Ed25519(*raw)),
        KEY_X25519 => Some(AuthKey::X25519(*raw)),
        _ => None,
    }
}

impl Slot {
    /// Packs `record` for the queue `recipient_id`.
    pub fn new(recipient_id: &[u8], record: &QueueRecord) -> Slot {
        let mut extra = Extra::default();
        let mut state = match record.queue_mode {
            None => 0,
            Some(QueueMode::Messaging) => MODE_MESSAGING,
            Some(QueueMode::Contact) => MODE_CONTACT,
        };
        let mut slot_recipient_id = [0u8; ID_LENGTH];
        if recipient_id.len() == ID_LENGTH {
            slot_recipient_id.copy_from_slice(recipient_id);
        } else {
            state |= RECIPIENT_ID_IN_EXTRA;
            extra.recipient_id = Some(recipient_id.into());
        }
        let mut slot_sender_id = [0u8; ID_LENGTH];
        if record.sender_id.as_bytes().len() == ID_LENGTH {
            slot_sender_id.copy_from_slice(record.sender_id.as_bytes());
        } else {
            state |= SENDER_ID_IN_EXTRA;
            extra.sender_id = Some(record.sender_id.as_bytes().into());
        }
        let (recipient_key_kind, recipient_key) = match record.recipient_keys.as_slice() {
            [only] => short_key(only),
            _ => None,
        }
        .unwrap_or_else(|| {
            extra.recipient_keys = record.recipient_keys.clone();
            (KEY_IN_EXTRA, [0; 32])
        });
        let (sender_key_kind, sender_key) = match &record.sender_key {
            None => (KEY_NONE, [0; 32]),
            Some(key) => short_key(key).unwrap_or_else(|| {
                extra.sender_key = Some(*key);
                (KEY_IN_EXTRA, [0; 32])
            }),
        };
        match record.status {
            QueueStatus::Active => {}
            QueueStatus::Off => state |= STATUS_OFF,
            QueueStatus::Blocked(info) => {
                state |= STATUS_BLOCKED;
                extra.blocked = Some(info);
            }
        }
        let updated_day = match record.updated_at {
            None => 0,
            Some(seconds) => match u32::try_from(seconds / SECONDS_PER_DAY + 1) {
                Ok(day) if seconds % SECONDS_PER_DAY == 0 && seconds >= 0 && day != u32::MAX => day,
                _ => {
                    extra.updated_at = Some(seconds);
                    0
                }
            },
        };
        extra.link = record.link.clone();
        extra.notifier = record.notifier.clone();
        extra.rcv_service_id = record.rcv_service_id.clone();
        Slot {
            recipient_id: slot_recipient_id,
            sender_id: slot_sender_id,
            rcv_dh_secret: record.rcv_dh_secret.0,
            recipient_key,
            sender_key,
            updated_day,
            recipient_key_kind,
            sender_key_kind,
            state,
            extra: (!extra.is_empty()).then(|| Box::new(extra)),
        }
    }

    /// Unpacks the record.
    pub fn record(&self) -> QueueRecord {
        let extra = self.extra.as_deref();
        let recipient_keys = match long_key(self.recipient_key_kind, &self.recipient_key) {
            Some(key) => vec![key],
            None => extra.map(|e| e.recipient_keys.clone()).unwrap_or_default(),
        };
        let sender_key = match self.sender_key_kind {
            KEY_NONE => None,
            KEY_IN_EXTRA => extra.and_then(|e| e.sender_key),
            kind => long_key(kind, &self.sender_key),
        };
        let status = match self.state & STATUS_MASK {
            STATUS_OFF => QueueStatus::Off,
            STATUS_BLOCKED => extra
                .and_then(|e| e.blocked)
                .map_or(QueueStatus::Active, QueueStatus::Blocked),
            _ => QueueStatus::Active,
        };
        let queue_mode = match self.state & MODE_MASK {
            MODE_MESSAGING => Some(QueueMode::Messaging),
            MODE_CONTACT => Some(QueueMode::Contact),
            _ => None,
        };
        let updated_at = if self.updated_day == 0 {
            extra.and_then(|e| e.updated_at)
        } else {
            Some((i64::from(self.updated_day) - 1) * SECONDS_PER_DAY)
        };
        QueueRecord {
            recipient_keys,
            rcv_dh_secret: DhSecret(self.rcv_dh_secret),
            // Lengths come from EntityId values when packing, so they are at most 255 bytes.
            sender_id: EntityId::new(self.sender_id().to_vec()).unwrap_or_default(),
            sender_key,
            queue_mode,
            link: extra.and_then(|e| e.link.clone()),
            notifier: extra.and_then(|e| e.notifier.clone()),
            status,
            updated_at,
            rcv_service_id: extra.and_then(|e| e.rcv_service_id.clone()),
        }
    }

    /// Replaces the record, keeping the recipient id and the deleted flag.
    pub fn replace(&mut self, record: &QueueRecord) {
        let deleted = self.state & DELETED;
        let mut next = Slot::new(self.recipient_id(), record);
        next.state |= deleted;
        *self = next;
    }

    pub fn recipient_id(&self) -> &[u8] {
        match self
            .extra
            .as_deref()
            .and_then(|e| e.recipient_id.as_deref())
        {
            Some(id) if self.state & RECIPIENT_ID_IN_EXTRA != 0 => id,
            _ => &self.recipient_id,
        }
    }

    pub fn sender_id(&self) -> &[u8] {
        match self.extra.as_deref().and_then(|e| e.sender_id.as_deref()) {
            Some(id) if self.state & SENDER_ID_IN_EXTRA != 0 => id,
            _ => &self.sender_id,
        }
    }

    pub fn notifier_id(&self) -> Option<&[u8]> {
        self.extra
            .as_deref()
            .and_then(|e| e.notifier.as_ref())
            .map(|n| n.notifier_id.as_bytes())
    }

    pub fn link_id(&self) -> Option<&[u8]> {
        self.extra
            .as_deref()
            .and_then(|e| e.link.as_ref())
            .map(|(id, _)| id.as_bytes())
    }

    /// `rsrv=`: the messaging service the recipient subscribes through.
    pub fn rcv_service_id(&self) -> Option<&EntityId> {
        self.extra
            .as_deref()
            .and_then(|e| e.rcv_service_id.as_ref())
    }

    /// `nsrv=`: the service the notifier is associated with.
    pub fn notifier_service_id(&self) -> Option<&EntityId> {
        self.extra
            .as_deref()
            .and_then(|e| e.notifier.as_ref())
            .and_then(|n| n.service_id.as_ref())
    }

    pub fn is_deleted(&self) -> bool {
        self.state & DELETED != 0
    }

    /// Marks the queue deleted; its recipient and link ids stay reserved (as the reference's
    /// in-memory store keeps them until restart).
    pub fn mark_deleted(&mut self) {
        self.state |= DELETED;
    }

    /// The day-rounded update time, cheaply.
    pub fn updated_at(&self) -> Option<i64> {
        if self.updated_day == 0 {
            self.extra.as_deref().and_then(|e| e.updated_at)
        } else {
            Some((i64::from(self.updated_day) - 1) * SECONDS_PER_DAY)
        }
    }
}

/// Slots per chunk of the slab.
const CHUNK: usize = 4096;

/// A chunk's slots behind a reference count, shared with frozen copies.
#[derive(Debug)]
struct SharedChunk(Vec<Slot>);

impl Clone for SharedChunk {
    /// A copy made when a shared chunk is changed: room for a whole chunk again, so that pushing
    /// into a copied last chunk does not reallocate.
    fn clone(&self) -> Self {
        let mut slots = Vec::with_capacity(CHUNK.max(self.0.len()));
        slots.extend_from_slice(&self.0);
        SharedChunk(slots)
    }
}

/// One chunk of the slab: up to [`CHUNK`] slots, allocated for all of them at once; owned (no
/// reference count to touch when changing it) until a frozen copy shares it.
#[derive(Debug)]
enum Chunk {
    Owned(Vec<Slot>),
    Shared(Arc<SharedChunk>),
}

impl Chunk {
    fn slots(&self) -> &[Slot] {
        match self {
            Chunk::Owned(slots) => slots,
            Chunk::Shared(shared) => &shared.0,
        }
    }

    /// The slots for changing: a shared chunk becomes owned again, copied only if a frozen copy
    /// still uses it.
    fn owned(&mut self) -> &mut Vec<Slot> {
        if let Chunk::Shared(shared) = self {
            let slots = std::mem::take(&mut Arc::make_mut(shared).0);
            *self = Chunk::Owned(slots);
        }
        match self {
            Chunk::Owned(slots) => slots,
            // Not reached: made owned just above.
            Chunk::Shared(shared) => &mut Arc::make_mut(shared).0,
        }
    }

    /// Shares the chunk (moving owned slots behind a reference count, without copying them).
    fn share(&mut self) -> Chunk {
        let shared = match std::mem::replace(self, Chunk::Owned(Vec::new())) {
            Chunk::Owned(slots) => Arc::new(SharedChunk(slots)),
            Chunk::Shared(shared) => shared,
        };
        *self = Chunk::Shared(Arc::clone(&shared));
        Chunk::Shared(shared)
    }
}

/// Append-only storage of slots addressed by `u32` numbers.
#[derive(Debug, Default)]
pub struct Slab {
    chunks: Vec<Chunk>,
    length: usize,
}

impl Slab {
    pub fn len(&self) -> usize {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// A frozen copy, in O(chunks): every chunk is shared with it, and a later change to either
    /// side copies the chunk it touches while the other still uses it.
    pub fn freeze(&mut self) -> Slab {
        Slab {
            chunks: self.chunks.iter_mut().map(Chunk::share).collect(),
            length: self.length,
        }
    }

    /// Appends a slot; `None` when the `u32` numbering is exhausted.
    pub fn push(&mut self, slot: Slot) -> Option<u32> {
        let number = u32::try_from(self.length).ok()?;
        match self.chunks.last_mut() {
            Some(chunk) if chunk.slots().len() < CHUNK => chunk.owned().push(slot),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(slot);
                self.chunks.push(Chunk::Owned(chunk));
            }
        }
        self.length += 1;
        Some(number)
    }

    pub fn get(&self, number: u32) -> Option<&Slot> {
        let number = number as usize;
        self.chunks.get(number / CHUNK)?.slots().get(number % CHUNK)
    }

    pub fn get_mut(&mut self, number: u32) -> Option<&mut Slot> {
        let number = number as usize;
        let chunk = self.chunks.get_mut(number / CHUNK)?;
        if number % CHUNK >= chunk.slots().len() {
            return None;
        }
        chunk.owned().get_mut(number % CHUNK)
    }

    /// Makes room to number `additional` more slots without growing the chunk list.
    pub fn reserve(&mut self, additional: usize) {
        self.chunks.reserve(
            (self.length + additional)
                .div_ceil(CHUNK)
                .saturating_sub(self.chunks.len()),
        );
    }

    /// All slots with their numbers.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Slot)> {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.slots().iter())
            .enumerate()
            .map(|(number, slot)| (number as u32, slot))
    }

    /// Chunks shared with a frozen copy (for tests of the copy-on-write).
    #[cfg(test)]
    fn shared_chunks(&self) -> usize {
        self.chunks
            .iter()
            .filter(|chunk| matches!(chunk, Chunk::Shared(shared) if Arc::strong_count(shared) > 1))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> QueueRecord {
        QueueRecord {
            recipient_keys: vec![AuthKey::Ed25519([1; 32])],
            rcv_dh_secret: DhSecret([2; 32]),
            sender_id: EntityId::from([3; 24]),
            sender_key: None,
            queue_mode: Some(QueueMode::Messaging),
            link: None,
            notifier: None,
            status: QueueStatus::Active,
            updated_at: Some(20_000 * SECONDS_PER_DAY),
            rcv_service_id: None,
        }
    }

    #[test]
    fn slot_is_small() {
        assert!(
            std::mem::size_of::<Slot>() <= 160,
            "{}",
            std::mem::size_of::<Slot>()
        );
    }

    #[test]
    fn common_queue_has_no_extra() {
        let slot = Slot::new(&[9; 24], &record());
        assert!(slot.extra.is_none());
        assert_eq!(slot.record(), record());
        assert_eq!(slot.recipient_id(), &[9; 24]);
    }

    #[test]
    fn rare_parts_round_trip() {
        let mut rare = record();
        rare.recipient_keys = vec![AuthKey::Ed448([4; 57]), AuthKey::X25519([5; 32])];
        rare.sender_key = Some(AuthKey::Ed448([6; 57]));
        rare.sender_id = EntityId::new(vec![7; 5]).unwrap();
        rare.status = QueueStatus::Blocked(BlockingInfo {
            reason: smp_proto::error::BlockingReason::Spam,
            notice: None,
        });
        rare.updated_at = Some(12345);
        rare.queue_mode = None;
        let slot = Slot::new(b"short", &rare);
        assert_eq!(slot.record(), rare);
        assert_eq!(slot.recipient_id(), b"short");
        assert_eq!(slot.sender_id(), &[7; 5]);
        rare.status = QueueStatus::Off;
        rare.updated_at = None;
        assert_eq!(Slot::new(b"short", &rare).record(), rare);
    }

    #[test]
    fn frozen_copy_keeps_its_slots_and_changes_copy_one_chunk() {
        let mut slab = Slab::default();
        for n in 0..(CHUNK as u32 * 2 + 10) {
            slab.push(Slot::new(&n.to_be_bytes().repeat(6), &record()));
        }
        let frozen = slab.freeze();
        assert_eq!(slab.shared_chunks(), 3);
        slab.get_mut(5).unwrap().mark_deleted();
        slab.push(Slot::new(&[7; 24], &record()));
        // The first chunk (changed) and the last (pushed into) were copied; the middle one is
        // still shared.
        assert_eq!(slab.shared_chunks(), 1);
        assert!(slab.get(5).unwrap().is_deleted());
        assert!(!frozen.get(5).unwrap().is_deleted());
        assert_eq!(frozen.len() + 1, slab.len());
        assert!(frozen.get(frozen.len() as u32).is_none());
        assert_eq!(slab.iter().count(), slab.len());
        assert_eq!(
            frozen.iter().filter(|(_, slot)| slot.is_deleted()).count(),
            0
        );
        assert!(slab.get_mut(slab.len() as u32).is_none());
        // Once the frozen copy is gone, a change takes a chunk back without copying it.
        drop(frozen);
        let before = slab.get(CHUNK as u32 + 1).unwrap() as *const Slot;
        slab.get_mut(CHUNK as u32 + 1).unwrap().mark_deleted();
        assert_eq!(slab.get(CHUNK as u32 + 1).unwrap() as *const Slot, before);
        assert_eq!(slab.shared_chunks(), 0);
    }
}
