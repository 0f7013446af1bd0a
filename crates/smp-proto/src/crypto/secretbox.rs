//! XSalsa20-Poly1305 boxes as SMP builds them (`Crypto.cryptoBox`, `cbEncrypt`, `sbEncrypt`,
//! `sbDecryptNoPad_`).
//!
//! The reference feeds the 32-byte key (a raw X25519 shared secret *or* a symmetric key) through
//! `HSalsa20(key, 0^16)` before using it as an XSalsa20 key, and writes the 16-byte Poly1305 tag
//! first. With a DH secret that equals libsodium `crypto_box_easy`; with a symmetric key it is
//! **not** `crypto_secretbox_easy(m, n, key)` but secretbox under the derived key.
//!
//! The XSalsa20-Poly1305 core is libsodium's (through the safe `sodiumoxide` wrapper, libsodium
//! built from the source bundled in the crate): about three times faster than the pure-Rust
//! RustCrypto crates on 16 KB blocks (see `docs/benchmarks.md`); the tests cross-check both.

use super::{CbNonce, CryptoError, DhSecret, TAG_SIZE};
use crate::codec::{pad_into, unpad};
use sodiumoxide::crypto::secretbox::xsalsa20poly1305 as nacl;
use std::sync::OnceLock;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A 32-byte symmetric key for [`sb_encrypt`] / [`sb_decrypt`] (`Crypto.SbKey`).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SbKey(pub [u8; 32]);

impl std::fmt::Debug for SbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SbKey(..)")
    }
}

/// A box key ready for use: `HSalsa20(key, 0^16)` computed once, so that several boxes under the
/// same secret do not repeat the derivation.
#[derive(Clone)]
pub struct SecretBox {
    derived: nacl::Key,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// Makes libsodium pick its fastest implementations for this CPU (idempotent, thread-safe).
fn ensure_libsodium_initialised() {
    static INITIALISED: OnceLock<bool> = OnceLock::new();
    // sodium_init only fails when the OS has no usable random source; the box functions used here
    // take no randomness and work with the portable code paths even then.
    INITIALISED.get_or_init(|| sodiumoxide::init().is_ok());
}

impl SecretBox {
    /// The key `cryptoBox` uses for the 32 raw bytes `key` (a DH secret or an [`SbKey`]).
    pub fn new(key: &[u8; 32]) -> Self {
        ensure_libsodium_initialised();
        let mut derived =
            salsa20::hsalsa::<salsa20::cipher::consts::U10>(key.into(), &Default::default());
        let key = nacl::Key(derived.into());
        derived.zeroize();
        SecretBox { derived: key }
    }

    /// Encrypts `buffer` in place and returns the tag that goes before it.
    pub fn seal_in_place(&self, nonce: &CbNonce, buffer: &mut [u8]) -> [u8; TAG_SIZE] {
        nacl::seal_detached(buffer, &nacl::Nonce(nonce.0), &self.derived).0
    }

    /// Checks `tag` (constant time) and decrypts `buffer` in place; on failure `buffer` is left
    /// encrypted.
    pub fn open_in_place(
        &self,
        nonce: &CbNonce,
        tag: &[u8; TAG_SIZE],
        buffer: &mut [u8],
    ) -> Result<(), CryptoError> {
        nacl::open_detached(
            buffer,
            &nacl::Tag(*tag),
            &nacl::Nonce(nonce.0),
            &self.derived,
        )
        .map_err(|()| CryptoError::Decrypt)
    }

    /// `tag || ciphertext` of `message` (`cryptoBox`, no padding).
    pub fn seal(&self, nonce: &CbNonce, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(TAG_SIZE + message.len());
        out.extend_from_slice(&[0; TAG_SIZE]);
        out.extend_from_slice(message);
        self.seal_tail(nonce, &mut out);
        out
    }

    /// `tag || ciphertext` of `pad(message, padded_length)`; `16 + padded_length` bytes.
    pub fn seal_padded(
        &self,
        nonce: &CbNonce,
        message: &[u8],
        padded_length: usize,
    ) -> Result<Vec<u8>, CryptoError> {
        let mut out = Vec::with_capacity(TAG_SIZE + padded_length);
        out.extend_from_slice(&[0; TAG_SIZE]);
        pad_into(message, padded_length, &mut out)?;
        self.seal_tail(nonce, &mut out);
        Ok(out)
    }

    /// Encrypts `out[16..]` in place and writes the tag into `out[..16]`.
    fn seal_tail(&self, nonce: &CbNonce, out: &mut [u8]) {
        let (tag_slot, body) = out.split_at_mut(TAG_SIZE);
        tag_slot.copy_from_slice(&self.seal_in_place(nonce, body));
    }

    /// The plaintext of `tag || ciphertext` (`sbDecryptNoPad_`).
    pub fn open(&self, nonce: &CbNonce, packet: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (tag, body) = split_tag(packet)?;
        let mut plain = body.to_vec();
        self.open_in_place(nonce, &tag, &mut plain)?;
        Ok(plain)
    }

    /// The message inside a padded box (`sbDecrypt_` = decrypt then `unPad`).
    pub fn open_padded(&self, nonce: &CbNonce, packet: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let padded = self.open(nonce, packet)?;
        unpad(&padded)
            .map(<[u8]>::to_vec)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Splits `tag || body`; shorter than a tag → decryption error (as the reference).
fn split_tag(packet: &[u8]) -> Result<([u8; TAG_SIZE], &[u8]), CryptoError> {
    match packet.split_first_chunk::<TAG_SIZE>() {
        Some((tag, body)) => Ok((*tag, body)),
        None => Err(CryptoError::Decrypt),
    }
}

/// `Crypto.cbEncrypt`: box of `pad(message, padded_length)` with a DH secret (`16 + padded_length`
/// bytes; = libsodium `crypto_box_easy` of the padded message).
pub fn cb_encrypt(
    secret: &DhSecret,
    nonce: &CbNonce,
    message: &[u8],
    padded_length: usize,
) -> Result<Vec<u8>, CryptoError> {
    SecretBox::new(secret.as_bytes()).seal_padded(nonce, message, padded_length)
}

/// `Crypto.cbEncryptNoPad`.
pub fn cb_encrypt_no_pad(secret: &DhSecret, nonce: &CbNonce, message: &[u8]) -> Vec<u8> {
    SecretBox::new(secret.as_bytes()).seal(nonce, message)
}

/// `Crypto.cbDecrypt`: verify, decrypt, un-pad.
pub fn cb_decrypt(
    secret: &DhSecret,
    nonce: &CbNonce,
    packet: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    SecretBox::new(secret.as_bytes()).open_padded(nonce, packet)
}

/// `Crypto.cbDecryptNoPad`.
pub fn cb_decrypt_no_pad(
    secret: &DhSecret,
    nonce: &CbNonce,
    packet: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    SecretBox::new(secret.as_bytes()).open(nonce, packet)
}

/// `Crypto.sbEncrypt`: box of `pad(message, padded_length)` with a symmetric key (secretbox under
/// `HSalsa20(key, 0^16)`, not under `key`).
pub fn sb_encrypt(
    key: &SbKey,
    nonce: &CbNonce,
    message: &[u8],
    padded_length: usize,
) -> Result<Vec<u8>, CryptoError> {
    SecretBox::new(&key.0).seal_padded(nonce, message, padded_length)
}

/// `Crypto.sbEncryptNoPad`.
pub fn sb_encrypt_no_pad(key: &SbKey, nonce: &CbNonce, message: &[u8]) -> Vec<u8> {
    SecretBox::new(&key.0).seal(nonce, message)
}

/// `Crypto.sbDecrypt`: verify, decrypt, un-pad.
pub fn sb_decrypt(key: &SbKey, nonce: &CbNonce, packet: &[u8]) -> Result<Vec<u8>, CryptoError> {
    SecretBox::new(&key.0).open_padded(nonce, packet)
}

/// `Crypto.sbDecryptNoPad`.
pub fn sb_decrypt_no_pad(
    key: &SbKey,
    nonce: &CbNonce,
    packet: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    SecretBox::new(&key.0).open(nonce, packet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xsalsa20poly1305::aead::{Aead, KeyInit};

    fn unhex<const N: usize>(text: &str) -> [u8; N] {
        hex::decode(text).unwrap().try_into().unwrap()
    }

    /// spec §9.8 inputs.
    fn spec_dh() -> DhSecret {
        DhSecret(unhex(
            "a84dc7c3c8f058b1b2dc4cd1e9b5dc0a7987f88b6a9564cde3391fc421159e77",
        ))
    }
    fn spec_nonce() -> CbNonce {
        CbNonce(unhex("6465666768696a6b6c6d6e6f707172737475767778797a7b"))
    }

    /// An independent computation from the definition with the RustCrypto crates:
    /// secretbox (tag first) under HSalsa20(key, 0^16).
    fn rustcrypto_box(key: &[u8; 32], nonce: &CbNonce, plain: &[u8]) -> Vec<u8> {
        let derived =
            salsa20::hsalsa::<salsa20::cipher::consts::U10>(key.into(), &Default::default());
        xsalsa20poly1305::XSalsa20Poly1305::new(&derived)
            .encrypt(&nonce.0.into(), plain)
            .unwrap()
    }

    #[test]
    fn cb_encrypt_spec_vector() {
        // spec §9.8: cbEncrypt(dh, N, "hello", padTo=32) = crypto_box_easy of the padded message.
        let boxed = cb_encrypt(&spec_dh(), &spec_nonce(), b"hello", 32).unwrap();
        assert_eq!(
            hex::encode(&boxed),
            "48a6ee2da46fdcfe7f9e9afd4e45440ffe30c79701b5cee3a067e5eb4111fc33\
             01149be53e876f71688b1c00e49b7e12"
        );
        assert_eq!(
            cb_decrypt(&spec_dh(), &spec_nonce(), &boxed).unwrap(),
            b"hello"
        );
    }

    #[test]
    fn sb_encrypt_spec_vector_is_not_plain_secretbox() {
        // spec §9.8: sbEncrypt(K = 07×32, N, "hello", padTo=32).
        let key = SbKey([7; 32]);
        let boxed = sb_encrypt(&key, &spec_nonce(), b"hello", 32).unwrap();
        assert_eq!(
            hex::encode(&boxed),
            "dfce118170b00f6febc08ae4d1e7d97af27e69b23c2a7858b7e28c55164522b3\
             2f4af8c63a8cf3480f0de8bdc6475694"
        );
        let plain = crate::codec::pad(b"hello", 32).unwrap();
        let standard = xsalsa20poly1305::XSalsa20Poly1305::new(&key.0.into())
            .encrypt(&spec_nonce().0.into(), plain.as_slice())
            .unwrap();
        assert!(hex::encode(standard).starts_with("3e612e3fb866b992"));
        assert_eq!(sb_decrypt(&key, &spec_nonce(), &boxed).unwrap(), b"hello");
    }

    #[test]
    fn libsodium_and_rustcrypto_agree_on_every_length() {
        let key = [0x5au8; 32];
        let sbox = SecretBox::new(&key);
        for length in [0usize, 1, 15, 16, 17, 63, 64, 65, 1000, 16368] {
            let plain: Vec<u8> = (0..length).map(|i| (i * 7) as u8).collect();
            let ours = sbox.seal(&spec_nonce(), &plain);
            assert_eq!(
                ours,
                rustcrypto_box(&key, &spec_nonce(), &plain),
                "length {length}"
            );
            assert_eq!(sbox.open(&spec_nonce(), &ours).unwrap(), plain);
        }
    }

    #[test]
    fn dh_box_equals_crypto_box_easy() {
        // cbEncryptNoPad(dh) = libsodium crypto_box_easy(m, n, pk, sk) (beforenm = HSalsa20(dh, 0)).
        use sodiumoxide::crypto::box_;
        let a_sk = box_::SecretKey(unhex(
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
        ));
        let b_pk = box_::PublicKey(unhex(
            "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b",
        ));
        let message = b"a message for crypto_box";
        let expected = box_::seal(message, &box_::Nonce(spec_nonce().0), &b_pk, &a_sk);
        assert_eq!(
            cb_encrypt_no_pad(&spec_dh(), &spec_nonce(), message),
            expected
        );
    }

    #[test]
    fn negative_cases() {
        let dh = spec_dh();
        let nonce = spec_nonce();
        let boxed = cb_encrypt(&dh, &nonce, b"hello", 32).unwrap();
        // wrong tag
        let mut tampered = boxed.clone();
        tampered[0] ^= 1;
        assert_eq!(
            cb_decrypt(&dh, &nonce, &tampered),
            Err(CryptoError::Decrypt)
        );
        // wrong ciphertext byte
        let mut tampered = boxed.clone();
        tampered[40] ^= 0x80;
        assert_eq!(
            cb_decrypt(&dh, &nonce, &tampered),
            Err(CryptoError::Decrypt)
        );
        // truncated: shorter than the tag, and a tag with its body cut
        assert_eq!(
            cb_decrypt(&dh, &nonce, &boxed[..15]),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(
            cb_decrypt(&dh, &nonce, &boxed[..47]),
            Err(CryptoError::Decrypt)
        );
        // wrong key, wrong nonce
        let other = DhSecret([1; 32]);
        assert_eq!(
            cb_decrypt(&other, &nonce, &boxed),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(
            cb_decrypt(&dh, &nonce.reversed(), &boxed),
            Err(CryptoError::Decrypt)
        );
        // an empty box (tag only) opens to the empty message without unpad, fails with unpad
        let empty = cb_encrypt_no_pad(&dh, &nonce, b"");
        assert_eq!(empty.len(), 16);
        assert_eq!(cb_decrypt_no_pad(&dh, &nonce, &empty).unwrap(), b"");
        assert_eq!(cb_decrypt(&dh, &nonce, &empty), Err(CryptoError::Decrypt));
        // bad padding length inside a valid box
        let bad_pad = cb_encrypt_no_pad(&dh, &nonce, &[0x00, 0x10, b'#', b'#']);
        assert_eq!(cb_decrypt(&dh, &nonce, &bad_pad), Err(CryptoError::Decrypt));
        // message too large for the padded length
        assert!(matches!(
            cb_encrypt(&dh, &nonce, &[0; 31], 32),
            Err(CryptoError::Pad(_))
        ));
    }

    #[test]
    fn in_place_round_trip_leaves_buffer_encrypted_on_failure() {
        let sbox = SecretBox::new(&[3; 32]);
        let nonce = spec_nonce();
        let mut buffer = *b"sixteen byte msg";
        let tag = sbox.seal_in_place(&nonce, &mut buffer);
        let encrypted = buffer;
        let mut bad_tag = tag;
        bad_tag[15] ^= 1;
        assert_eq!(
            sbox.open_in_place(&nonce, &bad_tag, &mut buffer),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(buffer, encrypted);
        sbox.open_in_place(&nonce, &tag, &mut buffer).unwrap();
        assert_eq!(&buffer, b"sixteen byte msg");
    }
}
