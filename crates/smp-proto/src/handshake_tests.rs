use super::*;
use crate::keys::PublicKey;
use crate::version::{Version, VersionRange};
use crate::x509::{CertChain, SignatureAlgorithm, SignedObject};
use proptest::prelude::*;

fn cert_key(algorithm: SignatureAlgorithm, key: PublicKey) -> CertChainPubKey {
    let length = algorithm.signature_length();
    CertChainPubKey {
        cert_chain: CertChain::new(vec![vec![0x30, 0x01, 0x01], vec![0x30, 0x00]]).unwrap(),
        signed_key: SignedObject::sign_key(&key, algorithm, |_| Ok::<_, ()>(vec![0xab; length]))
            .unwrap(),
    }
}

fn key_hash() -> KeyHash {
    KeyHash([0x4b; 32])
}

fn client_hello(version: u16) -> ClientHello {
    ClientHello {
        version: Version(version),
        key_hash: key_hash(),
        session_key: (version >= 7).then_some(DhPublicKey([0x11; 32])),
        proxy_server: false,
        service: None,
    }
}

#[test]
fn server_hello_v6_vector() {
    // Transport.hs: instance Encoding SMPServerHandshake, range 6..6 (spec §9.2).
    let hello = ServerHello {
        version_range: VersionRange::new(Version(6), Version(6)).unwrap(),
        session_id: vec![0x77; 32],
        server_key: Some(cert_key(
            SignatureAlgorithm::Ed448,
            PublicKey::X25519([1; 32]),
        )),
    };
    let bytes = hello.to_bytes();
    let mut expected = vec![0x00, 0x06, 0x00, 0x06, 0x20];
    expected.extend_from_slice(&[0x77; 32]);
    assert_eq!(bytes, expected, "no certificate part below v7");
    let parsed: ServerHello = parse_handshake(&bytes).unwrap();
    assert_eq!(parsed.server_key, None);
    assert_eq!(parsed.session_id, vec![0x77; 32]);
}

#[test]
fn server_hello_current_vector() {
    // Transport.hs: SMPServerHandshake for range 6..18 with an Ed448-signed session key (spec §9.3).
    let key = cert_key(SignatureAlgorithm::Ed448, PublicKey::X25519([1; 32]));
    let hello = ServerHello {
        version_range: VersionRange::new(Version(6), Version(18)).unwrap(),
        session_id: vec![0x77; 32],
        server_key: Some(key.clone()),
    };
    let bytes = hello.to_bytes();
    assert_eq!(&bytes[..5], &[0x00, 0x06, 0x00, 0x12, 0x20]);
    let chain_start = 5 + 32;
    assert_eq!(
        &bytes[chain_start..chain_start + 10],
        &[0x02, 0x00, 0x03, 0x30, 0x01, 0x01, 0x00, 0x02, 0x30, 0x00]
    );
    assert_eq!(
        &bytes[chain_start + 10..chain_start + 15],
        &[0x00, 0xab, 0x30, 0x81, 0xa8]
    );
    assert_eq!(bytes.len(), chain_start + 10 + 2 + 171);
    let parsed: ServerHello = parse_handshake(&bytes).unwrap();
    assert_eq!(parsed, hello);
    assert_eq!(
        parsed.server_key.unwrap().signed_key.public_key(),
        Ok(PublicKey::X25519([1; 32]))
    );
}

#[test]
fn server_hello_without_key_and_with_trailing_bytes() {
    // Transport.authEncryptCmdsP is optional; Transport.getHandshake ignores trailing bytes.
    let mut bytes = vec![0x00, 0x06, 0x00, 0x12, 0x02, 0xaa, 0xbb];
    let parsed: ServerHello = parse_handshake(&bytes).unwrap();
    assert_eq!(parsed.server_key, None);
    bytes.extend_from_slice(b"####");
    let parsed: ServerHello = parse_handshake(&bytes).unwrap();
    assert_eq!(parsed.session_id, vec![0xaa, 0xbb]);
    assert_eq!(parsed.server_key, None);
}

#[test]
fn server_hello_rejects_inverted_range() {
    // Version.hs: instance Encoding VersionRange fails when min > max.
    assert!(parse_handshake::<ServerHello>(&[0x00, 0x07, 0x00, 0x06, 0x00]).is_err());
    assert!(parse_handshake::<ServerHello>(&[0x00, 0x06, 0x00]).is_err());
}

#[test]
fn client_hello_v18_vector() {
    // Transport.hs: instance Encoding SMPClientHandshake (spec §9.4).
    let bytes = client_hello(18).to_bytes();
    let mut expected = vec![0x00, 0x12, 0x20];
    expected.extend_from_slice(&[0x4b; 32]);
    expected.extend_from_slice(&[
        0x2c, 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
    ]);
    expected.extend_from_slice(&[0x11; 32]);
    expected.extend_from_slice(b"F0");
    assert_eq!(bytes, expected);
    assert_eq!(bytes.len(), 82);
}

#[test]
fn client_hello_sizes_per_version() {
    // Spec §4.2: v6 35 bytes; v7-13 80; v14-15 81; v16-18 82.
    for version in 6..=18u16 {
        let expected = match version {
            6 => 35,
            7..=13 => 80,
            14..=15 => 81,
            _ => 82,
        };
        let hello = client_hello(version);
        let bytes = hello.to_bytes();
        assert_eq!(bytes.len(), expected, "version {version}");
        assert_eq!(parse_handshake::<ClientHello>(&bytes), Ok(hello));
    }
}

#[test]
fn client_hello_key_backtracks() {
    // Transport.authEncryptCmdsP: a non-X25519 key is treated as absent (then parsing continues).
    let mut bytes = vec![0x00, 0x07, 0x20];
    bytes.extend_from_slice(&[0x4b; 32]);
    let ed = PublicKey::Ed25519([2; 32]).to_bytes();
    bytes.extend_from_slice(&ed);
    let parsed: ClientHello = parse_handshake(&bytes).unwrap();
    assert_eq!(parsed.session_key, None);
    // Test clients omit the key: at v14 the proxy flag follows the key hash directly.
    let mut bytes = vec![0x00, 0x0e, 0x20];
    bytes.extend_from_slice(&[0x4b; 32]);
    bytes.push(b'T');
    let parsed: ClientHello = parse_handshake(&bytes).unwrap();
    assert_eq!(parsed.session_key, None);
    assert!(parsed.proxy_server);
    // At v14 an Ed25519 key in place of the X25519 key leaves 0x2c where the flag belongs.
    let mut bytes = vec![0x00, 0x0e, 0x20];
    bytes.extend_from_slice(&[0x4b; 32]);
    bytes.extend_from_slice(&ed);
    bytes.push(b'F');
    assert!(parse_handshake::<ClientHello>(&bytes).is_err());
}

#[test]
fn client_hello_with_service_block() {
    // Transport.hs: SMPClientHandshakeService = role char then CertChainPubKey.
    let mut hello = client_hello(16);
    hello.service = Some(ClientService {
        role: ServiceRole::Notifier,
        cert_key: cert_key(SignatureAlgorithm::Ed25519, PublicKey::Ed25519([3; 32])),
    });
    let bytes = hello.to_bytes();
    assert_eq!(&bytes[80..83], b"F1N");
    assert_eq!(parse_handshake::<ClientHello>(&bytes), Ok(hello));
    let mut bad_role = bytes.clone();
    bad_role[82] = b'X';
    assert!(parse_handshake::<ClientHello>(&bad_role).is_err());
    let mut bad_marker = bytes;
    bad_marker[81] = b'2';
    assert!(parse_handshake::<ClientHello>(&bad_marker).is_err());
}

#[test]
fn service_responses() {
    // Transport.hs: instance Encoding SMPServerHandshakeResponse.
    let accepted = ServiceResponse::Accepted(EntityId::from([9; 24]));
    let bytes = accepted.to_bytes();
    assert_eq!(&bytes[..2], &[b'R', 24]);
    assert_eq!(parse_handshake::<ServiceResponse>(&bytes), Ok(accepted));
    let rejected = ServiceResponse::Rejected(TransportError::Handshake(HandshakeError::BadService));
    assert_eq!(rejected.to_bytes(), b"EHANDSHAKE BAD_SERVICE");
    assert_eq!(
        parse_handshake::<ServiceResponse>(b"EHANDSHAKE BAD_AUTH"),
        Ok(ServiceResponse::Rejected(TransportError::Handshake(
            HandshakeError::BadAuth
        )))
    );
    assert!(parse_handshake::<ServiceResponse>(b"X").is_err());
}

#[test]
fn transport_error_text_forms() {
    // Transport.hs: instance Encoding TransportError.
    let cases: [(TransportError, &[u8]); 9] = [
        (TransportError::Block, b"BLOCK"),
        (TransportError::Version, b"VERSION"),
        (TransportError::LargeMsg, b"LARGE_MSG"),
        (TransportError::Session, b"SESSION"),
        (TransportError::NoAuth, b"NO_AUTH"),
        (
            TransportError::Handshake(HandshakeError::Parse),
            b"HANDSHAKE PARSE",
        ),
        (
            TransportError::Handshake(HandshakeError::Identity),
            b"HANDSHAKE IDENTITY",
        ),
        (
            TransportError::Handshake(HandshakeError::BadAuth),
            b"HANDSHAKE BAD_AUTH",
        ),
        (
            TransportError::Handshake(HandshakeError::BadService),
            b"HANDSHAKE BAD_SERVICE",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_bytes(), text);
        assert_eq!(TransportError::from_bytes(text), Ok(error));
    }
    for bad in [
        &b"block"[..],
        b"HANDSHAKE",
        b"HANDSHAKE  PARSE",
        b"HANDSHAKE OTHER",
        b"",
    ] {
        assert!(TransportError::from_bytes(bad).is_err(), "{bad:?}");
    }
    assert_eq!(TransportError::Version.to_string(), "VERSION");
}

proptest! {
    #[test]
    fn client_hello_round_trips(
        version in 6u16..=18,
        key in proptest::option::of(any::<[u8; 32]>()),
        proxy in any::<bool>(),
    ) {
        let hello = ClientHello {
            version: Version(version),
            key_hash: key_hash(),
            session_key: if version >= 7 { key.map(DhPublicKey) } else { None },
            proxy_server: version >= 14 && proxy,
            service: None,
        };
        prop_assert_eq!(parse_handshake::<ClientHello>(&hello.to_bytes()), Ok(hello));
    }

    #[test]
    fn server_hello_round_trips(
        min in 1u16..=18,
        span in 0u16..=12,
        session in proptest::collection::vec(any::<u8>(), 0..=64),
        with_key in any::<bool>(),
    ) {
        let max = min + span;
        let hello = ServerHello {
            version_range: VersionRange::new(Version(min), Version(max)).unwrap(),
            session_id: session,
            server_key: (with_key && max >= 7)
                .then(|| cert_key(SignatureAlgorithm::Ed25519, PublicKey::X25519([5; 32]))),
        };
        prop_assert_eq!(parse_handshake::<ServerHello>(&hello.to_bytes()), Ok(hello));
    }
}
