//! Synthetic store logs for benchmarks: `CREATE` lines of secured messaging queues with
//! reproducible pseudo-random ids and keys, in the reference's syntax.

use crate::log_record::StoreLogRecord;
use crate::record::{NotifierCreds, QueueRecord, QueueStatus};
use smp_proto::command::QueueMode;
use smp_proto::crypto::DhSecret;
use smp_proto::ids::EntityId;
use smp_proto::keys::AuthKey;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// xorshift64*: reproducible filler bytes without a dependency.
struct Filler(u64);

impl Filler {
    fn fill<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
        out
    }
}

/// Writes a store log of `queues` secured messaging queues to `path`, the first
/// `notifier_percent` % of them with notifier credentials; returns the file size in bytes.
pub fn write_synthetic_store_log(
    path: &Path,
    queues: usize,
    notifier_percent: usize,
) -> io::Result<u64> {
    let mut filler = Filler(0x9e37_79b9_7f4a_7c15);
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let mut line = Vec::with_capacity(512);
    for index in 0..queues {
        let notifier = (index * 100 / queues.max(1) < notifier_percent).then(|| NotifierCreds {
            notifier_id: EntityId::from(filler.fill::<24>()),
            notifier_key: AuthKey::X25519(filler.fill()),
            rcv_ntf_dh_secret: DhSecret(filler.fill()),
            service_id: None,
        });
        let queue = QueueRecord {
            recipient_keys: vec![AuthKey::Ed25519(filler.fill())],
            rcv_dh_secret: DhSecret(filler.fill()),
            sender_id: EntityId::from(filler.fill::<24>()),
            sender_key: Some(AuthKey::Ed25519(filler.fill())),
            queue_mode: Some(QueueMode::Messaging),
            link: None,
            notifier,
            status: QueueStatus::Active,
            updated_at: Some(1_749_945_600),
            rcv_service_id: None,
        };
        let record = StoreLogRecord::CreateQueue {
            recipient_id: EntityId::from(filler.fill::<24>()),
            queue: Box::new(queue),
        };
        line.clear();
        record.encode(&mut line);
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.into_inner().map_err(|error| error.into_error())?;
    Ok(std::fs::metadata(path)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store_log::{replay_store_log, DamagePolicy};
    use crate::QueueStore;

    #[test]
    fn one_create_line_per_queue_and_the_requested_notifiers() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("store.log");
        let bytes = write_synthetic_store_log(&path, 20, 25).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(bytes, text.len() as u64);
        assert_eq!(text.lines().count(), 20);
        assert!(text.lines().all(|line| line.starts_with("CREATE rid=")));
        let store = QueueStore::new();
        replay_store_log(&path, &store, DamagePolicy::Strict).unwrap();
        assert_eq!(store.counts().queues, 20);
        assert_eq!(store.counts().notifiers, 5);
    }
}
