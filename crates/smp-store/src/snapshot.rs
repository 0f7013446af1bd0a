//! A frozen copy of what a compaction writes (`writeQueueStore`): the service records and the
//! slab of queue slots, taken in O(chunks) under the store's write lock (the slab's chunks are
//! then shared copy-on-write, see [`crate::compact::Slab::freeze`]), and encoded without any
//! lock while the live store goes on changing.

use crate::compact::{Slab, Slot};
use crate::log_record::StoreLogRecord;
use crate::record::ServiceRecord;
use smp_proto::ids::EntityId;
use std::sync::mpsc;

/// Queues encoded per thread and step when writing a snapshot.
const SNAPSHOT_PART: usize = 4096;

/// The snapshot lines of one part and how many records they are.
type EncodedPart = (Vec<u8>, usize);

/// The state of a [`crate::QueueStore`] at one instant, for writing a compacted store log.
#[derive(Debug, Default)]
pub struct StoreSnapshot {
    /// Sorted by service id.
    services: Vec<ServiceRecord>,
    slots: Slab,
}

impl StoreSnapshot {
    /// Takes `services` (sorted here) and `slots` (a frozen copy of the slab).
    pub(crate) fn new(mut services: Vec<ServiceRecord>, slots: Slab) -> StoreSnapshot {
        services.sort_by(|a, b| a.service_id.cmp(&b.service_id));
        StoreSnapshot { services, slots }
    }

    /// The lines of a compacted store log (each record and its `\n`): services by id, then live
    /// queues by recipient id (raw bytes), encoded on `workers` threads and handed to `write` in
    /// order, a few thousand lines at a time. Returns the number of records; an error from
    /// `write` stops the encoding.
    pub fn write_lines<E>(
        &self,
        workers: usize,
        mut write: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut count = 0;
        let mut line = Vec::new();
        for service in &self.services {
            line.clear();
            StoreLogRecord::NewService(service.clone()).encode(&mut line);
            line.push(b'\n');
            write(&line)?;
            count += 1;
        }
        // Sorted by recipient id: first by an 8-byte big-endian prefix kept in the vector (no
        // pointer chasing for almost every comparison), then by the whole id.
        let slots = &self.slots;
        let id_of = |number: u32| slots.get(number).map_or(&[][..], Slot::recipient_id);
        let mut live: Vec<(u64, u32)> = slots
            .iter()
            .filter(|(_, slot)| !slot.is_deleted())
            .map(|(number, slot)| {
                let mut prefix = [0u8; 8];
                let id = slot.recipient_id();
                let length = id.len().min(8);
                prefix[..length].copy_from_slice(&id[..length]);
                (u64::from_be_bytes(prefix), number)
            })
            .collect();
        live.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| id_of(a.1).cmp(id_of(b.1))));
        let encode = |part: &[(u64, u32)]| {
            let mut out = Vec::with_capacity(part.len() * 320);
            let mut records = 0;
            for &(_, number) in part {
                let Some(slot) = slots.get(number) else {
                    continue;
                };
                let Ok(recipient_id) = EntityId::new(slot.recipient_id().to_vec()) else {
                    continue;
                };
                StoreLogRecord::CreateQueue {
                    recipient_id,
                    queue: Box::new(slot.record()),
                }
                .encode(&mut out);
                out.push(b'\n');
                records += 1;
            }
            (out, records)
        };
        // Encoder `w` encodes parts w, w + workers, ... ahead into its own small channel; this
        // thread takes the parts from the encoders in turn and writes them, so writing overlaps
        // encoding and at most a few parts per encoder wait in memory.
        let workers = workers.max(1);
        let parts: Vec<&[(u64, u32)]> = live.chunks(SNAPSHOT_PART).collect();
        std::thread::scope(|scope| {
            let encoders: Vec<Option<mpsc::Receiver<EncodedPart>>> = (0..workers)
                .map(|worker| {
                    let (sender, receiver) = mpsc::sync_channel(1);
                    let (parts, encode) = (&parts, &encode);
                    std::thread::Builder::new()
                        .name("smp-snapshot".into())
                        .spawn_scoped(scope, move || {
                            for part in parts.iter().skip(worker).step_by(workers) {
                                if sender.send(encode(part)).is_err() {
                                    return;
                                }
                            }
                        })
                        .ok()
                        .map(|_| receiver)
                })
                .collect();
            for (index, part) in parts.iter().enumerate() {
                // No thread to be had (or it died, which the scope reports): encode here.
                let (bytes, records) = encoders
                    .get(index % workers)
                    .and_then(|encoder| encoder.as_ref()?.recv().ok())
                    .unwrap_or_else(|| encode(part));
                write(&bytes)?;
                count += records;
            }
            Ok(())
        })?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use crate::log_record::tests::{id, plain_queue};
    use crate::record::{QueueParty, QueueStatus, ServiceRecord, ServiceRole};
    use crate::QueueStore;
    use smp_proto::ids::EntityId;

    fn lines(snapshot: &super::StoreSnapshot) -> Vec<u8> {
        let mut out = Vec::new();
        snapshot
            .write_lines::<()>(2, |bytes| {
                out.extend_from_slice(bytes);
                Ok(())
            })
            .unwrap();
        out
    }

    fn service(n: u8) -> ServiceRecord {
        ServiceRecord {
            service_id: id(n),
            role: ServiceRole::Messaging,
            certificates: vec![vec![n; 3]],
            cert_hash: vec![n; 4],
            created_at: 1_700_000_000,
        }
    }

    #[test]
    fn snapshot_keeps_the_state_it_was_taken_in() {
        let store = QueueStore::new();
        // More than one slab chunk, so that some chunks are copied and others stay shared.
        for n in 0..5000u32 {
            let mut recipient = [1u8; 24];
            recipient[..4].copy_from_slice(&n.to_be_bytes());
            let mut queue = plain_queue(0);
            let mut sender = [2u8; 24];
            sender[..4].copy_from_slice(&n.to_be_bytes());
            queue.sender_id = EntityId::from(sender);
            store.add_queue(EntityId::from(recipient), queue).unwrap();
        }
        store.get_create_service(service(200)).unwrap();
        let before = store.snapshot();
        let encoded_before = lines(&before);
        let mut first = [1u8; 24];
        first[..4].copy_from_slice(&0u32.to_be_bytes());
        let first = EntityId::from(first);
        store.suspend_queue(&first).unwrap();
        let mut last = [1u8; 24];
        last[..4].copy_from_slice(&4999u32.to_be_bytes());
        store.delete_queue(&EntityId::from(last)).unwrap();
        store.add_queue(id(250), plain_queue(251)).unwrap();
        store.update_time(&first, 86_400).unwrap();
        store.get_create_service(service(201)).unwrap();

        // The frozen copy still encodes the old state, byte for byte.
        assert_eq!(lines(&before), encoded_before);
        // A new snapshot encodes the new state, the same lines as the record by record walk.
        let mut expected = Vec::new();
        store.snapshot_records(|record| {
            expected.extend(record.to_line());
            expected.push(b'\n');
        });
        let after = lines(&store.snapshot());
        assert_eq!(after, expected);
        assert_ne!(after, encoded_before);
        let text = String::from_utf8(encoded_before).unwrap();
        assert_eq!(text.lines().count(), 5001);
        assert!(!text.contains("status=off"));
        assert_eq!(
            store
                .queue(QueueParty::Recipient, first.as_bytes())
                .unwrap()
                .1
                .status,
            QueueStatus::Off
        );
    }
}
