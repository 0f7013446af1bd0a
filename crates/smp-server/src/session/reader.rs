//! The reader half of a connection (`Server.hs: receive`): one received block becomes one group of
//! verified commands for the processor and one job of error responses for the writer.

use super::processor::{Session, Transmission, VerifiedCommand};
use super::verify::{verify_transmission, SessionVerifier};
use smp_proto::block::decode_batch;
use smp_proto::command::{Command, Party};
use smp_proto::error::ErrorType;
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::response::Response;
use smp_proto::transmission::{decode_server, SignedCommand};

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
        for signed in parsed {
            match verify_transmission(store, &verifier, &signed) {
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
