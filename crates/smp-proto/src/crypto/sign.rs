//! Command authorization primitives: Ed25519 and Ed448 signatures (`Crypto.sign'`, `verify'`),
//! told apart by their length (`Crypto.decodeSignature`), and the 80-byte X25519 authenticator
//! (`Crypto.cbAuthenticate`, `cbVerify`).
//!
//! Ed448 uses OpenSSL (RFC 8032 "Ed448", empty context): the pure-Rust `ed448-goldilocks-plus`
//! verifies correctly (the tests cross-check both ways) but is about 14 times slower
//! (3.6 ms against 0.26 ms per verification, `docs/benchmarks.md`).

use super::{cb_decrypt_no_pad, cb_encrypt_no_pad, sha512, CbNonce, CryptoError, X25519KeyPair};
use crate::keys::{AuthKey, DhPublicKey};
use ed25519_dalek::Verifier;
use openssl::pkey::{Id, PKey, Private};
use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Size of an Ed25519 signature.
pub const ED25519_SIGNATURE_SIZE: usize = 64;
/// Size of an Ed448 signature.
pub const ED448_SIGNATURE_SIZE: usize = 114;
/// Size of an X25519 authenticator: SHA-512 digest + Poly1305 tag (`Crypto.cbAuthenticatorSize`).
pub const AUTHENTICATOR_SIZE: usize = 80;

/// An EdDSA signature, raw bytes (`Crypto.ASignature`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    Ed25519([u8; ED25519_SIGNATURE_SIZE]),
    Ed448([u8; ED448_SIGNATURE_SIZE]),
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signature::Ed25519(_) => f.write_str("Signature::Ed25519(..)"),
            Signature::Ed448(_) => f.write_str("Signature::Ed448(..)"),
        }
    }
}

impl Signature {
    /// `Crypto.decodeSignature`: the algorithm is the one whose signature has this length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if let Ok(raw) = <[u8; ED25519_SIGNATURE_SIZE]>::try_from(bytes) {
            Ok(Signature::Ed25519(raw))
        } else if let Ok(raw) = <[u8; ED448_SIGNATURE_SIZE]>::try_from(bytes) {
            Ok(Signature::Ed448(raw))
        } else {
            Err(CryptoError::InvalidKey("signature length"))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Signature::Ed25519(raw) => raw,
            Signature::Ed448(raw) => raw,
        }
    }

    /// `Crypto.verify`: true only if `key` is of the signature's algorithm and the signature is
    /// valid for `message`. An X25519 key never verifies a signature.
    pub fn verify(&self, key: &AuthKey, message: &[u8]) -> bool {
        match (self, key) {
            (Signature::Ed25519(signature), AuthKey::Ed25519(public)) => {
                verify_ed25519(public, signature, message)
            }
            (Signature::Ed448(signature), AuthKey::Ed448(public)) => {
                verify_ed448(public, signature, message)
            }
            _ => false,
        }
    }
}

/// Ed25519 verification (RFC 8032, cofactorless, as `crypton`'s `Ed25519.verify`). An invalid
/// public key is a failed verification.
pub fn verify_ed25519(public: &[u8; 32], signature: &[u8; 64], message: &[u8]) -> bool {
    match ed25519_dalek::VerifyingKey::from_bytes(public) {
        Ok(key) => key
            .verify(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok(),
        Err(_) => false,
    }
}

/// Ed448 verification (RFC 8032 "Ed448", empty context). An invalid public key or signature
/// encoding is a failed verification.
pub fn verify_ed448(public: &[u8; 57], signature: &[u8; 114], message: &[u8]) -> bool {
    let Ok(key) = PKey::public_key_from_raw_bytes(public, Id::ED448) else {
        return false;
    };
    // OpenSSL reports a malformed signature either as an error or as `false`: both fail.
    openssl::sign::Verifier::new_without_digest(&key)
        .and_then(|mut verifier| verifier.verify_oneshot(signature, message))
        .unwrap_or(false)
}

/// An Ed25519 private key (wiped on drop by `ed25519-dalek`).
#[derive(Clone)]
pub struct Ed25519SigningKey(ed25519_dalek::SigningKey);

impl Ed25519SigningKey {
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Ed25519SigningKey(ed25519_dalek::SigningKey::generate(rng))
    }

    /// The key of a 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    pub fn public_key(&self) -> AuthKey {
        AuthKey::Ed25519(self.0.verifying_key().to_bytes())
    }

    /// `Crypto.sign'`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        use ed25519_dalek::Signer;
        Signature::Ed25519(self.0.sign(message).to_bytes())
    }
}

/// An Ed448 private key (held and freed by OpenSSL).
#[derive(Clone)]
pub struct Ed448SigningKey {
    key: PKey<Private>,
    public: [u8; 57],
}

impl Ed448SigningKey {
    pub fn generate(rng: &mut impl CryptoRngCore) -> Result<Self, CryptoError> {
        let mut seed = [0u8; 57];
        rng.fill_bytes(&mut seed);
        let key = Self::from_seed(&seed);
        seed.zeroize();
        key
    }

    /// The key of a 57-byte RFC 8032 private key.
    pub fn from_seed(seed: &[u8; 57]) -> Result<Self, CryptoError> {
        let invalid = |_| CryptoError::InvalidKey("Ed448 private key");
        let key = PKey::private_key_from_raw_bytes(seed, Id::ED448).map_err(invalid)?;
        let public = key
            .raw_public_key()
            .map_err(invalid)?
            .try_into()
            .map_err(|_| CryptoError::InvalidKey("Ed448 public key"))?;
        Ok(Ed448SigningKey { key, public })
    }

    pub fn public_key(&self) -> AuthKey {
        AuthKey::Ed448(self.public)
    }

    /// `Crypto.sign'`. Fails only if OpenSSL does.
    pub fn sign(&self, message: &[u8]) -> Result<Signature, CryptoError> {
        let failed = |_| CryptoError::InvalidKey("Ed448 signing");
        let bytes = openssl::sign::Signer::new_without_digest(&self.key)
            .and_then(|mut signer| signer.sign_oneshot_to_vec(message))
            .map_err(failed)?;
        let raw = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidKey("Ed448 signature length"))?;
        Ok(Signature::Ed448(raw))
    }
}

/// An X25519 command authenticator (`Crypto.CbAuthenticator`): the box of SHA-512 of the
/// authorized bytes under the DH secret of the queue's X25519 key and the server session key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Authenticator(pub [u8; AUTHENTICATOR_SIZE]);

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticator(..)")
    }
}

/// `Crypto.cbAuthenticate`: `cbEncryptNoPad(X25519(own, peer), nonce, SHA-512(message))`. The
/// nonce is `CbNonce::from_prefix(corr_id)` in SMP.
pub fn cb_authenticate(
    peer: &DhPublicKey,
    own: &X25519KeyPair,
    nonce: &CbNonce,
    message: &[u8],
) -> Authenticator {
    let boxed = cb_encrypt_no_pad(&own.diffie_hellman(peer), nonce, &sha512(message));
    let mut raw = [0u8; AUTHENTICATOR_SIZE];
    // A box of a 64-byte digest is always 16 + 64 = 80 bytes.
    raw.copy_from_slice(&boxed);
    Authenticator(raw)
}

/// `Crypto.cbVerify`: the authenticator opens under `X25519(own, peer)` and `nonce` (tag checked in
/// constant time) and holds SHA-512 of `authorized` (compared in constant time).
pub fn cb_verify(
    peer: &DhPublicKey,
    own: &X25519KeyPair,
    nonce: &CbNonce,
    authenticator: &Authenticator,
    authorized: &[u8],
) -> bool {
    let expected = sha512(authorized);
    match cb_decrypt_no_pad(&own.diffie_hellman(peer), nonce, &authenticator.0) {
        // MUST: constant-time comparison, no early exit on the first differing byte.
        Ok(digest) => bool::from(digest.as_slice().ct_eq(expected.as_slice())),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex<const N: usize>(text: &str) -> [u8; N] {
        hex::decode(text).unwrap().try_into().unwrap()
    }

    fn range(from: u8, to_inclusive: u8) -> Vec<u8> {
        (from..=to_inclusive).collect()
    }

    #[test]
    fn authenticator_spec_vector_and_definition() {
        // spec §9.8: secret = dh of the a/b keys, corrId = N, authorized = s8(sessionId) s8(N) s8("") "PING".
        let a = X25519KeyPair::from_secret_bytes(unhex(
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
        ));
        let b = X25519KeyPair::from_secret_bytes(unhex(
            "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",
        ));
        let corr_id = range(0x64, 0x7b);
        let mut authorized = vec![0x20];
        authorized.extend(range(0xc8, 0xe7));
        authorized.push(0x18);
        authorized.extend(&corr_id);
        authorized.push(0x00);
        authorized.extend(b"PING");
        let nonce = CbNonce::from_prefix(&corr_id);
        let authenticator = cb_authenticate(b.public_key(), &a, &nonce, &authorized);
        assert_eq!(
            hex::encode(authenticator.0),
            "9f27301800d8b50b3120f1b306ae19eb48971c6dfb32da022218c1efeb67940bf7794294c3c84e4290257cbc985cf13b\
             119a3dc58210af06ed05cd6a4a6206cf4a2cf198606f15d43d1fc0c47a190da9"
        );
        // Recomputed from the definition: crypto_box_easy(SHA-512(authorized)) with libsodium.
        use sodiumoxide::crypto::box_;
        let expected = box_::seal(
            &sha512(&authorized),
            &box_::Nonce(nonce.0),
            &box_::PublicKey(b.public_key().0),
            &box_::SecretKey(a.secret_bytes()),
        );
        assert_eq!(authenticator.0.as_slice(), expected.as_slice());
        // The other side verifies with its own private key and the peer's public key.
        assert!(cb_verify(
            a.public_key(),
            &b,
            &nonce,
            &authenticator,
            &authorized
        ));
    }

    #[test]
    fn authenticator_negative_cases() {
        let mut rng = rand::thread_rng();
        let client = X25519KeyPair::generate(&mut rng);
        let server = X25519KeyPair::generate(&mut rng);
        let nonce = CbNonce::from_prefix(b"correlation id");
        let authenticator = cb_authenticate(server.public_key(), &client, &nonce, b"authorized");
        assert!(cb_verify(
            client.public_key(),
            &server,
            &nonce,
            &authenticator,
            b"authorized"
        ));
        assert!(!cb_verify(
            client.public_key(),
            &server,
            &nonce,
            &authenticator,
            b"authorizeD"
        ));
        assert!(!cb_verify(
            client.public_key(),
            &server,
            &nonce.reversed(),
            &authenticator,
            b"authorized"
        ));
        let stranger = X25519KeyPair::generate(&mut rng);
        assert!(!cb_verify(
            stranger.public_key(),
            &server,
            &nonce,
            &authenticator,
            b"authorized"
        ));
        for position in [0, 15, 16, 79] {
            let mut tampered = authenticator;
            tampered.0[position] ^= 1;
            assert!(!cb_verify(
                client.public_key(),
                &server,
                &nonce,
                &tampered,
                b"authorized"
            ));
        }
    }

    #[test]
    fn ed25519_spec_vector() {
        // spec §9.8: seed 11×32, signed bytes of a v16+ SEND.
        let key = Ed25519SigningKey::from_seed(&[0x11; 32]);
        assert_eq!(
            key.public_key(),
            AuthKey::Ed25519(unhex(
                "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"
            ))
        );
        let mut signed = vec![0x20];
        signed.extend(range(0xc8, 0xe7));
        signed.push(0x18);
        signed.extend(range(0xc0, 0xd7));
        signed.push(0x18);
        signed.extend(range(0x50, 0x67));
        signed.extend(b"SEND F hello");
        let signature = key.sign(&signed);
        assert_eq!(
            hex::encode(signature.as_bytes()),
            "56b1cec3e158b18df6c83bc664ea74f2c8c26f09fbad28aa524075ba54a7e7e6\
             07e54c1afe231452eb116a3ecde2fa9676d434f68199f9c0ed83b4518a8aff04"
        );
        assert!(signature.verify(&key.public_key(), &signed));
        signed.push(0);
        assert!(!signature.verify(&key.public_key(), &signed));
    }

    #[test]
    fn signature_kind_by_length() {
        assert!(matches!(
            Signature::from_bytes(&[0; 64]),
            Ok(Signature::Ed25519(_))
        ));
        assert!(matches!(
            Signature::from_bytes(&[0; 114]),
            Ok(Signature::Ed448(_))
        ));
        for length in [0, 63, 65, 80, 113, 115] {
            assert!(
                Signature::from_bytes(&vec![0; length]).is_err(),
                "length {length}"
            );
        }
    }

    #[test]
    fn algorithm_mismatch_never_verifies() {
        let mut rng = rand::thread_rng();
        let ed25519 = Ed25519SigningKey::generate(&mut rng);
        let ed448 = Ed448SigningKey::generate(&mut rng).unwrap();
        let signature = ed25519.sign(b"message");
        assert!(!signature.verify(&ed448.public_key(), b"message"));
        assert!(!signature.verify(&AuthKey::X25519([9; 32]), b"message"));
        let signature = ed448.sign(b"message").unwrap();
        assert!(signature.verify(&ed448.public_key(), b"message"));
        assert!(!signature.verify(&ed25519.public_key(), b"message"));
    }

    #[test]
    fn ed448_cross_checked_with_pure_rust_both_ways() {
        // An independent implementation (ed448-goldilocks-plus) signs and verifies the same bytes.
        let mut rng = rand::thread_rng();
        for round in 0..8usize {
            let ours = Ed448SigningKey::generate(&mut rng).unwrap();
            let seed: [u8; 57] = ours.key.raw_private_key().unwrap().try_into().unwrap();
            let theirs = ed448_goldilocks_plus::SigningKey::from_bytes((&seed).into());
            let AuthKey::Ed448(public) = ours.public_key() else {
                panic!("Ed448 key produced another public key kind")
            };
            assert_eq!(
                theirs.verifying_key().as_bytes().as_slice(),
                public.as_slice()
            );
            let message = vec![round as u8; round * 41];
            // EdDSA is deterministic: both sign to the same bytes.
            let signature = ours.sign(&message).unwrap();
            let their_signature = theirs.sign_raw(&message).to_bytes();
            assert_eq!(signature.as_bytes(), their_signature.as_slice());
            // They verify ours; we verify theirs.
            let their_key = ed448_goldilocks_plus::VerifyingKey::from_bytes(&public).unwrap();
            let parsed = ed448_goldilocks_plus::Signature::from_bytes(
                signature.as_bytes().try_into().unwrap(),
            )
            .unwrap();
            assert!(their_key.verify_raw(&parsed, &message).is_ok());
            let theirs_parsed = Signature::from_bytes(&their_signature).unwrap();
            assert!(theirs_parsed.verify(&ours.public_key(), &message));
            let mut wrong = message.clone();
            wrong.push(1);
            assert!(!theirs_parsed.verify(&ours.public_key(), &wrong));
        }
    }

    #[test]
    fn ed448_rejects_tampering_and_bad_encodings() {
        let key = Ed448SigningKey::from_seed(&[0x33; 57]).unwrap();
        let Signature::Ed448(raw) = key.sign(b"m").unwrap() else {
            panic!("Ed448 key produced another signature kind")
        };
        let AuthKey::Ed448(public) = key.public_key() else {
            panic!("Ed448 key produced another public key kind")
        };
        assert!(verify_ed448(&public, &raw, b"m"));
        for position in [0, 56, 57, 113] {
            let mut tampered = raw;
            tampered[position] ^= 1;
            assert!(!verify_ed448(&public, &tampered, b"m"), "byte {position}");
        }
        assert!(!verify_ed448(&[0xff; 57], &raw, b"m"));
    }

    #[test]
    fn ed25519_rejects_bad_public_key() {
        assert!(!verify_ed25519(&[0xff; 32], &[0; 64], b"m"));
    }
}
