//! The reader half of a connection (`Server.hs: receive`): one received block becomes one group of
//! verified commands for the processor and one job of error responses for the writer.

use super::processor::{Session, Transmission, VerifiedCommand};
use super::verify::{verify_transmission, SessionVerifier};
use crate::store::{QueueRecord, Store};
use smp_proto::block::decode_batch;
use smp_proto::command::{Command, Party};
use smp_proto::error::ErrorType;
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::response::Response;
use smp_proto::transmission::{decode_server, SignedCommand};
use std::sync::OnceLock;

/// What one block turns into.
#[derive(Debug, Default)]
pub struct ReceivedBlock {
    /// Verified commands, in order (`rcvQ` item).
    pub commands: Vec<VerifiedCommand>,
    /// Decoding and verification errors, in order (sent as one job).
    pub errors: Vec<Transmission>,
}

/// `ERR BLOCK` with empty ids: the answer to a block that cannot be decrypted, un-padded or
/// un-batched.
pub fn block_error() -> Transmission {
    (
        CorrId::empty(),
        EntityId::empty(),
        Response::Err(ErrorType::Block),
    )
}

/// Blocks with at least this many transmissions per thread are verified on several threads.
const PARALLEL_VERIFY_MIN: usize = 8;

/// Threads available for verification (read once).
fn verify_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// Verifies every transmission, results in order. Large blocks (a client re-subscribing many
/// queues) are split into contiguous chunks verified on scoped threads, the first chunk on this
/// one: each transmission is still verified on its own, with the same dummy verifications for
/// missing queues, so answers and their timing per transmission do not change — only one
/// block's signatures (≈ 45 µs each for Ed25519) no longer queue up on one core.
fn verify_all(
    store: &dyn Store,
    verifier: &SessionVerifier<'_>,
    parsed: &[SignedCommand],
) -> Vec<Result<Option<QueueRecord>, ErrorType>> {
    let verify_chunk = |chunk: &[SignedCommand]| -> Vec<_> {
        chunk
            .iter()
            .map(|signed| verify_transmission(store, verifier, signed))
            .collect()
    };
    let threads = verify_threads().min(parsed.len() / PARALLEL_VERIFY_MIN);
    if threads <= 1 {
        return verify_chunk(parsed);
    }
    let chunk_length = parsed.len().div_ceil(threads);
    let mut outcomes = Vec::with_capacity(parsed.len());
    std::thread::scope(|scope| {
        let mut chunks = parsed.chunks(chunk_length);
        let first = chunks.next().unwrap_or_default();
        let others: Vec<_> = chunks
            .map(|chunk| {
                let thread = std::thread::Builder::new().name("smp-verify".into());
                (
                    chunk,
                    thread.spawn_scoped(scope, move || verify_chunk(chunk)),
                )
            })
            .collect();
        outcomes.extend(verify_chunk(first));
        for (chunk, spawned) in others {
            match spawned.map(|thread| thread.join()) {
                Ok(Ok(part)) => outcomes.extend(part),
                // Verification does not panic; if it did, fail this connection as inline.
                Ok(Err(payload)) => std::panic::resume_unwind(payload),
                // No thread to be had (a resource limit): verify here.
                Err(_) => outcomes.extend(verify_chunk(chunk)),
            }
        }
    });
    outcomes
}

impl Session {
    /// Decodes and verifies the transmissions of one block's content.
    pub fn receive_block(&self, content: &[u8]) -> ReceivedBlock {
        let mut received = ReceivedBlock::default();
        let Ok(batch) = decode_batch(content) else {
            received.errors.push(block_error());
            return received;
        };
        let verifier = SessionVerifier {
            server_key: &self.server_key,
        };
        let store = self.state.store.as_ref();
        let mut parsed = Vec::with_capacity(batch.len());
        for bytes in &batch {
            match decode_server(self.params(), bytes) {
                Ok(signed) => parsed.push(signed),
                Err(rejected) => received.errors.push((
                    rejected.corr_id,
                    rejected.entity_id,
                    Response::Err(rejected.error),
                )),
            }
        }
        self.count_batch(&parsed);
        let outcomes = verify_all(store, &verifier, &parsed);
        for (signed, outcome) in parsed.into_iter().zip(outcomes) {
            match outcome {
                Ok(queue) => received.commands.push(VerifiedCommand {
                    queue,
                    corr_id: signed.corr_id,
                    entity_id: signed.entity_id,
                    command: signed.command,
                }),
                Err(error) => {
                    if error == ErrorType::Auth {
                        self.count_auth_failure(&signed.command);
                    }
                    received
                        .errors
                        .push((signed.corr_id, signed.entity_id, Response::Err(error)))
                }
            }
        }
        received
    }

    /// `receive: updateBatchStats`: a block of several recipient (or notifier) commands counts
    /// as one batch of its first command's kind.
    fn count_batch(&self, parsed: &[SignedCommand]) {
        let Some(first) = parsed.first() else {
            return;
        };
        let party = first.command.party();
        let batch_party = matches!(party, Party::Recipient | Party::Notifier);
        if parsed.len() < 2 || !batch_party || parsed.iter().any(|t| t.command.party() != party) {
            return;
        }
        let counters = &self.state.stats.counters;
        match first.command {
            Command::Sub => counters.q_sub_all_b.inc(),
            Command::Del => counters.q_deleted_all_b.inc(),
            Command::Ndel => counters.ntf_deleted_b.inc(),
            Command::Nsub => counters.ntf_sub_b.inc(),
            _ => {}
        }
    }

    /// `receive: verified` counts `AUTH` failures of SEND, SUB, NSUB and GET.
    fn count_auth_failure(&self, command: &Command) {
        let counters = &self.state.stats.counters;
        match command {
            Command::Send { .. } => counters.msg_sent_auth.inc(),
            Command::Sub => counters.q_sub_auth.inc(),
            Command::Nsub => counters.ntf_sub_auth.inc(),
            Command::Get => counters.msg_get_auth.inc(),
            _ => {}
        }
    }
}
