//! Public keys in their wire form (`Crypto.encodePubKey`): `s8` of the DER SubjectPublicKeyInfo
//! (RFC 8410, algorithm identifier without parameters), and the server identity [`KeyHash`].
//!
//! Each algorithm's SPKI is a fixed 12-byte prefix followed by the raw key, so decoding is an exact
//! prefix match (DER-strict by construction: any other byte sequence is rejected).

use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};
use base64::Engine;

const ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
const ED448_PREFIX: [u8; 12] = [
    0x30, 0x43, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71, 0x03, 0x3a, 0x00,
];
const X25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
];
const X448_PREFIX: [u8; 12] = [
    0x30, 0x42, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6f, 0x03, 0x39, 0x00,
];

/// Any public key SMP can carry (`Crypto.APublicKey`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublicKey {
    Ed25519([u8; 32]),
    Ed448([u8; 57]),
    X25519([u8; 32]),
    X448([u8; 56]),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, raw) = match self {
            PublicKey::Ed25519(raw) => ("Ed25519", &raw[..]),
            PublicKey::Ed448(raw) => ("Ed448", &raw[..]),
            PublicKey::X25519(raw) => ("X25519", &raw[..]),
            PublicKey::X448(raw) => ("X448", &raw[..]),
        };
        write!(f, "{name}(")?;
        for byte in raw {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

impl PublicKey {
    /// The DER SubjectPublicKeyInfo (44, 69, 44 or 68 bytes).
    pub fn to_der(&self) -> Vec<u8> {
        let (prefix, raw): (&[u8], &[u8]) = match self {
            PublicKey::Ed25519(raw) => (&ED25519_PREFIX, raw),
            PublicKey::Ed448(raw) => (&ED448_PREFIX, raw),
            PublicKey::X25519(raw) => (&X25519_PREFIX, raw),
            PublicKey::X448(raw) => (&X448_PREFIX, raw),
        };
        let mut der = Vec::with_capacity(prefix.len() + raw.len());
        der.extend_from_slice(prefix);
        der.extend_from_slice(raw);
        der
    }

    /// Parses a DER SubjectPublicKeyInfo; trailing bytes are rejected.
    pub fn from_der(der: &[u8]) -> DecodeResult<Self> {
        fn raw<const N: usize>(der: &[u8], prefix: &[u8; 12]) -> Option<[u8; N]> {
            if der.len() != 12 + N || &der[..12] != prefix {
                return None;
            }
            let mut key = [0u8; N];
            key.copy_from_slice(&der[12..]);
            Some(key)
        }
        if let Some(key) = raw(der, &ED25519_PREFIX) {
            return Ok(PublicKey::Ed25519(key));
        }
        if let Some(key) = raw(der, &X25519_PREFIX) {
            return Ok(PublicKey::X25519(key));
        }
        if let Some(key) = raw(der, &ED448_PREFIX) {
            return Ok(PublicKey::Ed448(key));
        }
        if let Some(key) = raw(der, &X448_PREFIX) {
            return Ok(PublicKey::X448(key));
        }
        Err(DecodeError::Malformed("public key"))
    }
}

impl Encode for PublicKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_short(&self.to_der());
    }
}

impl Decode for PublicKey {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        PublicKey::from_der(reader.short_bytes()?)
    }
}

/// A key that may authorize commands: Ed25519, Ed448 or X25519 (`Crypto.AuthAlgorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthKey {
    Ed25519([u8; 32]),
    Ed448([u8; 57]),
    X25519([u8; 32]),
}

impl From<AuthKey> for PublicKey {
    fn from(key: AuthKey) -> Self {
        match key {
            AuthKey::Ed25519(raw) => PublicKey::Ed25519(raw),
            AuthKey::Ed448(raw) => PublicKey::Ed448(raw),
            AuthKey::X25519(raw) => PublicKey::X25519(raw),
        }
    }
}

impl TryFrom<PublicKey> for AuthKey {
    type Error = DecodeError;
    fn try_from(key: PublicKey) -> DecodeResult<Self> {
        match key {
            PublicKey::Ed25519(raw) => Ok(AuthKey::Ed25519(raw)),
            PublicKey::Ed448(raw) => Ok(AuthKey::Ed448(raw)),
            PublicKey::X25519(raw) => Ok(AuthKey::X25519(raw)),
            PublicKey::X448(_) => Err(DecodeError::Malformed("authorization key algorithm")),
        }
    }
}

impl Encode for AuthKey {
    fn encode(&self, out: &mut Vec<u8>) {
        PublicKey::from(*self).encode(out);
    }
}

impl Decode for AuthKey {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        AuthKey::try_from(PublicKey::decode(reader)?)
    }
}

/// An X25519 public key, the only DH key SMP uses (`Protocol.RcvPublicDhKey`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DhPublicKey(pub [u8; 32]);

impl std::fmt::Debug for DhPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&PublicKey::X25519(self.0), f)
    }
}

impl Encode for DhPublicKey {
    fn encode(&self, out: &mut Vec<u8>) {
        PublicKey::X25519(self.0).encode(out);
    }
}

impl Decode for DhPublicKey {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        match PublicKey::decode(reader)? {
            PublicKey::X25519(raw) => Ok(DhPublicKey(raw)),
            _ => Err(DecodeError::Malformed("X25519 key expected")),
        }
    }
}

/// Server identity: SHA-256 of the DER of the identity (CA) certificate. `s8` on the wire,
/// base64url with padding in text (`Crypto.KeyHash`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    /// SHA-256 of a DER certificate.
    pub fn of_certificate(der: &[u8]) -> Self {
        use sha2::Digest;
        KeyHash(sha2::Sha256::digest(der).into())
    }

    /// Base64url with `=` padding, as in server addresses and the `fingerprint` file.
    pub fn to_text(&self) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(self.0)
    }

    pub fn from_text(text: &str) -> DecodeResult<Self> {
        let bytes = crate::text::decode_base64url(text.as_bytes())?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| DecodeError::Malformed("key hash length"))?;
        Ok(KeyHash(array))
    }
}

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyHash({})", self.to_text())
    }
}

impl std::fmt::Display for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl Encode for KeyHash {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_short(&self.0);
    }
}

impl Decode for KeyHash {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let bytes = reader.short_bytes()?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| DecodeError::Malformed("key hash length"))?;
        Ok(KeyHash(array))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_prefixes_from_reference_dummy_keys() {
        // Server.hs: dummyKeyEd25519 / dummyKeyX25519 / dummyKeyEd448 share these prefixes.
        let ed = PublicKey::Ed25519([7; 32]).to_bytes();
        assert_eq!(ed.len(), 45);
        assert_eq!(
            &ed[..13],
            &[0x2c, 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]
        );
        assert_eq!(PublicKey::Ed448([1; 57]).to_bytes()[0], 0x45);
        assert_eq!(PublicKey::X448([1; 56]).to_bytes()[0], 0x44);
        for key in [
            PublicKey::Ed25519([3; 32]),
            PublicKey::Ed448([4; 57]),
            PublicKey::X25519([5; 32]),
            PublicKey::X448([6; 56]),
        ] {
            assert_eq!(PublicKey::from_bytes(&key.to_bytes()), Ok(key));
        }
    }

    #[test]
    fn wrong_key_kinds_and_trailing_der_are_rejected() {
        let x448 = PublicKey::X448([6; 56]).to_bytes();
        assert!(AuthKey::from_bytes(&x448).is_err());
        let ed = PublicKey::Ed25519([3; 32]).to_bytes();
        assert!(DhPublicKey::from_bytes(&ed).is_err());
        let mut der = PublicKey::Ed25519([3; 32]).to_der();
        der.push(0);
        assert!(PublicKey::from_der(&der).is_err());
    }

    #[test]
    fn key_hash_text_form() {
        // tests/SMPClient.hs: testKeyHash
        let text = "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=";
        let hash = KeyHash::from_text(text).expect("valid");
        assert_eq!(hash.to_text(), text);
    }
}
