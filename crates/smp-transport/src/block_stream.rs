//! The SMP block stream: after TLS both sides exchange fixed 16 384-byte blocks
//! (`Transport.smpBlockSize`), read regardless of TLS record boundaries
//! (`Transport/Buffer.getBuffered`); end of stream, at or inside a block, closes the connection
//! (`Transport.tGetBlock` → EOF).
//!
//! [`BlockReader`] and [`BlockWriter`] keep no block-sized buffer while a connection is idle: a
//! block is allocated when its first bytes arrive and handed to the caller whole. Reading is
//! cancel-safe (bytes of a partial block stay in the reader), so `read_block` can sit in a
//! `select!` beside a shutdown signal.
//!
//! From v11 whole blocks can be encrypted (spec §5.3); the handshake installs a [`BlockOpener`] in
//! the reader and a [`BlockSealer`] in the writer, and [`BlockReader::read_content`] /
//! [`BlockWriter::write_content`] then decrypt/encrypt instead of un-padding/padding.

use std::io;

use smp_proto::codec::{pad, unpad, PadError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Size of every SMP block (`Transport.smpBlockSize`).
pub const BLOCK_SIZE: usize = 16_384;

/// Bytes read at once while waiting for the start of a block.
const FIRST_READ: usize = 512;

/// Errors of the block stream.
#[derive(Debug, thiserror::Error)]
pub enum BlockStreamError {
    /// The peer closed the connection (possibly in the middle of a block).
    #[error("connection closed")]
    Closed,
    /// The underlying stream failed.
    #[error("connection error: {0}")]
    Io(io::Error),
    /// Content too large for one block (`TELargeMsg` when sending).
    #[error("content does not fit in a block: {0}")]
    TooLarge(#[from] PadError),
    /// A whole block arrived but its padding (or block encryption) is invalid (`TELargeMsg` when
    /// receiving; the server answers `ERR BLOCK` and keeps reading).
    #[error("invalid block")]
    BadBlock,
}

impl BlockStreamError {
    /// Whether the connection can go on after this error.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            BlockStreamError::BadBlock | BlockStreamError::TooLarge(_)
        )
    }
}

impl From<io::Error> for BlockStreamError {
    fn from(error: io::Error) -> Self {
        match error.kind() {
            // A TLS stream cut without close_notify surfaces as UnexpectedEof.
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => BlockStreamError::Closed,
            _ => BlockStreamError::Io(error),
        }
    }
}

/// Decrypts received blocks (the receiving half of the v11 block-encryption chain).
pub trait BlockOpener: Send + Sync {
    /// The content of one [`BLOCK_SIZE`]-byte block, or `None` when it does not decrypt or
    /// un-pad. Advances the chain either way (`Transport.tGetBlock`).
    fn open(&mut self, block: &[u8]) -> Option<Vec<u8>>;
}

/// Encrypts blocks to send (the sending half of the v11 block-encryption chain).
pub trait BlockSealer: Send + Sync {
    /// One [`BLOCK_SIZE`]-byte block carrying `content` (`Transport.tPutBlock`).
    fn seal(&mut self, content: &[u8]) -> Result<Vec<u8>, PadError>;
}

/// Reads whole blocks from a stream (`Transport.tGetBlock`).
pub struct BlockReader<R> {
    inner: R,
    /// The block being assembled; empty (no allocation) between blocks.
    partial: Vec<u8>,
    opener: Option<Box<dyn BlockOpener>>,
}

impl<R> std::fmt::Debug for BlockReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockReader")
            .field("buffered", &self.partial.len())
            .field("encrypted", &self.opener.is_some())
            .finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin> BlockReader<R> {
    /// Wraps a readable stream.
    pub fn new(inner: R) -> Self {
        BlockReader {
            inner,
            partial: Vec::new(),
            opener: None,
        }
    }

    /// Turns block encryption on for every following block.
    pub fn set_opener(&mut self, opener: Box<dyn BlockOpener>) {
        self.opener = Some(opener);
    }

    /// Whether received blocks are decrypted.
    pub fn is_encrypted(&self) -> bool {
        self.opener.is_some()
    }

    /// Reads exactly one block of [`BLOCK_SIZE`] bytes. Cancel-safe.
    pub async fn read_block(&mut self) -> Result<Vec<u8>, BlockStreamError> {
        if self.partial.is_empty() {
            let mut first = [0u8; FIRST_READ];
            let count = self.inner.read(&mut first).await?;
            if count == 0 {
                return Err(BlockStreamError::Closed);
            }
            self.partial.reserve_exact(BLOCK_SIZE);
            self.partial.extend_from_slice(&first[..count]);
        }
        while self.partial.len() < BLOCK_SIZE {
            let filled = self.partial.len();
            self.partial.resize(BLOCK_SIZE, 0);
            let result = self.inner.read(&mut self.partial[filled..]).await;
            let count = match result {
                Ok(count) => count,
                Err(error) => {
                    self.partial.truncate(filled);
                    return Err(error.into());
                }
            };
            self.partial.truncate(filled + count);
            if count == 0 {
                return Err(BlockStreamError::Closed);
            }
        }
        Ok(std::mem::take(&mut self.partial))
    }

    /// Reads one block and removes its padding (`Crypto.unPad`): the plain form used by the
    /// handshake and by connections without block encryption.
    pub async fn read_padded(&mut self) -> Result<Vec<u8>, BlockStreamError> {
        let block = self.read_block().await?;
        unpad(&block)
            .map(<[u8]>::to_vec)
            .map_err(|_| BlockStreamError::BadBlock)
    }

    /// Reads one block and returns its content: decrypted when block encryption is on, else
    /// un-padded. [`BlockStreamError::BadBlock`] (not fatal) when that fails.
    pub async fn read_content(&mut self) -> Result<Vec<u8>, BlockStreamError> {
        let block = self.read_block().await?;
        match self.opener.as_mut() {
            Some(opener) => opener.open(&block).ok_or(BlockStreamError::BadBlock),
            None => unpad(&block)
                .map(<[u8]>::to_vec)
                .map_err(|_| BlockStreamError::BadBlock),
        }
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// Writes whole blocks to a stream, flushing after each (`Transport.tPutBlock`).
pub struct BlockWriter<W> {
    inner: W,
    sealer: Option<Box<dyn BlockSealer>>,
}

impl<W> std::fmt::Debug for BlockWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockWriter")
            .field("encrypted", &self.sealer.is_some())
            .finish_non_exhaustive()
    }
}

impl<W: AsyncWrite + Unpin> BlockWriter<W> {
    /// Wraps a writable stream.
    pub fn new(inner: W) -> Self {
        BlockWriter {
            inner,
            sealer: None,
        }
    }

    /// Turns block encryption on for every following block.
    pub fn set_sealer(&mut self, sealer: Box<dyn BlockSealer>) {
        self.sealer = Some(sealer);
    }

    /// Whether sent blocks are encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.sealer.is_some()
    }

    /// Writes one block of exactly [`BLOCK_SIZE`] bytes and flushes it.
    pub async fn write_block(&mut self, block: &[u8]) -> Result<(), BlockStreamError> {
        if block.len() != BLOCK_SIZE {
            return Err(BlockStreamError::TooLarge(PadError {
                length: block.len(),
                padded: BLOCK_SIZE,
            }));
        }
        self.inner.write_all(block).await?;
        self.inner.flush().await?;
        Ok(())
    }

    /// Pads `content` to a block (`Crypto.pad`) and writes it.
    pub async fn write_padded(&mut self, content: &[u8]) -> Result<(), BlockStreamError> {
        let block = pad(content, BLOCK_SIZE)?;
        self.write_block(&block).await
    }

    /// Writes `content` as one block: encrypted when block encryption is on, else padded.
    pub async fn write_content(&mut self, content: &[u8]) -> Result<(), BlockStreamError> {
        let block = match self.sealer.as_mut() {
            Some(sealer) => sealer.seal(content)?,
            None => pad(content, BLOCK_SIZE)?,
        };
        self.write_block(&block).await
    }

    /// Shuts the write side down (TLS close_notify for TLS streams).
    pub async fn shutdown(&mut self) -> Result<(), BlockStreamError> {
        self.inner.shutdown().await?;
        Ok(())
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blocks_are_reassembled_across_small_writes() {
        let (client, server) = tokio::io::duplex(1000);
        let writer = tokio::spawn(async move {
            let mut writer = BlockWriter::new(client);
            writer.write_padded(b"first").await.unwrap();
            writer.write_padded(b"second").await.unwrap();
        });
        let mut reader = BlockReader::new(server);
        let first = reader.read_block().await.unwrap();
        assert_eq!(first.len(), BLOCK_SIZE);
        // Crypto.pad: u16 length, message, then '#'.
        assert_eq!(&first[..7], b"\x00\x05first");
        assert!(first[7..].iter().all(|byte| *byte == b'#'));
        assert_eq!(reader.read_padded().await.unwrap(), b"second");
        writer.await.unwrap();
        assert!(matches!(
            reader.read_block().await,
            Err(BlockStreamError::Closed)
        ));
    }

    #[tokio::test]
    async fn end_of_stream_inside_a_block_is_closed() {
        let (mut client, server) = tokio::io::duplex(BLOCK_SIZE * 2);
        client.write_all(&[0u8; 100]).await.unwrap();
        drop(client);
        let mut reader = BlockReader::new(server);
        assert!(matches!(
            reader.read_block().await,
            Err(BlockStreamError::Closed)
        ));
    }

    #[tokio::test]
    async fn bad_padding_is_not_fatal() {
        let (client, server) = tokio::io::duplex(BLOCK_SIZE * 2);
        let mut writer = BlockWriter::new(client);
        // Length 0x4000 cannot be followed by 16384 bytes in a 16384-byte block.
        let mut block = vec![b'#'; BLOCK_SIZE];
        block[0] = 0x40;
        block[1] = 0x00;
        writer.write_block(&block).await.unwrap();
        writer.write_padded(b"next").await.unwrap();
        let mut reader = BlockReader::new(server);
        let error = reader.read_padded().await.unwrap_err();
        assert!(matches!(error, BlockStreamError::BadBlock));
        assert!(!error.is_fatal());
        assert_eq!(reader.read_padded().await.unwrap(), b"next");
    }

    #[tokio::test]
    async fn oversized_content_is_refused_before_writing() {
        let (client, _server) = tokio::io::duplex(16);
        let mut writer = BlockWriter::new(client);
        let error = writer
            .write_padded(&vec![0u8; BLOCK_SIZE - 1])
            .await
            .unwrap_err();
        assert!(matches!(error, BlockStreamError::TooLarge(_)));
        assert!(writer.write_block(&[0u8; 10]).await.is_err());
    }

    /// A toy cipher (XOR with a counter) standing in for the v11 chain: checks that the hooks
    /// are applied per block and in order.
    struct Counter(u8);

    impl BlockSealer for Counter {
        fn seal(&mut self, content: &[u8]) -> Result<Vec<u8>, PadError> {
            self.0 += 1;
            let mut block = pad(content, BLOCK_SIZE)?;
            block.iter_mut().for_each(|byte| *byte ^= self.0);
            Ok(block)
        }
    }

    impl BlockOpener for Counter {
        fn open(&mut self, block: &[u8]) -> Option<Vec<u8>> {
            self.0 += 1;
            let plain: Vec<u8> = block.iter().map(|byte| byte ^ self.0).collect();
            unpad(&plain).ok().map(<[u8]>::to_vec)
        }
    }

    #[tokio::test]
    async fn encryption_hooks_apply_to_content() {
        let (client, server) = tokio::io::duplex(BLOCK_SIZE * 4);
        let mut writer = BlockWriter::new(client);
        writer.set_sealer(Box::new(Counter(0)));
        assert!(writer.is_encrypted());
        writer.write_content(b"one").await.unwrap();
        writer.write_content(b"two").await.unwrap();
        let mut reader = BlockReader::new(server);
        reader.set_opener(Box::new(Counter(0)));
        assert_eq!(reader.read_content().await.unwrap(), b"one");
        assert_eq!(reader.read_content().await.unwrap(), b"two");
    }

    #[tokio::test]
    async fn largest_content_fits() {
        let (client, server) = tokio::io::duplex(BLOCK_SIZE * 2);
        let content = vec![7u8; BLOCK_SIZE - 2];
        let mut writer = BlockWriter::new(client);
        writer.write_padded(&content).await.unwrap();
        let mut reader = BlockReader::new(server);
        assert_eq!(reader.read_padded().await.unwrap(), content);
    }
}
