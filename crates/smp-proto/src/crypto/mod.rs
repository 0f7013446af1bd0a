//! The cryptographic building blocks SMP uses on the wire (`Simplex.Messaging.Crypto`):
//! X25519 key agreement, the NaCl-style box with a DH secret or a symmetric key (tag first, key
//! passed through HSalsa20 first — see [`secretbox`]), the 80-byte X25519 command authenticator,
//! Ed25519/Ed448 signatures, HKDF-SHA512 and the hashes used by the protocol.
//!
//! Secret material is held in fixed-size arrays that are wiped when dropped. Every comparison of
//! secret-dependent bytes is constant-time (`subtle`, or libsodium's own tag check).

mod dh;
mod secretbox;
mod sign;

pub use dh::{DhSecret, X25519KeyPair};
pub use secretbox::{
    cb_decrypt, cb_decrypt_no_pad, cb_encrypt, cb_encrypt_no_pad, sb_decrypt, sb_decrypt_no_pad,
    sb_encrypt, sb_encrypt_no_pad, SbKey, SecretBox,
};
pub use sign::{
    cb_authenticate, cb_verify, Authenticator, Ed25519SigningKey, Ed448SigningKey, Signature,
    AUTHENTICATOR_SIZE, ED25519_SIGNATURE_SIZE, ED448_SIGNATURE_SIZE,
};

use crate::codec::{Decode, DecodeResult, Encode, PadError, Reader};
use sha2::Digest;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Size of the Poly1305 tag that starts every box.
pub const TAG_SIZE: usize = 16;
/// Size of a NaCl nonce.
pub const NONCE_SIZE: usize = 24;

/// Why a cryptographic operation failed (`Crypto.CryptoError`, the parts the server can meet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CryptoError {
    /// The box is shorter than its tag, the tag does not verify, or the padding inside is wrong
    /// (`CBDecryptError`).
    #[error("decryption error")]
    Decrypt,
    /// The message does not fit the padded length (`CryptoLargeMsgError`).
    #[error(transparent)]
    Pad(#[from] PadError),
    /// A key or signature of the wrong size or not a valid curve point.
    #[error("invalid {0}")]
    InvalidKey(&'static str),
}

/// A 24-byte NaCl nonce (`Crypto.CbNonce`); on the wire the raw 24 bytes, without length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CbNonce(pub [u8; NONCE_SIZE]);

impl CbNonce {
    /// `Crypto.cbNonce`: the first 24 bytes of `bytes`, right-padded with zero bytes when shorter.
    /// Used to turn a correlation id into the authenticator nonce.
    pub fn from_prefix(bytes: &[u8]) -> Self {
        let mut nonce = [0u8; NONCE_SIZE];
        let length = bytes.len().min(NONCE_SIZE);
        nonce[..length].copy_from_slice(&bytes[..length]);
        CbNonce(nonce)
    }

    /// `Crypto.reverseNonce`: the same bytes in reverse order.
    pub fn reversed(&self) -> Self {
        let mut bytes = self.0;
        bytes.reverse();
        CbNonce(bytes)
    }
}

impl Encode for CbNonce {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for CbNonce {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        reader.take_array().map(CbNonce)
    }
}

/// `Crypto.hkdf`: HKDF-SHA512 (RFC 5869) extract-then-expand, filling `output`. An empty salt is
/// the RFC's default salt. Fails only when `output` is longer than 255 × 64 bytes.
pub fn hkdf_sha512(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
    output: &mut [u8],
) -> Result<(), CryptoError> {
    hkdf::Hkdf::<sha2::Sha512>::new(Some(salt), ikm)
        .expand(info, output)
        .map_err(|_| CryptoError::InvalidKey("HKDF output length"))
}

/// `Crypto.sha256Hash`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

/// `Crypto.sha512Hash`.
pub fn sha512(bytes: &[u8]) -> [u8; 64] {
    sha2::Sha512::digest(bytes).into()
}

/// `Crypto.sha3_384`.
pub fn sha3_384(bytes: &[u8]) -> [u8; 48] {
    sha3::Sha3_384::digest(bytes).into()
}

/// The check of a client-chosen sender id in NEW (`Server.createQueue`, `sndId'`): the id must
/// equal the first 24 bytes of SHA3-384 of the correlation id bytes as received. Any other length
/// fails. Compared in constant time.
pub fn is_sender_id_of_corr_id(sender_id: &[u8], corr_id: &[u8]) -> bool {
    let digest = sha3_384(corr_id);
    sender_id.len() == 24 && bool::from(digest[..24].ct_eq(sender_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cb_nonce_pads_and_truncates() {
        // Crypto.hs cbNonce: exactly 24 kept, longer truncated, shorter right-padded with 0.
        let exact: Vec<u8> = (0..24).collect();
        assert_eq!(CbNonce::from_prefix(&exact).0.to_vec(), exact);
        let long: Vec<u8> = (0..30).collect();
        assert_eq!(CbNonce::from_prefix(&long).0.to_vec(), exact);
        let short = CbNonce::from_prefix(&[9, 8, 7]);
        assert_eq!(&short.0[..3], &[9, 8, 7]);
        assert!(short.0[3..].iter().all(|&b| b == 0));
    }

    #[test]
    fn reverse_nonce() {
        let nonce = CbNonce::from_prefix(&(0..24).collect::<Vec<u8>>());
        let reversed = nonce.reversed();
        assert_eq!(reversed.0[0], 23);
        assert_eq!(reversed.0[23], 0);
        assert_eq!(reversed.reversed(), nonce);
    }

    #[test]
    fn nonce_wire_form_is_raw() {
        let nonce = CbNonce([5; 24]);
        assert_eq!(nonce.to_bytes(), vec![5; 24]);
        assert_eq!(CbNonce::from_bytes(&[5; 24]), Ok(nonce));
        assert!(CbNonce::from_bytes(&[5; 23]).is_err());
    }

    #[test]
    fn hkdf_rfc5869_sha512_matches_independent_hmac_computation() {
        // HKDF by definition: PRK = HMAC(salt, ikm); T1 = HMAC(PRK, info || 0x01).
        use hmac::{Hmac, Mac};
        let (salt, ikm, info) = (
            b"salt".as_slice(),
            b"input key".as_slice(),
            b"info".as_slice(),
        );
        let mut out = [0u8; 64];
        hkdf_sha512(salt, ikm, info, &mut out).unwrap();
        let mut extract = Hmac::<sha2::Sha512>::new_from_slice(salt).unwrap();
        extract.update(ikm);
        let prk = extract.finalize().into_bytes();
        let mut expand = Hmac::<sha2::Sha512>::new_from_slice(&prk).unwrap();
        expand.update(info);
        expand.update(&[1]);
        assert_eq!(out.as_slice(), expand.finalize().into_bytes().as_slice());
        let mut too_long = vec![0u8; 255 * 64 + 1];
        assert!(hkdf_sha512(salt, ikm, info, &mut too_long).is_err());
    }

    #[test]
    fn sender_id_check() {
        let corr_id = [0x42u8; 24];
        let good = sha3_384(&corr_id)[..24].to_vec();
        assert!(is_sender_id_of_corr_id(&good, &corr_id));
        let mut bad = good.clone();
        bad[23] ^= 1;
        assert!(!is_sender_id_of_corr_id(&bad, &corr_id));
        assert!(!is_sender_id_of_corr_id(&good[..23], &corr_id));
        assert!(!is_sender_id_of_corr_id(&sha3_384(&corr_id), &corr_id));
    }

    #[test]
    fn sha3_384_of_empty_input() {
        // FIPS 202 SHA3-384("") known answer.
        assert_eq!(
            hex::encode(sha3_384(b"")),
            "0c63a75b845e4f7d01107d852e4c2485c51a50aaaa94fc61995e71bbee983a2ac3713831264adb47fb6bd1e058d5f004"
        );
    }
}
