//! Key pairs a client holds: authorization keys (Ed25519, Ed448 or X25519,
//! `Crypto.generateAuthKeyPair`) and how one authorizes a transmission (`Client.authTransmission`):
//! an EdDSA signature over the authorized bytes, or for X25519 the 80-byte authenticator made
//! with the server's session key from the hello (`Crypto.cbAuthenticate`).

use rand_core::OsRng;
use smp_proto::crypto::CbNonce;
use smp_proto::crypto::X25519KeyPair;
use smp_proto::crypto::{cb_authenticate, Ed25519SigningKey, Ed448SigningKey};
use smp_proto::ids::CorrId;
use smp_proto::keys::{AuthKey, DhPublicKey};
use smp_proto::transmission::TransmissionAuth;

use crate::error::{ClientError, ClientResult};

/// The algorithm of an authorization key (`Crypto.AuthAlg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthAlgorithm {
    /// The agent's default for recipients and senders.
    #[default]
    Ed25519,
    Ed448,
    /// Authorizes with an authenticator (v7+, needs the server session key).
    X25519,
}

enum AuthPrivateKey {
    Ed25519(Ed25519SigningKey),
    Ed448(Box<Ed448SigningKey>),
    X25519(X25519KeyPair),
}

/// An authorization key pair.
pub struct AuthKeyPair {
    private: AuthPrivateKey,
    public: AuthKey,
}

impl std::fmt::Debug for AuthKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl AuthKeyPair {
    /// A fresh random key pair (fails only if OpenSSL cannot make an Ed448 key).
    pub fn generate(algorithm: AuthAlgorithm) -> ClientResult<Self> {
        Ok(match algorithm {
            AuthAlgorithm::Ed25519 => {
                let key = Ed25519SigningKey::generate(&mut OsRng);
                let public = key.public_key();
                AuthKeyPair {
                    private: AuthPrivateKey::Ed25519(key),
                    public,
                }
            }
            AuthAlgorithm::Ed448 => {
                let key = Ed448SigningKey::generate(&mut OsRng)
                    .map_err(|error| ClientError::Local(error.to_string()))?;
                let public = key.public_key();
                AuthKeyPair {
                    private: AuthPrivateKey::Ed448(Box::new(key)),
                    public,
                }
            }
            AuthAlgorithm::X25519 => {
                let pair = X25519KeyPair::generate(&mut OsRng);
                let public = AuthKey::X25519(pair.public_key().0);
                AuthKeyPair {
                    private: AuthPrivateKey::X25519(pair),
                    public,
                }
            }
        })
    }

    /// An Ed25519 key pair from a 32-byte seed (deterministic, for test vectors).
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Self {
        let key = Ed25519SigningKey::from_seed(seed);
        let public = key.public_key();
        AuthKeyPair {
            private: AuthPrivateKey::Ed25519(key),
            public,
        }
    }

    pub fn algorithm(&self) -> AuthAlgorithm {
        match self.private {
            AuthPrivateKey::Ed25519(_) => AuthAlgorithm::Ed25519,
            AuthPrivateKey::Ed448(_) => AuthAlgorithm::Ed448,
            AuthPrivateKey::X25519(_) => AuthAlgorithm::X25519,
        }
    }

    pub fn public_key(&self) -> AuthKey {
        self.public
    }

    /// The authorization of `authorized` (`Client.authTransmission`): a 64-byte Ed25519 or
    /// 114-byte Ed448 signature, or the 80-byte X25519 authenticator made with the server
    /// session key and `corr_id` as nonce (`Client.TENoServerAuth` without that key).
    pub fn authorize(
        &self,
        authorized: &[u8],
        corr_id: &CorrId,
        server_session_key: Option<&DhPublicKey>,
    ) -> ClientResult<TransmissionAuth> {
        let bytes = match &self.private {
            AuthPrivateKey::Ed25519(key) => key.sign(authorized).as_bytes().to_vec(),
            AuthPrivateKey::Ed448(key) => key
                .sign(authorized)
                .map_err(|error| ClientError::Local(error.to_string()))?
                .as_bytes()
                .to_vec(),
            AuthPrivateKey::X25519(pair) => {
                let server_key = server_session_key.ok_or_else(|| {
                    ClientError::Local("no server session key for an X25519 authenticator".into())
                })?;
                let nonce = CbNonce::from_prefix(corr_id.as_bytes());
                cb_authenticate(server_key, pair, &nonce, authorized)
                    .0
                    .to_vec()
            }
        };
        TransmissionAuth::from_slice(&bytes)?
            .ok_or_else(|| ClientError::Local("empty authorization".into()))
    }
}

/// A fresh X25519 key pair (queue DH keys, notifier DH keys).
pub fn generate_dh_key_pair() -> X25519KeyPair {
    X25519KeyPair::generate(&mut OsRng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smp_proto::crypto::{cb_verify, Signature};

    #[test]
    fn authorization_lengths_per_algorithm() {
        let corr_id = CorrId::from([1u8; 24]);
        let server = generate_dh_key_pair();
        for (algorithm, length) in [
            (AuthAlgorithm::Ed25519, 64),
            (AuthAlgorithm::Ed448, 114),
            (AuthAlgorithm::X25519, 80),
        ] {
            let pair = AuthKeyPair::generate(algorithm).unwrap();
            assert_eq!(pair.algorithm(), algorithm);
            let auth = pair
                .authorize(b"authorized", &corr_id, Some(server.public_key()))
                .unwrap();
            assert_eq!(auth.as_bytes().len(), length, "{algorithm:?}");
        }
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        for algorithm in [AuthAlgorithm::Ed25519, AuthAlgorithm::Ed448] {
            let pair = AuthKeyPair::generate(algorithm).unwrap();
            let auth = pair.authorize(b"message", &CorrId::empty(), None).unwrap();
            let signature = Signature::from_bytes(auth.as_bytes()).unwrap();
            assert!(signature.verify(&pair.public_key(), b"message"));
            assert!(!signature.verify(&pair.public_key(), b"other"));
        }
    }

    #[test]
    fn authenticator_verifies_on_the_server_side() {
        let server = generate_dh_key_pair();
        let pair = AuthKeyPair::generate(AuthAlgorithm::X25519).unwrap();
        let corr_id = CorrId::from([9u8; 24]);
        let auth = pair
            .authorize(b"authorized", &corr_id, Some(server.public_key()))
            .unwrap();
        let AuthKey::X25519(raw) = pair.public_key() else {
            panic!("X25519 expected")
        };
        let authenticator = smp_proto::crypto::Authenticator(auth.as_bytes().try_into().unwrap());
        let nonce = CbNonce::from_prefix(corr_id.as_bytes());
        assert!(cb_verify(
            &DhPublicKey(raw),
            &server,
            &nonce,
            &authenticator,
            b"authorized"
        ));
        assert!(!cb_verify(
            &DhPublicKey(raw),
            &server,
            &nonce,
            &authenticator,
            b"other"
        ));
    }

    #[test]
    fn x25519_needs_the_server_session_key() {
        let pair = AuthKeyPair::generate(AuthAlgorithm::X25519).unwrap();
        let error = pair.authorize(b"x", &CorrId::empty(), None).unwrap_err();
        assert!(matches!(error, ClientError::Local(_)));
    }

    #[test]
    fn ed25519_seed_vector() {
        // Spec §9.8: seed 11×32 gives the SPKI 302a…d04ab232742bb4ab…
        let pair = AuthKeyPair::ed25519_from_seed(&[0x11; 32]);
        let AuthKey::Ed25519(raw) = pair.public_key() else {
            panic!("Ed25519 expected")
        };
        assert_eq!(
            hex::encode(raw),
            "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"
        );
    }
}
