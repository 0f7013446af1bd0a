//! Adapts the v11 block-encryption chains of `smp_proto::block::BlockCipher` to the
//! [`BlockOpener`]/[`BlockSealer`] hooks of the block stream (`Transport.tGetBlock` /
//! `tPutBlock` with `encryptBlock`).
//!
//! The reader gets one copy of the cipher and only ever decrypts (advancing the receive chain);
//! the writer gets another and only ever encrypts (advancing the send chain), so the two halves
//! of a connection need no shared state.

use smp_proto::block::{BlockCipher, ENCRYPTED_PADDED_SIZE};
use smp_proto::codec::PadError;
use smp_proto::crypto::DhSecret;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::block_stream::{BlockOpener, BlockReader, BlockSealer, BlockWriter, BLOCK_SIZE};

/// Which end of the connection installs the chains (the client swaps them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

/// Turns block encryption on in both halves of a connection (`Transport.blockEncryption`,
/// `Crypto.sbcInit` with the session id as salt and the X25519 secret of the session keys).
pub fn install<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    reader: &mut BlockReader<R>,
    writer: &mut BlockWriter<W>,
    session_id: &[u8],
    secret: &DhSecret,
    side: Side,
) {
    let cipher = match side {
        Side::Server => BlockCipher::server(session_id, secret),
        Side::Client => BlockCipher::client(session_id, secret),
    };
    reader.set_opener(Box::new(Receiving(cipher.clone())));
    writer.set_sealer(Box::new(Sending(cipher)));
}

/// The receive chain.
struct Receiving(BlockCipher);

impl BlockOpener for Receiving {
    fn open(&mut self, block: &[u8]) -> Option<Vec<u8>> {
        let mut buffer: Box<[u8; BLOCK_SIZE]> =
            block.to_vec().into_boxed_slice().try_into().ok()?;
        self.0.decrypt_block(&mut buffer).ok().map(<[u8]>::to_vec)
    }
}

/// The send chain.
struct Sending(BlockCipher);

impl BlockSealer for Sending {
    fn seal(&mut self, content: &[u8]) -> Result<Vec<u8>, PadError> {
        let mut block = Box::new([0u8; BLOCK_SIZE]);
        self.0
            .encrypt_block(content, &mut block)
            .map_err(|_| PadError {
                length: content.len(),
                padded: ENCRYPTED_PADDED_SIZE,
            })?;
        Ok(block.to_vec())
    }
}
