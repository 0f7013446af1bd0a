//! The reader half of a connection (`Server.hs: receive`): one received block becomes one group of
//! verified commands for the processor and one job of error responses for the writer.

use super::processor::{Session, Transmission, VerifiedCommand};
use super::verify::{verify_transmission, SessionVerifier};
use smp_proto::block::decode_batch;
use smp_proto::error::ErrorType;
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::response::Response;
use smp_proto::transmission::decode_server;

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
        for bytes in &batch {
            let signed = match decode_server(self.params(), bytes) {
                Ok(signed) => signed,
                Err(rejected) => {
                    received.errors.push((
                        rejected.corr_id,
                        rejected.entity_id,
                        Response::Err(rejected.error),
                    ));
                    continue;
                }
            };
            match verify_transmission(store, &verifier, &signed) {
                Ok(queue) => received.commands.push(VerifiedCommand {
                    queue,
                    corr_id: signed.corr_id,
                    entity_id: signed.entity_id,
                    command: signed.command,
                }),
                Err(error) => {
                    received
                        .errors
                        .push((signed.corr_id, signed.entity_id, Response::Err(error)))
                }
            }
        }
        received
    }
}
