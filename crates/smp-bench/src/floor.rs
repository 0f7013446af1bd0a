//! The crypto floor: the cryptographic work the server must do to relay one message, measured
//! on this machine, so throughput can be stated as a fraction of it.
//!
//! One delivered message costs the server (unbatched, one transmission per block):
//! - blocks in: `SEND` and `ACK` — each a TLS ChaCha20-Poly1305 open of a 16 KB record and a
//!   v11 block secret-box open (chain step + XSalsa20-Poly1305 over 16 368 bytes);
//! - blocks out: `OK` (to SEND), `MSG`, `OK` (to ACK) — each a block secret-box seal and a TLS
//!   seal;
//! - the recipient `crypto_box` of the message (XSalsa20-Poly1305 with the queue's DH secret,
//!   padded to 16 106 bytes);
//! - two Ed25519 verifications (the sender's `SEND`, the recipient's `ACK`).
//!
//! Batching several transmissions into one block lowers the block part, so a server can exceed
//! 100 % of this floor under load; the signature and `crypto_box` parts cannot be batched.

use std::time::{Duration, Instant};

use openssl::symm::{Cipher, Crypter, Mode};
use smp_proto::block::{BlockCipher, BLOCK_SIZE};
use smp_proto::crypto::{cb_encrypt, CbNonce, DhSecret, Ed25519SigningKey, Signature};
use smp_proto::keys::AuthKey;

/// Size of one TLS record carrying one SMP block.
pub const RECORD: usize = BLOCK_SIZE;
/// Padded length of the `MSG` body plaintext (`Protocol.MaxRcvMessageLen` + 2).
pub const MSG_PADDED: usize = 16106;
/// Blocks the server reads per message (`SEND`, `ACK`).
pub const BLOCKS_IN: u32 = 2;
/// Blocks the server writes per message (`OK`, `MSG`, `OK`).
pub const BLOCKS_OUT: u32 = 3;
/// Ed25519 verifications per message.
pub const VERIFICATIONS: u32 = 2;

/// Prepared state for the primitive operations (also used by the criterion bench).
pub struct FloorWork {
    key: [u8; 32],
    iv: [u8; 12],
    plain: Vec<u8>,
    sealed: Vec<u8>,
    tag: [u8; 16],
    out: Vec<u8>,
    server: BlockCipher,
    client: BlockCipher,
    block: Box<[u8; BLOCK_SIZE]>,
    content: Vec<u8>,
    secret: DhSecret,
    message: Vec<u8>,
    public: AuthKey,
    signature: Signature,
    signed: Vec<u8>,
}

impl FloorWork {
    pub fn new() -> anyhow::Result<Self> {
        let key = [0x42u8; 32];
        let iv = [0x24u8; 12];
        let plain = vec![0x5au8; RECORD];
        let mut work = FloorWork {
            key,
            iv,
            plain,
            sealed: vec![0; RECORD + 32],
            tag: [0; 16],
            out: vec![0; RECORD + 32],
            server: BlockCipher::server(&[7u8; 32], &DhSecret([9; 32])),
            client: BlockCipher::client(&[7u8; 32], &DhSecret([9; 32])),
            block: Box::new([0u8; BLOCK_SIZE]),
            content: vec![0x33u8; 16_000],
            secret: DhSecret([0x11; 32]),
            message: vec![0x44u8; 15_000],
            public: AuthKey::Ed25519([0; 32]),
            signature: Signature::from_bytes(&[0u8; 64])?,
            signed: vec![0x55u8; 200],
        };
        let signing = Ed25519SigningKey::from_seed(&[0x66; 32]);
        work.public = signing.public_key();
        work.signature = signing.sign(&work.signed);
        let (sealed, tag) = work.chacha(Mode::Encrypt)?;
        work.sealed = sealed;
        work.tag = tag;
        Ok(work)
    }

    fn chacha(&mut self, mode: Mode) -> anyhow::Result<(Vec<u8>, [u8; 16])> {
        let cipher = Cipher::chacha20_poly1305();
        let mut crypter = Crypter::new(cipher, mode, &self.key, Some(&self.iv))?;
        let input = match mode {
            Mode::Encrypt => &self.plain,
            Mode::Decrypt => {
                crypter.set_tag(&self.tag)?;
                &self.sealed
            }
        };
        let mut written = crypter.update(&input[..RECORD], &mut self.out)?;
        written += crypter.finalize(&mut self.out[written..])?;
        let mut tag = [0u8; 16];
        if matches!(mode, Mode::Encrypt) {
            crypter.get_tag(&mut tag)?;
        }
        Ok((self.out[..written].to_vec(), tag))
    }

    /// TLS record seal: ChaCha20-Poly1305 (OpenSSL) of 16 384 bytes.
    pub fn tls_seal(&mut self) -> anyhow::Result<usize> {
        let cipher = Cipher::chacha20_poly1305();
        let mut crypter = Crypter::new(cipher, Mode::Encrypt, &self.key, Some(&self.iv))?;
        let written = crypter.update(&self.plain, &mut self.out)?;
        let written = written + crypter.finalize(&mut self.out[written..])?;
        crypter.get_tag(&mut self.tag)?;
        Ok(written)
    }

    /// TLS record open (tag checked).
    pub fn tls_open(&mut self) -> anyhow::Result<usize> {
        let cipher = Cipher::chacha20_poly1305();
        let mut crypter = Crypter::new(cipher, Mode::Decrypt, &self.key, Some(&self.iv))?;
        crypter.set_tag(&self.tag)?;
        let written = crypter.update(&self.sealed[..RECORD], &mut self.out)?;
        Ok(written + crypter.finalize(&mut self.out[written..])?)
    }

    /// v11 block seal (chain step + pad + secret box).
    pub fn block_seal(&mut self) -> anyhow::Result<()> {
        self.server
            .encrypt_block(&self.content, &mut self.block)
            .map_err(|error| anyhow::anyhow!("{error:?}"))
    }

    /// v11 block seal by the client and open by the server.
    pub fn block_round_trip(&mut self) -> anyhow::Result<usize> {
        self.client
            .encrypt_block(&self.content, &mut self.block)
            .map_err(|error| anyhow::anyhow!("{error:?}"))?;
        let content = self
            .server
            .decrypt_block(&mut self.block)
            .map_err(|error| anyhow::anyhow!("{error:?}"))?;
        Ok(content.len())
    }

    /// The recipient `crypto_box` of a message (padded to 16 106 bytes).
    pub fn crypto_box(&mut self) -> anyhow::Result<usize> {
        let sealed = cb_encrypt(&self.secret, &CbNonce([3; 24]), &self.message, MSG_PADDED)
            .map_err(|error| anyhow::anyhow!("{error:?}"))?;
        Ok(sealed.len())
    }

    /// One Ed25519 verification of a 200-byte authorized transmission.
    pub fn ed25519_verify(&self) -> bool {
        self.signature.verify(&self.public, &self.signed)
    }
}

/// Measured time of each primitive and the per-message total.
#[derive(Debug, Clone)]
pub struct Floor {
    pub tls_seal: Duration,
    pub tls_open: Duration,
    pub block_seal: Duration,
    pub block_open: Duration,
    pub crypto_box: Duration,
    pub ed25519_verify: Duration,
}

fn time_per_call(
    budget: Duration,
    mut call: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Duration> {
    for _ in 0..3 {
        call()?;
    }
    let started = Instant::now();
    let mut calls = 0u32;
    while started.elapsed() < budget || calls < 10 {
        call()?;
        calls += 1;
    }
    Ok(started.elapsed() / calls)
}

impl Floor {
    /// Times each primitive for about `budget` (single thread).
    pub fn measure(budget: Duration) -> anyhow::Result<Self> {
        let mut work = FloorWork::new()?;
        let tls_seal = time_per_call(budget, || work.tls_seal().map(drop))?;
        let tls_open = time_per_call(budget, || work.tls_open().map(drop))?;
        let block_seal = time_per_call(budget, || work.block_seal())?;
        let block_trip = time_per_call(budget, || work.block_round_trip().map(drop))?;
        let crypto_box = time_per_call(budget, || work.crypto_box().map(drop))?;
        let ed25519_verify = time_per_call(budget, || {
            if work.ed25519_verify() {
                Ok(())
            } else {
                Err(anyhow::anyhow!("signature did not verify"))
            }
        })?;
        Ok(Floor {
            tls_seal,
            tls_open,
            block_seal,
            block_open: block_trip.saturating_sub(block_seal),
            crypto_box,
            ed25519_verify,
        })
    }

    /// Server crypto time for one relayed message.
    pub fn per_message(&self) -> Duration {
        (self.tls_open + self.block_open) * BLOCKS_IN
            + (self.tls_seal + self.block_seal) * BLOCKS_OUT
            + self.crypto_box
            + self.ed25519_verify * VERIFICATIONS
    }

    /// Messages per second one core could relay doing nothing but this crypto.
    pub fn messages_per_core_second(&self) -> f64 {
        1.0 / self.per_message().as_secs_f64().max(1e-12)
    }

    /// A table of the parts.
    pub fn describe(&self) -> String {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        format!(
            "crypto floor per relayed message (one core):\n\
             \x20 TLS ChaCha20-Poly1305 16 KB: seal {:.1} µs, open {:.1} µs\n\
             \x20 v11 block secret box:        seal {:.1} µs, open {:.1} µs\n\
             \x20 blocks: {BLOCKS_IN} in, {BLOCKS_OUT} out; recipient crypto_box {:.1} µs; Ed25519 verify {:.1} µs × {VERIFICATIONS}\n\
             \x20 total {:.1} µs per message → floor {:.0} messages/s per core",
            us(self.tls_seal),
            us(self.tls_open),
            us(self.block_seal),
            us(self.block_open),
            us(self.crypto_box),
            us(self.ed25519_verify),
            us(self.per_message()),
            self.messages_per_core_second()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_work() {
        let mut work = FloorWork::new().unwrap();
        assert_eq!(work.tls_seal().unwrap(), RECORD);
        assert_eq!(work.tls_open().unwrap(), RECORD);
        work.block_seal().unwrap();
        assert_eq!(work.block_round_trip().unwrap(), 16_000);
        assert_eq!(work.crypto_box().unwrap(), MSG_PADDED + 16);
        assert!(work.ed25519_verify());
    }

    #[test]
    fn per_message_counts_every_part() {
        let micro = Duration::from_micros(1);
        let floor = Floor {
            tls_seal: micro,
            tls_open: micro,
            block_seal: micro,
            block_open: micro,
            crypto_box: micro,
            ed25519_verify: micro,
        };
        // 2 in × 2 + 3 out × 2 + 1 box + 2 verifications = 13.
        assert_eq!(floor.per_message(), micro * 13);
    }
}
