//! The connection's block output: batches of encoded transmissions packed into as few blocks as
//! possible (`Protocol.hs: batchTransmissions_`), each block padded or encrypted by the block
//! writer (`Transport.hs: tPutBlock`).

use crate::client::EncodedTransmission;
use crate::writer::BatchSink;
use smp_proto::block::batch_transmissions;
use smp_transport::block_stream::{BlockStreamError, BlockWriter};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWrite;

/// Writes batches to a [`BlockWriter`] and records when it last sent (`sndActiveAt`).
pub struct BlockSink<W> {
    pub writer: BlockWriter<W>,
    pub last_sent: Arc<AtomicI64>,
    pub clock: Arc<dyn crate::clock::Clock>,
}

impl<W: AsyncWrite + Unpin + Send> BatchSink for BlockSink<W> {
    type Error = BlockStreamError;

    async fn send_batch(
        &mut self,
        transmissions: Vec<EncodedTransmission>,
    ) -> Result<(), BlockStreamError> {
        for content in batch_transmissions(&transmissions) {
            match content {
                Ok(content) => self.writer.write_content(&content).await?,
                // A single response that cannot fit a block is dropped, as the reference does.
                Err(error) => tracing::warn!(%error, "response too large for a block, dropped"),
            }
        }
        self.last_sent
            .store(self.clock.seconds(), Ordering::Relaxed);
        Ok(())
    }
}
