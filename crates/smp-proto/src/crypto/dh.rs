//! X25519 key agreement (`Crypto.dh'` for X25519, `generateKeyPair` for the DH algorithm).

use crate::keys::DhPublicKey;
use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A raw X25519 shared secret (`Crypto.DhSecret X25519`): the key of `cbEncrypt`/`cbDecrypt`, the
/// authenticator and the block-encryption chain. Wiped on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct DhSecret(pub [u8; 32]);

impl DhSecret {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DhSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DhSecret(..)")
    }
}

/// An X25519 key pair: the server's per-connection session key and per-queue DH keys. The private
/// half is wiped on drop (by `x25519-dalek`).
#[derive(Clone)]
pub struct X25519KeyPair {
    secret: StaticSecret,
    public: DhPublicKey,
}

impl std::fmt::Debug for X25519KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X25519KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl X25519KeyPair {
    /// A fresh key pair from `rng` (injected so tests can be deterministic).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        let pair = Self::from_secret_bytes(bytes);
        bytes.zeroize();
        pair
    }

    /// The key pair of a raw 32-byte private key (clamped by X25519 as usual).
    pub fn from_secret_bytes(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = DhPublicKey(PublicKey::from(&secret).to_bytes());
        X25519KeyPair { secret, public }
    }

    pub fn public_key(&self) -> &DhPublicKey {
        &self.public
    }

    /// The raw private key bytes (for storing a queue's server key).
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// `Crypto.dh'`: `X25519(self.private, peer)`. No check of the result (as the reference).
    pub fn diffie_hellman(&self, peer: &DhPublicKey) -> DhSecret {
        DhSecret(
            self.secret
                .diffie_hellman(&PublicKey::from(peer.0))
                .to_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex<const N: usize>(text: &str) -> [u8; N] {
        hex::decode(text).unwrap().try_into().unwrap()
    }

    #[test]
    fn spec_vector_keys_and_secret() {
        // spec §9.8 X25519 keys.
        let a = X25519KeyPair::from_secret_bytes(unhex(
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
        ));
        let b = X25519KeyPair::from_secret_bytes(unhex(
            "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",
        ));
        assert_eq!(
            hex::encode(a.public_key().0),
            "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
        );
        assert_eq!(
            hex::encode(b.public_key().0),
            "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b"
        );
        let dh = a.diffie_hellman(b.public_key());
        assert_eq!(
            hex::encode(dh.0),
            "a84dc7c3c8f058b1b2dc4cd1e9b5dc0a7987f88b6a9564cde3391fc421159e77"
        );
        assert_eq!(b.diffie_hellman(a.public_key()), dh);
    }

    #[test]
    fn generated_pairs_agree() {
        let mut rng = rand::thread_rng();
        let a = X25519KeyPair::generate(&mut rng);
        let b = X25519KeyPair::generate(&mut rng);
        assert_eq!(
            a.diffie_hellman(b.public_key()),
            b.diffie_hellman(a.public_key())
        );
        let restored = X25519KeyPair::from_secret_bytes(a.secret_bytes());
        assert_eq!(restored.public_key(), a.public_key());
        assert!(!format!("{a:?}").contains(&hex::encode(a.secret_bytes())));
    }
}
