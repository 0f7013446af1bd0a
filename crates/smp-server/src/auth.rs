//! Command authorization checks with timing-attack mitigation (`Server.hs:
//! verifyCmdAuthorization`, `verifyCmdAuth`, `dummyVerifyCmd`, `dummyKeyEd25519`,
//! `dummyKeyEd448`, `dummyKeyX25519`).
//!
//! MUST (spec §5.9): "queue missing", "wrong key kind" and "wrong key" take the same time for a
//! given kind of authorization, so every failure path runs one real verification — with a fixed
//! dummy key of the kind the client presented when there is no matching real key.
//!
//! The cryptographic primitives are behind [`Verifier`], implemented per connection with the
//! server session key (X25519 authenticators need it); this keeps the decision logic testable.

use smp_proto::keys::AuthKey;

/// The authorization of a transmission, by kind (`Protocol.hs: TransmissionAuth`; the kind
/// follows from the length on the wire: 64, 114 or 80 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization<'a> {
    /// Ed25519 signature (64 bytes).
    Ed25519(&'a [u8]),
    /// Ed448 signature (114 bytes).
    Ed448(&'a [u8]),
    /// X25519 authenticator (80 bytes), v7+.
    Authenticator(&'a [u8]),
}

/// The signature and authenticator checks (`Crypto.verify'`, `Crypto.cbVerify`).
pub trait Verifier {
    /// EdDSA verification of `signature` over `data`; `key` is an Ed25519 or Ed448 key.
    fn verify_signature(&self, key: &AuthKey, signature: &[u8], data: &[u8]) -> bool;

    /// Checks an X25519 authenticator of `data` made for `key` and this connection's server
    /// session key, with the correlation-id nonce. False when the connection has no session
    /// key (v6).
    fn verify_authenticator(
        &self,
        key: &[u8; 32],
        authenticator: &[u8],
        data: &[u8],
        nonce: &[u8; 24],
    ) -> bool;
}

/// `Server.hs: dummyKeyEd25519` (raw key of the SPKI `MCowBQYDK2VwAyEA139O…`).
pub const DUMMY_KEY_ED25519: [u8; 32] = [
    0xd7, 0x7f, 0x4e, 0xaa, 0xce, 0x10, 0x82, 0x9a, 0x9b, 0x02, 0x60, 0x74, 0xa3, 0xba, 0xd9, 0x7f,
    0xa4, 0xf5, 0xf6, 0xbc, 0xa5, 0xec, 0x4e, 0xb9, 0x93, 0x80, 0x18, 0x7b, 0x49, 0x04, 0xdd, 0x0b,
];

/// `Server.hs: dummyKeyEd448` (raw key of the SPKI `MEMwBQYDK2VxAzoA6ibQ…`).
pub const DUMMY_KEY_ED448: [u8; 57] = [
    0xea, 0x26, 0xd0, 0x73, 0xd5, 0xe9, 0x91, 0x22, 0xed, 0xc2, 0xb7, 0xfb, 0x3c, 0xbb, 0xe9, 0xf3,
    0x5a, 0x96, 0xfd, 0xeb, 0x62, 0xba, 0x67, 0x24, 0x54, 0x52, 0x26, 0x08, 0xc4, 0x5d, 0x7e, 0xd7,
    0x06, 0xfd, 0x7a, 0x29, 0x6c, 0xe4, 0x9a, 0xab, 0xda, 0xb2, 0x2e, 0x1a, 0xe0, 0x25, 0x62, 0x8e,
    0x2f, 0x23, 0x6b, 0x40, 0xf3, 0x55, 0xbe, 0x93, 0x00,
];

/// `Server.hs: dummyKeyX25519` (raw key of the SPKI `MCowBQYDK2VuAyEA4JGS…`).
pub const DUMMY_KEY_X25519: [u8; 32] = [
    0xe0, 0x91, 0x92, 0x31, 0x88, 0x6d, 0xd7, 0xc1, 0xf8, 0x99, 0xab, 0x3f, 0x8c, 0x77, 0x81, 0xc1,
    0xf7, 0x0c, 0xee, 0x32, 0xf0, 0x35, 0x82, 0x4d, 0x38, 0x08, 0x62, 0xdb, 0xf8, 0x38, 0x45, 0x78,
];

/// What is authorized and with which nonce (`SignedTransmission`'s `authorized` bytes and corrId).
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub authorization: Option<Authorization<'a>>,
    /// `s8(sessionId) || s8(corrId) || s8(entityId) || command`.
    pub authorized: &'a [u8],
    /// `cbNonce(corrId)`.
    pub nonce: [u8; 24],
}

impl Signed<'_> {
    /// `verifyCmdAuthorization`: true iff the authorization verifies with `key`. A kind mismatch
    /// (e.g. an Ed448 signature for an Ed25519 key, an authenticator for an Ed key) runs the
    /// check with the dummy key of the presented kind and fails.
    pub fn verify_with(&self, verifier: &impl Verifier, key: &AuthKey) -> bool {
        let Some(authorization) = self.authorization else {
            return false;
        };
        match (authorization, key) {
            (Authorization::Ed25519(signature), AuthKey::Ed25519(_))
            | (Authorization::Ed448(signature), AuthKey::Ed448(_)) => {
                verifier.verify_signature(key, signature, self.authorized)
            }
            (Authorization::Authenticator(authenticator), AuthKey::X25519(raw)) => {
                verifier.verify_authenticator(raw, authenticator, self.authorized, &self.nonce)
            }
            _ => {
                // MUST: same time as a real check of this kind (dummy key), then fail.
                let _ = self.dummy_verify(verifier);
                false
            }
        }
    }

    /// `verifiedWithKeys`: true iff any of the keys verifies (recipient keys after RKEY).
    pub fn verify_with_any(&self, verifier: &impl Verifier, keys: &[AuthKey]) -> bool {
        keys.iter().any(|key| self.verify_with(verifier, key))
    }

    /// `dummyVerifyCmd`: one verification with the dummy key of the presented kind (result is
    /// meaningless; callers answer `ERR AUTH`). No authorization → nothing to do.
    pub fn dummy_verify(&self, verifier: &impl Verifier) -> bool {
        match self.authorization {
            None => false,
            Some(Authorization::Ed25519(signature)) => verifier.verify_signature(
                &AuthKey::Ed25519(DUMMY_KEY_ED25519),
                signature,
                self.authorized,
            ),
            Some(Authorization::Ed448(signature)) => verifier.verify_signature(
                &AuthKey::Ed448(DUMMY_KEY_ED448),
                signature,
                self.authorized,
            ),
            Some(Authorization::Authenticator(authenticator)) => verifier.verify_authenticator(
                &DUMMY_KEY_X25519,
                authenticator,
                self.authorized,
                &self.nonce,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Records which key each check used; a check passes iff the "signature" equals the key's
    /// first byte repeated.
    #[derive(Default)]
    struct Recorder {
        calls: RefCell<Vec<Vec<u8>>>,
    }

    fn key_bytes(key: &AuthKey) -> Vec<u8> {
        match key {
            AuthKey::Ed25519(raw) | AuthKey::X25519(raw) => raw.to_vec(),
            AuthKey::Ed448(raw) => raw.to_vec(),
        }
    }

    impl Verifier for Recorder {
        fn verify_signature(&self, key: &AuthKey, signature: &[u8], _data: &[u8]) -> bool {
            let raw = key_bytes(key);
            self.calls.borrow_mut().push(raw.clone());
            signature.iter().all(|byte| *byte == raw[0])
        }
        fn verify_authenticator(
            &self,
            key: &[u8; 32],
            authenticator: &[u8],
            _data: &[u8],
            _nonce: &[u8; 24],
        ) -> bool {
            self.calls.borrow_mut().push(key.to_vec());
            authenticator.iter().all(|byte| *byte == key[0])
        }
    }

    fn signed(authorization: Option<Authorization<'_>>) -> Signed<'_> {
        Signed {
            authorization,
            authorized: b"data",
            nonce: [0; 24],
        }
    }

    #[test]
    fn matching_kind_uses_the_real_key() {
        let recorder = Recorder::default();
        let signature = [9u8; 64];
        let check = signed(Some(Authorization::Ed25519(&signature)));
        assert!(check.verify_with(&recorder, &AuthKey::Ed25519([9; 32])));
        assert!(!check.verify_with(&recorder, &AuthKey::Ed25519([8; 32])));
        assert_eq!(recorder.calls.borrow().len(), 2);
        assert_eq!(recorder.calls.borrow()[1], vec![8; 32]);
    }

    #[test]
    fn kind_mismatch_runs_the_dummy_of_the_presented_kind() {
        let recorder = Recorder::default();
        let signature = [DUMMY_KEY_ED448[0]; 114];
        let check = signed(Some(Authorization::Ed448(&signature)));
        // would "verify" with the dummy Ed448 key, but a mismatch always fails
        assert!(!check.verify_with(&recorder, &AuthKey::Ed25519([1; 32])));
        assert_eq!(*recorder.calls.borrow(), [DUMMY_KEY_ED448.to_vec()]);

        let recorder = Recorder::default();
        let authenticator = [0u8; 80];
        let check = signed(Some(Authorization::Authenticator(&authenticator)));
        assert!(!check.verify_with(&recorder, &AuthKey::Ed448([1; 57])));
        assert_eq!(*recorder.calls.borrow(), [DUMMY_KEY_X25519.to_vec()]);
    }

    #[test]
    fn authenticator_with_x25519_key() {
        let recorder = Recorder::default();
        let authenticator = [4u8; 80];
        let check = signed(Some(Authorization::Authenticator(&authenticator)));
        assert!(check.verify_with(&recorder, &AuthKey::X25519([4; 32])));
        // a signature for an X25519 key: dummy Ed25519 check
        let recorder = Recorder::default();
        let signature = [4u8; 64];
        let check = signed(Some(Authorization::Ed25519(&signature)));
        assert!(!check.verify_with(&recorder, &AuthKey::X25519([4; 32])));
        assert_eq!(*recorder.calls.borrow(), [DUMMY_KEY_ED25519.to_vec()]);
    }

    #[test]
    fn missing_authorization_fails_without_checks() {
        let recorder = Recorder::default();
        let check = signed(None);
        assert!(!check.verify_with(&recorder, &AuthKey::Ed25519([1; 32])));
        assert!(!check.dummy_verify(&recorder));
        assert!(recorder.calls.borrow().is_empty());
    }

    #[test]
    fn any_of_several_recipient_keys() {
        let recorder = Recorder::default();
        let signature = [2u8; 64];
        let check = signed(Some(Authorization::Ed25519(&signature)));
        let keys = [AuthKey::Ed25519([1; 32]), AuthKey::Ed25519([2; 32])];
        assert!(check.verify_with_any(&recorder, &keys));
        assert!(!check.verify_with_any(&recorder, &keys[..1]));
    }

    #[test]
    fn dummy_keys_are_the_reference_spki_keys() {
        use smp_proto::keys::PublicKey;
        // Server.hs: dummyKeyEd25519 / dummyKeyEd448 / dummyKeyX25519 (base64 SPKI)
        let spki = |text: &str| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap()
        };
        assert_eq!(
            PublicKey::from_der(&spki(
                "MCowBQYDK2VwAyEA139Oqs4QgpqbAmB0o7rZf6T19ryl7E65k4AYe0kE3Qs="
            )),
            Ok(PublicKey::Ed25519(DUMMY_KEY_ED25519))
        );
        assert_eq!(
            PublicKey::from_der(&spki("MEMwBQYDK2VxAzoA6ibQc9XpkSLtwrf7PLvp81qW/etiumckVFImCMRdftcG/XopbOSaq9qyLhrgJWKOLyNrQPNVvpMA")),
            Ok(PublicKey::Ed448(DUMMY_KEY_ED448))
        );
        assert_eq!(
            PublicKey::from_der(&spki(
                "MCowBQYDK2VuAyEA4JGSMYht18H4mas/jHeBwfcM7jLwNYJNOAhi2/g4RXg="
            )),
            Ok(PublicKey::X25519(DUMMY_KEY_X25519))
        );
    }
}
