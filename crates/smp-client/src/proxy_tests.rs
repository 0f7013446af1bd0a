//! Tests of the proxy encryption layers and the relay check.

use super::*;
use openssl::sign::Signer;
use smp_proto::block::encode_batch;
use smp_proto::transmission::encode_server;
use smp_proto::x509::{CertChain, SignedObject};
use smp_transport::credentials::{create_server_credentials, ServerCredentials, SignAlgorithm};

fn relay_params() -> TransmissionParams {
    TransmissionParams::new(Version(17), vec![7; 32])
}

#[test]
fn s2r_layer_is_padded_and_answers_under_the_reversed_nonce() {
    // `proxySMPCommand` / `processForwardedCommand`: DH(ephemeral, relay session key).
    let relay_key = X25519KeyPair::from_secret_bytes([1; 32]);
    let ephemeral = X25519KeyPair::from_secret_bytes([2; 32]);
    let client_secret = ephemeral.diffie_hellman(relay_key.public_key());
    let relay_secret = relay_key.diffie_hellman(ephemeral.public_key());
    assert_eq!(client_secret.as_bytes(), relay_secret.as_bytes());
    let nonce = CbNonce((0..24).collect::<Vec<u8>>().try_into().unwrap());
    let transmission = b"\x00\x18corr-id-24-bytes-long!!!\x18entity-24-bytes-long!!!!SEND F x";
    let sealed = seal_proxied(&client_secret, &nonce, transmission).unwrap();
    // 16 226 padded + 16 authenticator (`paddedProxiedTLength`).
    assert_eq!(sealed.len(), PADDED_PROXIED_LENGTH + 16);
    let content = cb_decrypt(&relay_secret, &nonce, &sealed).unwrap();
    let mut expected = vec![1, 0, transmission.len() as u8];
    expected.extend_from_slice(transmission);
    assert_eq!(content, expected);
    // The forward nonce does not open the answer; the reversed one does.
    let params = relay_params();
    let answer = encode_server(
        &params,
        &CorrId::from([3; 24]),
        &EntityId::from([4; 24]),
        &Response::Ok,
    );
    let mut batch = Vec::new();
    encode_batch(&[answer], &mut batch).unwrap();
    let reply = cb_encrypt(
        &relay_secret,
        &nonce.reversed(),
        &batch,
        PADDED_PROXIED_LENGTH,
    )
    .unwrap();
    assert!(matches!(
        open_proxied_response(&client_secret, &nonce, &params, &reply),
        Ok(Response::Ok)
    ));
    let wrong = cb_encrypt(&relay_secret, &nonce, &batch, PADDED_PROXIED_LENGTH).unwrap();
    assert!(matches!(
        open_proxied_response(&client_secret, &nonce, &params, &wrong),
        Err(ClientError::Crypto)
    ));
}

#[test]
fn relay_errors_inside_pres_are_server_errors() {
    let secret = DhSecret([5; 32]);
    let nonce = CbNonce([6; 24]);
    let params = relay_params();
    let answer = encode_server(
        &params,
        &CorrId::from([3; 24]),
        &EntityId::from([4; 24]),
        &Response::Err(ErrorType::Auth),
    );
    let mut batch = Vec::new();
    encode_batch(&[answer.clone(), answer], &mut batch).unwrap();
    let two = cb_encrypt(&secret, &nonce.reversed(), &batch, PADDED_PROXIED_LENGTH).unwrap();
    // Exactly one transmission is allowed.
    assert!(matches!(
        open_proxied_response(&secret, &nonce, &params, &two),
        Err(ClientError::TransportError(TransportError::Block))
    ));
    let answer = encode_server(
        &params,
        &CorrId::from([3; 24]),
        &EntityId::from([4; 24]),
        &Response::Err(ErrorType::Auth),
    );
    let mut batch = Vec::new();
    encode_batch(&[answer], &mut batch).unwrap();
    let one = cb_encrypt(&secret, &nonce.reversed(), &batch, PADDED_PROXIED_LENGTH).unwrap();
    assert!(matches!(
        open_proxied_response(&secret, &nonce, &params, &one),
        Err(ClientError::Server(ErrorType::Auth))
    ));
}

#[test]
fn p2r_layer_has_no_padding_and_uses_the_reversed_rfwd_nonce() {
    // `forwardSMPTransmission`: `cbEncryptNoPad sessSecret nonce`, `reverseNonce` back.
    let secret = DhSecret([9; 32]);
    let nonce = CbNonce((100..124).collect::<Vec<u8>>().try_into().unwrap());
    assert_eq!(nonce.reversed().0[0], 123);
    let forwarded = FwdTransmission {
        corr_id: CorrId::from([1; 24]),
        version: Version(17),
        key: *X25519KeyPair::from_secret_bytes([2; 32]).public_key(),
        encrypted: vec![0xab; 40],
    }
    .to_bytes();
    let sealed = cb_encrypt_no_pad(&secret, &nonce, &forwarded);
    assert_eq!(sealed.len(), forwarded.len() + 16);
    let response = FwdResponse {
        corr_id: CorrId::from([1; 24]),
        encrypted: vec![0xcd; 50],
    };
    let reply = cb_encrypt_no_pad(&secret, &nonce.reversed(), &response.to_bytes());
    assert_eq!(
        open_forwarded_response(&secret, &nonce, &reply).unwrap(),
        vec![0xcd; 50]
    );
    assert!(matches!(
        open_forwarded_response(&secret, &nonce, &sealed),
        Err(ClientError::Crypto)
    ));
    let garbage = cb_encrypt_no_pad(&secret, &nonce.reversed(), &[24, 1]);
    assert!(matches!(
        open_forwarded_response(&secret, &nonce, &garbage),
        Err(ClientError::BadResponse(ErrorType::Block))
    ));
}

fn signed_relay_key(credentials: &ServerCredentials, key: &DhPublicKey) -> CertChainPubKey {
    let mut certificates = vec![credentials.certificate.to_der().unwrap()];
    for certificate in &credentials.chain {
        certificates.push(certificate.to_der().unwrap());
    }
    let signed_key = SignedObject::sign_key(
        &PublicKey::X25519(key.0),
        SignatureAlgorithm::Ed25519,
        |spki| {
            Signer::new_without_digest(&credentials.private_key)
                .and_then(|mut signer| signer.sign_oneshot_to_vec(spki))
        },
    )
    .unwrap();
    CertChainPubKey {
        cert_chain: CertChain::new(certificates).unwrap(),
        signed_key,
    }
}

#[test]
fn relay_check_accepts_the_signed_key_of_the_named_relay_only() {
    let dir = tempfile::tempdir().unwrap();
    create_server_credentials(dir.path(), "localhost", SignAlgorithm::Ed25519).unwrap();
    let credentials = ServerCredentials::load(dir.path()).unwrap();
    let key = *X25519KeyPair::from_secret_bytes([3; 32]).public_key();
    let cert_key = signed_relay_key(&credentials, &key);
    assert_eq!(validate_relay(&cert_key, &credentials.identity), Ok(key));
    // Another identity.
    assert!(validate_relay(&cert_key, &KeyHash([0; 32])).is_err());
    // A chain of one certificate.
    let short = CertChainPubKey {
        cert_chain: CertChain::new(cert_key.cert_chain.certificates()[..1].to_vec())
            .unwrap_or_else(|_| cert_key.cert_chain.clone()),
        signed_key: cert_key.signed_key.clone(),
    };
    if short.cert_chain.len() == 1 {
        assert!(validate_relay(&short, &credentials.identity).is_err());
    }
    // A key signed by someone else.
    let other_dir = tempfile::tempdir().unwrap();
    create_server_credentials(other_dir.path(), "localhost", SignAlgorithm::Ed25519).unwrap();
    let other = ServerCredentials::load(other_dir.path()).unwrap();
    let forged = CertChainPubKey {
        cert_chain: cert_key.cert_chain.clone(),
        signed_key: signed_relay_key(&other, &key).signed_key,
    };
    assert!(validate_relay(&forged, &credentials.identity).is_err());
}
