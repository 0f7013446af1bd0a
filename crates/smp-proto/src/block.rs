//! The 16 384-byte transport block (`Transport.tPutBlock`, `tGetBlock`), the batch of
//! transmissions inside it (`Protocol.batchTransmissions_`, `tParse`) and the v11+ block
//! encryption chain (`Crypto.sbcInit`, `sbcHkdf`).
//!
//! Block content is `u8 count (1..=255) || count × s16(transmission)`, nothing after. A plain block
//! is `pad(content, 16384)`; an encrypted block is `tag(16) || XSalsa20(pad(content, 16368))` under
//! the next key and nonce of the direction's chain (the SMP secret box, see [`crate::crypto`]).
//! Encryption and decryption work in caller-provided block buffers.

use crate::codec::{DecodeError, Reader};
use crate::crypto::{hkdf_sha512, CbNonce, DhSecret, SecretBox, TAG_SIZE};
use std::ops::Range;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Size of every block on the TLS stream (`Transport.smpBlockSize`).
pub const BLOCK_SIZE: usize = 16384;
/// Padded plaintext inside an encrypted block (`blockSize - 16` in `tPutBlock`).
pub const ENCRYPTED_PADDED_SIZE: usize = BLOCK_SIZE - TAG_SIZE;
/// Most transmissions in one block (the count is one byte).
pub const MAX_BATCH_COUNT: usize = 255;
/// Budget for `Σ (2 + len(transmission))` in one block: block size less 2 (pad length), 1 (count)
/// and 16 (tag of block encryption), whether or not encryption is on (`batchTransmissions_`).
pub const BATCH_BUDGET: usize = BLOCK_SIZE - 19;
/// Longest single transmission that fits a block.
pub const MAX_TRANSMISSION_SIZE: usize = BATCH_BUDGET - 2;

/// Why a block could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    /// Content or transmission too large for a block (`TELargeMsg`).
    #[error("{length} bytes do not fit in a block")]
    TooLarge { length: usize },
    /// An encrypted block failed authentication or its padding is wrong (reported as
    /// `TELargeMsg` by the reference; the server answers `ERR BLOCK`).
    #[error("block decryption error")]
    Decrypt,
    /// The padding or the batch inside the block is malformed (`TEBadBlock`).
    #[error("bad block: {0}")]
    Malformed(#[from] DecodeError),
}

/// `pad(content, 16384)` written into `block`.
pub fn pad_block(content: &[u8], block: &mut [u8; BLOCK_SIZE]) -> Result<(), BlockError> {
    pad_in_place(content, block)
}

/// The content of a plain block (`unPad`; the `#` filler is not checked, as in the reference).
pub fn unpad_block(block: &[u8; BLOCK_SIZE]) -> Result<&[u8], BlockError> {
    unpad_slice(block)
}

/// `u16 len || content || '#'…` filling `out` exactly.
fn pad_in_place(content: &[u8], out: &mut [u8]) -> Result<(), BlockError> {
    let length = content.len();
    if length + 2 > out.len() || length > usize::from(u16::MAX) {
        return Err(BlockError::TooLarge { length });
    }
    out[..2].copy_from_slice(&(length as u16).to_be_bytes());
    out[2..2 + length].copy_from_slice(content);
    out[2 + length..].fill(b'#');
    Ok(())
}

fn unpad_slice(padded: &[u8]) -> Result<&[u8], BlockError> {
    let mut reader = Reader::new(padded);
    let length = usize::from(reader.u16()?);
    reader
        .take(length)
        .map_err(|_| BlockError::Malformed(DecodeError::Malformed("padding length")))
}

/// One step of [`plan_batches`]: a run of transmissions that share a block, or one that is too
/// large for any block (`TransportBatch`: `TBTransmissions` / `TBError TELargeMsg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchPlan {
    /// Indices of the transmissions that go into one block, in order.
    Block(Range<usize>),
    /// Index of a transmission that cannot be sent.
    TooLarge(usize),
}

/// Groups transmissions of the given lengths into blocks exactly as `batchTransmissions_` does:
/// it walks the list from the **end** (a right fold), so the last blocks are the full ones; a block
/// takes at most 255 transmissions whose `2 + len` sum to at most [`BATCH_BUDGET`]; a transmission
/// over the budget becomes [`BatchPlan::TooLarge`] and closes the block being built on each side.
pub fn plan_batches(lengths: &[usize]) -> Vec<BatchPlan> {
    let mut plans = Vec::new();
    // The block being built, as [start, end) over the input, growing towards the front.
    let mut end = lengths.len();
    let mut start = end;
    let mut used = 0usize;
    for (index, &length) in lengths.iter().enumerate().rev() {
        let encoded = length.saturating_add(2);
        let count = end - start;
        if used + encoded <= BATCH_BUDGET && count < MAX_BATCH_COUNT {
            start = index;
            used += encoded;
        } else {
            if count > 0 {
                plans.push(BatchPlan::Block(start..end));
            }
            if encoded <= BATCH_BUDGET {
                (start, end, used) = (index, index + 1, encoded);
            } else {
                plans.push(BatchPlan::TooLarge(index));
                (start, end, used) = (index, index, 0);
            }
        }
    }
    if end > start {
        plans.push(BatchPlan::Block(start..end));
    }
    plans.reverse();
    plans
}

/// Appends the block content of `transmissions` to `out`: `u8 count || count × s16(t)`
/// (`batchTransmissions_`'s `addBatch`). Fails if the batch breaks the packing rules.
pub fn encode_batch<T: AsRef<[u8]>>(
    transmissions: &[T],
    out: &mut Vec<u8>,
) -> Result<(), BlockError> {
    let total: usize = transmissions.iter().map(|t| t.as_ref().len() + 2).sum();
    if transmissions.is_empty() || transmissions.len() > MAX_BATCH_COUNT || total > BATCH_BUDGET {
        return Err(BlockError::TooLarge { length: total });
    }
    out.reserve(1 + total);
    out.push(transmissions.len() as u8);
    for transmission in transmissions {
        let bytes = transmission.as_ref();
        // Each transmission is within the budget, so its length fits a u16.
        out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    Ok(())
}

/// The block contents for `transmissions` in order, with an error in place of each transmission
/// that is too large (`batchTransmissions_`).
pub fn batch_transmissions<T: AsRef<[u8]>>(
    transmissions: &[T],
) -> Vec<Result<Vec<u8>, BlockError>> {
    let lengths: Vec<usize> = transmissions.iter().map(|t| t.as_ref().len()).collect();
    plan_batches(&lengths)
        .into_iter()
        .map(|plan| match plan {
            BatchPlan::Block(range) => {
                let mut content = Vec::new();
                encode_batch(&transmissions[range], &mut content).map(|()| content)
            }
            BatchPlan::TooLarge(index) => Err(BlockError::TooLarge {
                length: lengths[index],
            }),
        })
        .collect()
}

/// The transmissions of one block content (`tParse` with `batch = True`: `NonEmpty Large`, then
/// end of input). Validated on construction; iterating borrows from the content.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    content: &'a [u8],
    count: usize,
}

/// Parses block content: count ≥ 1, `count × s16`, nothing after.
pub fn decode_batch(content: &[u8]) -> Result<Batch<'_>, DecodeError> {
    let mut reader = Reader::new(content);
    let count = usize::from(reader.u8()?);
    if count == 0 {
        return Err(DecodeError::Malformed("empty list"));
    }
    for _ in 0..count {
        reader.large_bytes()?;
    }
    reader.finish()?;
    Ok(Batch {
        content: &content[1..],
        count,
    })
}

impl<'a> Batch<'a> {
    pub fn len(&self) -> usize {
        self.count
    }

    /// Never true: a batch has at least one transmission.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn iter(&self) -> BatchIter<'a> {
        BatchIter {
            reader: Reader::new(self.content),
            left: self.count,
        }
    }
}

impl<'a> IntoIterator for &Batch<'a> {
    type Item = &'a [u8];
    type IntoIter = BatchIter<'a>;
    fn into_iter(self) -> BatchIter<'a> {
        self.iter()
    }
}

/// Iterator over the transmissions of a [`Batch`].
#[derive(Debug, Clone)]
pub struct BatchIter<'a> {
    reader: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The content was validated by `decode_batch`, so this cannot fail; stop if it ever did.
        self.reader.large_bytes().ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// One direction's chain key (`Crypto.SbChainKey`), advanced once per block. Wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SbChain([u8; 32]);

impl std::fmt::Debug for SbChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SbChain(..)")
    }
}

impl SbChain {
    /// `Crypto.sbcInit`: the two chain keys `(ck1, ck2)` from
    /// `HKDF-SHA512(salt = session id, ikm = secret, "SimpleXSbChainInit", 64)`.
    pub fn init(session_id: &[u8], secret: &DhSecret) -> (SbChain, SbChain) {
        let mut out = [0u8; 64];
        // 64 bytes is far below HKDF-SHA512's limit of 255 × 64.
        let _ = hkdf_sha512(
            session_id,
            secret.as_bytes(),
            b"SimpleXSbChainInit",
            &mut out,
        );
        let mut first = [0u8; 32];
        let mut second = [0u8; 32];
        first.copy_from_slice(&out[..32]);
        second.copy_from_slice(&out[32..]);
        out.zeroize();
        (SbChain(first), SbChain(second))
    }

    /// `Crypto.sbcHkdf`: `HKDF-SHA512(salt = "", ikm = ck, "SimpleXSbChain", 88)` split into the next
    /// chain key (32), the secret-box key (32) and the nonce (24). Replaces the chain key.
    pub fn advance(&mut self) -> (SecretBox, CbNonce) {
        let mut out = [0u8; 88];
        // 88 bytes is far below HKDF-SHA512's limit.
        let _ = hkdf_sha512(b"", &self.0, b"SimpleXSbChain", &mut out);
        self.0.copy_from_slice(&out[..32]);
        let mut key = [0u8; 32];
        key.copy_from_slice(&out[32..64]);
        let mut nonce = [0u8; 24];
        nonce.copy_from_slice(&out[64..]);
        let sbox = SecretBox::new(&key);
        key.zeroize();
        out.zeroize();
        (sbox, CbNonce(nonce))
    }
}

/// Both chains of an encrypted connection (`Transport.TSbChainKeys`).
#[derive(Debug, Clone)]
pub struct BlockCipher {
    send: SbChain,
    receive: SbChain,
}

impl BlockCipher {
    /// The server's chains: sends with `ck1`, receives with `ck2` (`Transport.smpTHandleServer`).
    pub fn server(session_id: &[u8], secret: &DhSecret) -> Self {
        let (first, second) = SbChain::init(session_id, secret);
        BlockCipher {
            send: first,
            receive: second,
        }
    }

    /// The client's chains: sends with `ck2`, receives with `ck1` (`Transport.smpTHandleClient`).
    pub fn client(session_id: &[u8], secret: &DhSecret) -> Self {
        let (first, second) = SbChain::init(session_id, secret);
        BlockCipher {
            send: second,
            receive: first,
        }
    }

    /// `tPutBlock` with encryption: writes `tag || XSalsa20(pad(content, 16368))` into `block`.
    /// Oversized content is refused *before* the chain advances (the reference would advance and
    /// then fail, desynchronising the peer; this never happens with [`plan_batches`] content).
    pub fn encrypt_block(
        &mut self,
        content: &[u8],
        block: &mut [u8; BLOCK_SIZE],
    ) -> Result<(), BlockError> {
        let (tag_slot, body) = block.split_at_mut(TAG_SIZE);
        pad_in_place(content, body)?;
        let (sbox, nonce) = self.send.advance();
        tag_slot.copy_from_slice(&sbox.seal_in_place(&nonce, body));
        Ok(())
    }

    /// `tGetBlock` with encryption: decrypts `block` in place and returns the content inside it.
    /// The receive chain advances even when the block fails to decrypt (as the reference).
    pub fn decrypt_block<'b>(
        &mut self,
        block: &'b mut [u8; BLOCK_SIZE],
    ) -> Result<&'b [u8], BlockError> {
        let (sbox, nonce) = self.receive.advance();
        let (tag, body) = block.split_at_mut(TAG_SIZE);
        let mut tag_bytes = [0u8; TAG_SIZE];
        tag_bytes.copy_from_slice(tag);
        sbox.open_in_place(&nonce, &tag_bytes, body)
            .map_err(|_| BlockError::Decrypt)?;
        // sbDecrypt = decrypt then unPad: a bad length inside is a decryption error too.
        unpad_slice(body).map_err(|_| BlockError::Decrypt)
    }
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;
