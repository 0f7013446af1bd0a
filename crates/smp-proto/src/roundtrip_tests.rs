//! Cross-module wire tests: full byte vectors at the version boundaries, negative vectors found
//! while fuzzing, and `decode(encode(x)) == x` properties for the types whose own test files
//! have only examples (error codes, blocking info, message bodies, forwarding envelopes,
//! certificate chains, handshake hellos).

use crate::codec::{Decode, Encode, ShortBytes, SystemTime};
use crate::command::MsgFlags;
use crate::error::{
    BlockingInfo, BlockingReason, BrokerError, ClientNotice, CommandError, ErrorType, NetworkError,
    ProxyError,
};
use crate::handshake::{
    parse_handshake, ClientHello, HandshakeError, ServiceResponse, TransportError,
};
use crate::ids::{CorrId, EntityId, MsgId};
use crate::keys::{DhPublicKey, KeyHash};
use crate::response::{FwdResponse, FwdTransmission, NMsgMeta, RcvMsgBody};
use crate::version::Version;
use crate::x509::CertChain;
use proptest::prelude::*;

fn hello(version: u16, proxy: bool) -> ClientHello {
    ClientHello {
        version: Version(version),
        key_hash: KeyHash([0x4b; 32]),
        session_key: (version >= 7).then_some(DhPublicKey([0x11; 32])),
        proxy_server: proxy,
        service: None,
    }
}

/// `u16(v) s8(keyHash)` then, from v7, `s8(X25519 DER)`.
fn hello_prefix(version: u16) -> Vec<u8> {
    let mut bytes = vec![0, version as u8, 0x20];
    bytes.extend_from_slice(&[0x4b; 32]);
    if version >= 7 {
        bytes.extend_from_slice(&[0x2c, 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e]);
        bytes.extend_from_slice(&[0x03, 0x21, 0x00]);
        bytes.extend_from_slice(&[0x11; 32]);
    }
    bytes
}

#[test]
fn client_hello_at_each_version_boundary() {
    // Transport.hs: instance Encoding SMPClientHandshake — key from v7 (authCmdsSMPVersion),
    // proxy flag from v14 (proxyServerHandshakeSMPVersion), service option from v16
    // (serviceCertsSMPVersion).
    for (version, tail) in [
        (6u16, &b""[..]),
        (7, b""),
        (13, b""),
        (14, b"T"),
        (15, b"T"),
        (16, b"T0"),
        (18, b"T0"),
    ] {
        let value = hello(version, version >= 14);
        let mut expected = hello_prefix(version);
        expected.extend_from_slice(tail);
        assert_eq!(value.to_bytes(), expected, "v{version}");
        assert_eq!(parse_handshake::<ClientHello>(&expected), Ok(value));
    }
}

#[test]
fn client_hello_key_hash_must_be_32_bytes() {
    // The reference reads any `s8` as the key hash and then closes the connection because it
    // differs from the server's identity (TEHandshake IDENTITY). Here a hash of another length
    // fails to parse (TEHandshake PARSE); the server closes the connection silently either way.
    for length in [0usize, 31, 33] {
        let mut bytes = vec![0, 18, length as u8];
        bytes.extend(std::iter::repeat_n(0x4b, length));
        bytes.extend_from_slice(&hello_prefix(18)[35..]);
        bytes.extend_from_slice(b"F0");
        assert!(parse_handshake::<ClientHello>(&bytes).is_err(), "{length}");
    }
}

#[test]
fn forwarding_envelope_vectors() {
    // Protocol.hs: instance Encoding FwdTransmission = (corrId, version, key, Tail t);
    // FwdResponse = (corrId, Tail t).
    let fwd = FwdTransmission {
        corr_id: CorrId::from([1; 24]),
        version: Version(17),
        key: DhPublicKey([2; 32]),
        encrypted: vec![9, 9],
    };
    let mut expected = vec![24];
    expected.extend_from_slice(&[1; 24]);
    expected.extend_from_slice(&[0x00, 0x11, 0x2c, 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03]);
    expected.extend_from_slice(&[0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);
    expected.extend_from_slice(&[2; 32]);
    expected.extend_from_slice(&[9, 9]);
    assert_eq!(fwd.to_bytes(), expected);
    let response = FwdResponse {
        corr_id: CorrId::from([1; 24]),
        encrypted: vec![8],
    };
    let mut expected = vec![24];
    expected.extend_from_slice(&[1; 24]);
    expected.push(8);
    assert_eq!(response.to_bytes(), expected);
    // Negative: an Ed25519 key where the X25519 key belongs; a short corrId.
    let mut bad = fwd.to_bytes();
    bad[34] = 0x70;
    assert!(FwdTransmission::from_bytes(&bad).is_err());
    assert!(FwdResponse::from_bytes(&[24, 1, 2]).is_err());
}

#[test]
fn message_body_negative_vectors() {
    // Protocol.hs: clientRcvMsgBodyP — 8-byte timestamp, flags, space, body.
    for bad in [
        &b""[..],
        b"\0\0\0\0\0\0\0",
        b"\0\0\0\0\0\0\0\x01X hi",
        b"\0\0\0\0\0\0\0\x01Thi",
        b"QUOTA \0\0",
    ] {
        assert!(RcvMsgBody::from_bytes(bad).is_err(), "{bad:?}");
    }
    // NMsgMeta: `s8(msgId) i64(ts)`; shorter input fails.
    assert!(NMsgMeta::from_bytes(&[24, 1, 2, 3]).is_err());
}

fn short_text() -> impl Strategy<Value = ShortBytes> {
    prop::collection::vec(any::<u8>(), 0..20).prop_map(|bytes| ShortBytes::new(bytes).unwrap())
}

fn transport_error() -> impl Strategy<Value = TransportError> {
    prop_oneof![
        Just(TransportError::Block),
        Just(TransportError::Version),
        Just(TransportError::LargeMsg),
        Just(TransportError::Session),
        Just(TransportError::NoAuth),
        prop_oneof![
            Just(HandshakeError::Parse),
            Just(HandshakeError::Identity),
            Just(HandshakeError::BadAuth),
            Just(HandshakeError::BadService),
        ]
        .prop_map(TransportError::Handshake),
    ]
}

fn blocking_info() -> impl Strategy<Value = BlockingInfo> {
    (
        prop_oneof![Just(BlockingReason::Spam), Just(BlockingReason::Content)],
        prop::option::of(prop::option::of(any::<i64>()).prop_map(|ttl| ClientNotice { ttl })),
    )
        .prop_map(|(reason, notice)| BlockingInfo { reason, notice })
}

fn leaf_error() -> impl Strategy<Value = ErrorType> {
    prop_oneof![
        Just(ErrorType::Block),
        Just(ErrorType::Session),
        prop_oneof![
            Just(CommandError::Unknown),
            Just(CommandError::Syntax),
            Just(CommandError::Prohibited),
            Just(CommandError::NoAuth),
            Just(CommandError::HasAuth),
            Just(CommandError::NoEntity),
        ]
        .prop_map(ErrorType::Cmd),
        Just(ErrorType::Auth),
        blocking_info().prop_map(ErrorType::Blocked),
        Just(ErrorType::Service),
        Just(ErrorType::Crypto),
        Just(ErrorType::Quota),
        "[ -~]{0,30}".prop_map(ErrorType::Store),
        Just(ErrorType::NoMsg),
        Just(ErrorType::LargeMsg),
        Just(ErrorType::Expired),
        Just(ErrorType::Internal),
        Just(ErrorType::Duplicate),
    ]
}

fn broker_error() -> impl Strategy<Value = BrokerError> {
    prop_oneof![
        short_text().prop_map(BrokerError::Response),
        short_text().prop_map(BrokerError::Unexpected),
        // Sent without its detail (`NETWORK`), read back as the generic failure.
        Just(BrokerError::Network(NetworkError::Failed)),
        Just(BrokerError::Host),
        Just(BrokerError::NoService),
        transport_error().prop_map(BrokerError::Transport),
        Just(BrokerError::Timeout),
    ]
}

fn error_type() -> impl Strategy<Value = ErrorType> {
    prop_oneof![
        leaf_error(),
        leaf_error().prop_map(|error| ErrorType::Proxy(Box::new(ProxyError::Protocol(error)))),
        broker_error().prop_map(|error| ErrorType::Proxy(Box::new(ProxyError::Broker(error)))),
        Just(ErrorType::Proxy(Box::new(ProxyError::BasicAuth))),
        Just(ErrorType::Proxy(Box::new(ProxyError::NoSession))),
    ]
}

fn network_error() -> impl Strategy<Value = NetworkError> {
    prop_oneof![
        short_text().prop_map(NetworkError::Connect),
        short_text().prop_map(NetworkError::Tls),
        Just(NetworkError::UnknownCa),
        Just(NetworkError::Failed),
        Just(NetworkError::Timeout),
        short_text().prop_map(NetworkError::Subscribe),
    ]
}

/// One DER `SEQUENCE` with a short-form length.
fn der_blob() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..100).prop_map(|content| {
        let mut der = vec![0x30, content.len() as u8];
        der.extend_from_slice(&content);
        der
    })
}

proptest! {
    #[test]
    fn error_types_round_trip(error in error_type(), version in 6u16..=18) {
        prop_assert_eq!(ErrorType::from_bytes(&error.to_bytes()), Ok(error.clone()));
        let sent = error.for_version(Version(version));
        prop_assert_eq!(ErrorType::from_bytes(&sent.to_bytes()), Ok(sent));
    }

    #[test]
    fn network_errors_round_trip(error in network_error()) {
        prop_assert_eq!(NetworkError::from_bytes(&error.to_bytes()), Ok(error));
    }

    #[test]
    fn blocking_info_round_trips(info in blocking_info()) {
        prop_assert_eq!(BlockingInfo::from_bytes(&info.to_bytes()), Ok(info));
    }

    #[test]
    fn service_responses_round_trip(
        id in prop::collection::vec(any::<u8>(), 0..40),
        error in transport_error(),
        accepted in any::<bool>(),
    ) {
        let response = if accepted {
            ServiceResponse::Accepted(EntityId::new(id).unwrap())
        } else {
            ServiceResponse::Rejected(error)
        };
        prop_assert_eq!(parse_handshake::<ServiceResponse>(&response.to_bytes()), Ok(response));
    }

    #[test]
    fn message_bodies_round_trip(
        timestamp in any::<i64>(),
        notification in any::<bool>(),
        body in prop::collection::vec(any::<u8>(), 0..100),
        quota in any::<bool>(),
    ) {
        let value = if quota {
            RcvMsgBody::Quota { timestamp: SystemTime(timestamp) }
        } else {
            RcvMsgBody::Message {
                timestamp: SystemTime(timestamp),
                flags: MsgFlags { notification },
                body,
            }
        };
        prop_assert_eq!(RcvMsgBody::from_bytes(&value.to_bytes()), Ok(value));
    }

    #[test]
    fn notification_meta_round_trips(id in any::<[u8; 24]>(), timestamp in any::<i64>()) {
        let meta = NMsgMeta { msg_id: MsgId::from(id), timestamp: SystemTime(timestamp) };
        prop_assert_eq!(NMsgMeta::from_bytes(&meta.to_bytes()), Ok(meta));
    }

    #[test]
    fn forwarding_envelopes_round_trip(
        corr in any::<[u8; 24]>(),
        version in any::<u16>(),
        key in any::<[u8; 32]>(),
        encrypted in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let fwd = FwdTransmission {
            corr_id: CorrId::from(corr),
            version: Version(version),
            key: DhPublicKey(key),
            encrypted: encrypted.clone(),
        };
        prop_assert_eq!(FwdTransmission::from_bytes(&fwd.to_bytes()), Ok(fwd));
        let response = FwdResponse { corr_id: CorrId::from(corr), encrypted };
        prop_assert_eq!(FwdResponse::from_bytes(&response.to_bytes()), Ok(response));
    }

    #[test]
    fn cert_chains_round_trip(certificates in prop::collection::vec(der_blob(), 1..5)) {
        let chain = CertChain::new(certificates).unwrap();
        prop_assert_eq!(CertChain::from_bytes(&chain.to_bytes()), Ok(chain));
    }

    #[test]
    fn client_hellos_round_trip(version in 6u16..=18, proxy in any::<bool>(), hash in any::<[u8; 32]>()) {
        let mut value = hello(version, proxy && version >= 14);
        value.key_hash = KeyHash(hash);
        prop_assert_eq!(parse_handshake::<ClientHello>(&value.to_bytes()), Ok(value));
    }
}
