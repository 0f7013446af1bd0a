use super::*;
use crate::error::CommandError;

fn corr() -> CorrId {
    let mut bytes = [0u8; 24];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = 0xc0 + index as u8;
    }
    CorrId::from(bytes)
}

fn params(version: u16) -> TransmissionParams {
    TransmissionParams::new(Version(version), vec![0x5e; 32])
}

#[test]
fn ping_v7_vector() {
    // Protocol.hs: tEncode / encodeTransmission (spec §9.1): 31 bytes.
    let bytes = encode_client(
        &params(7),
        &corr(),
        &EntityId::empty(),
        &Command::Ping,
        |_| None,
    );
    let mut expected = vec![0x00, 0x18];
    expected.extend_from_slice(corr().as_bytes());
    expected.push(0x00);
    expected.extend_from_slice(b"PING");
    assert_eq!(bytes, expected);
    assert_eq!(bytes.len(), 31);
    let decoded = decode_server(&params(7), &bytes).unwrap();
    assert_eq!(decoded.command, Command::Ping);
    assert_eq!(decoded.authorization, None);
    // The authorized bytes start with s8(sessionId) even though it is not sent.
    assert_eq!(
        &decoded.authorized[..33],
        &[&[0x20][..], &[0x5e; 32]].concat()[..]
    );
    assert_eq!(&decoded.authorized[33..], &bytes[1..]);
    let pong = encode_server(&params(7), &corr(), &EntityId::empty(), &Response::Pong);
    assert_eq!(&pong[27..], b"PONG");
    assert_eq!(
        decode_client(&params(7), &pong).response,
        Ok(Response::Pong)
    );
}

#[test]
fn ping_v6_carries_session_id() {
    // Spec §9.1: v6 transmission is 64 bytes with the session id sent.
    let bytes = encode_client(
        &params(6),
        &corr(),
        &EntityId::empty(),
        &Command::Ping,
        |_| None,
    );
    assert_eq!(bytes.len(), 64);
    assert_eq!(&bytes[..2], &[0x00, 0x20]);
    assert!(decode_server(&params(6), &bytes).is_ok());
    let other = TransmissionParams::new(Version(6), vec![0x11; 32]);
    let rejected = decode_server(&other, &bytes).unwrap_err();
    assert_eq!(rejected.error, ErrorType::Session);
    assert_eq!(rejected.corr_id, corr());
    assert_eq!(
        decode_client(&other, &bytes).response,
        Err(ErrorType::Session)
    );
}

#[test]
fn signed_send_v16_with_service_marker() {
    // Spec §9.6: `40 <sig> 30 18 <corrId> 18 <senderId> "SEND F " body`.
    let sender = EntityId::from([0x33; 24]);
    let send = Command::Send {
        flags: Default::default(),
        body: b"x".to_vec(),
    };
    let mut seen = Vec::new();
    let bytes = encode_client(&params(16), &corr(), &sender, &send, |authorized| {
        seen = authorized.to_vec();
        Some((TransmissionAuth::Ed25519([0xee; 64]), None))
    });
    assert_eq!(bytes[0], 0x40);
    assert_eq!(bytes[65], b'0');
    assert_eq!(&bytes[bytes.len() - 8..], b"SEND F x");
    let decoded = decode_server(&params(16), &bytes).unwrap();
    assert_eq!(decoded.authorized, seen);
    assert_eq!(
        decoded.authorization,
        Some(TransmissionAuth::Ed25519([0xee; 64]))
    );
    assert_eq!(decoded.service_signature, None);
    // With a service signature.
    let bytes = encode_client(&params(16), &corr(), &sender, &Command::Sub, |_| {
        Some((TransmissionAuth::Authenticator([1; 80]), Some([2; 64])))
    });
    assert_eq!(&bytes[81..83], &[b'1', 64]);
    let decoded = decode_server(&params(16), &bytes).unwrap();
    assert_eq!(decoded.service_signature, Some([2; 64]));
    // v15 has no marker.
    let bytes = encode_client(&params(15), &corr(), &sender, &send, |_| {
        Some((TransmissionAuth::Ed448([3; 114]), None))
    });
    assert_eq!(bytes[115], 0x18);
    assert!(decode_server(&params(15), &bytes).is_ok());
}

#[test]
fn decode_errors_carry_the_right_ids() {
    // Protocol.hs: tDecodeServer (spec §5.8).
    let entity = EntityId::from([0x44; 24]);
    let p = params(18);
    // Malformed transmission: BLOCK with empty ids.
    let rejected = decode_server(&p, b"\x00\x05ab").unwrap_err();
    assert_eq!(
        (rejected.corr_id.is_empty(), rejected.error),
        (true, ErrorType::Block)
    );
    // Bad service signature length: the whole transmission is malformed.
    let mut bad_service = vec![64];
    bad_service.extend_from_slice(&[0; 64]);
    bad_service.extend_from_slice(b"1\x03abc\x00\x00GET");
    assert_eq!(
        decode_server(&p, &bad_service).unwrap_err().error,
        ErrorType::Block
    );
    // Authorization of 10 bytes: BLOCK with the corr id, no entity.
    let mut bad_auth = vec![10];
    bad_auth.extend_from_slice(&[0; 10]);
    bad_auth.push(b'0');
    bad_auth.extend_from_slice(&[0x18]);
    bad_auth.extend_from_slice(corr().as_bytes());
    bad_auth.push(0x18);
    bad_auth.extend_from_slice(entity.as_bytes());
    bad_auth.extend_from_slice(b"GET");
    let rejected = decode_server(&p, &bad_auth).unwrap_err();
    assert_eq!(rejected.error, ErrorType::Block);
    assert_eq!(rejected.corr_id, corr());
    assert!(rejected.entity_id.is_empty());
    // Unknown command: CMD UNKNOWN with corr id and entity.
    let bytes = encode_client(&p, &corr(), &entity, &Command::Get, |_| None);
    let mut unknown = bytes[..bytes.len() - 3].to_vec();
    unknown.extend_from_slice(b"OK");
    let rejected = decode_server(&p, &unknown).unwrap_err();
    assert_eq!(rejected.error, ErrorType::Cmd(CommandError::Unknown));
    assert_eq!(rejected.entity_id, entity);
    // Credential rule: GET without authorization.
    let rejected = decode_server(&p, &bytes).unwrap_err();
    assert_eq!(rejected.error, ErrorType::Cmd(CommandError::NoAuth));
    assert_eq!(rejected.corr_id, corr());
    assert_eq!(rejected.entity_id, entity);
    // Syntax.
    let mut syntax = bytes.clone();
    syntax.push(b' ');
    assert_eq!(
        decode_server(&p, &syntax).unwrap_err().error,
        ErrorType::Cmd(CommandError::Syntax)
    );
}

#[test]
fn forwarded_version_keeps_the_session_rule() {
    // Transport.smpTHParamsSetVersion changes the version and service-auth flag only.
    let relay = params(18).with_version(Version(6));
    assert!(relay.imply_session_id);
    assert!(!relay.service_auth);
    assert_eq!(relay.version, Version(6));
}

#[test]
fn client_side_rules() {
    // Protocol.hs: tDecodeClient + checkCredentials for BrokerMsg.
    let p = params(18);
    let ok = encode_server(&p, &corr(), &EntityId::empty(), &Response::Ok);
    assert_eq!(
        decode_client(&p, &ok).response,
        Err(ErrorType::Cmd(CommandError::NoEntity))
    );
    assert_eq!(decode_client(&p, b"\x01").response, Err(ErrorType::Block));
}

#[test]
fn authorization_lengths() {
    // Protocol.hs: decodeTAuthBytes.
    assert_eq!(TransmissionAuth::from_slice(&[]), Ok(None));
    assert!(matches!(
        TransmissionAuth::from_slice(&[0; 64]),
        Ok(Some(TransmissionAuth::Ed25519(_)))
    ));
    assert!(matches!(
        TransmissionAuth::from_slice(&[0; 80]),
        Ok(Some(TransmissionAuth::Authenticator(_)))
    ));
    assert!(matches!(
        TransmissionAuth::from_slice(&[0; 114]),
        Ok(Some(TransmissionAuth::Ed448(_)))
    ));
    for length in [1usize, 32, 63, 65, 79, 81, 113, 115, 255] {
        assert!(
            TransmissionAuth::from_slice(&vec![0; length]).is_err(),
            "{length}"
        );
    }
}
