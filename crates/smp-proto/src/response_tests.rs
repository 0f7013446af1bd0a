use super::*;
use crate::error::{BlockingInfo, BlockingReason, ClientNotice};
use crate::keys::PublicKey;
use crate::x509::{CertChain, SignatureAlgorithm, SignedObject};
use proptest::prelude::*;

fn id(byte: u8) -> EntityId {
    EntityId::from([byte; 24])
}

fn ids() -> QueueIds {
    QueueIds {
        recipient_id: id(1),
        sender_id: id(2),
        server_dh_key: DhPublicKey([3; 32]),
        queue_mode: Some(QueueMode::Messaging),
        link_id: None,
        service_id: None,
        server_ntf_creds: Some(ServerNtfCreds {
            notifier_id: id(4),
            server_ntf_dh_key: DhPublicKey([5; 32]),
        }),
    }
}

#[test]
fn ids_vectors_by_version() {
    // Protocol.hs: encodeProtocol … IDS (spec §9.5).
    let response = Response::Ids(Box::new(ids()));
    let mut common = b"IDS \x18".to_vec();
    common.extend_from_slice(&[1; 24]);
    common.push(0x18);
    common.extend_from_slice(&[2; 24]);
    common.extend_from_slice(&DhPublicKey([3; 32]).to_bytes());
    let mut v18 = common.clone();
    v18.extend_from_slice(b"1M001\x18");
    v18.extend_from_slice(&[4; 24]);
    v18.extend_from_slice(&DhPublicKey([5; 32]).to_bytes());
    assert_eq!(response.to_bytes(Version(18)), v18);
    assert_eq!(Response::parse(Version(18), &v18), Ok(response.clone()));
    assert_eq!(
        response.to_bytes(Version(16)),
        [&common[..], b"1M00"].concat()
    );
    assert_eq!(
        response.to_bytes(Version(15)),
        [&common[..], b"1M0"].concat()
    );
    assert_eq!(response.to_bytes(Version(9)), [&common[..], b"T"].concat());
    assert_eq!(response.to_bytes(Version(8)), common);
}

#[test]
fn version_dependent_events() {
    // encodeProtocol … SOK (OK below v16), DELD (END below v10), ERR BLOCKED mapping.
    assert_eq!(Response::Sok(None).to_bytes(Version(16)), b"SOK 0");
    assert_eq!(Response::Sok(None).to_bytes(Version(15)), b"OK");
    assert_eq!(Response::Deld.to_bytes(Version(10)), b"DELD");
    assert_eq!(Response::Deld.to_bytes(Version(9)), b"END");
    let blocked = Response::Err(ErrorType::Blocked(BlockingInfo {
        reason: BlockingReason::Content,
        notice: Some(ClientNotice { ttl: Some(5) }),
    }));
    assert_eq!(blocked.to_bytes(Version(11)), b"ERR AUTH");
    assert_eq!(blocked.to_bytes(Version(17)), b"ERR BLOCKED reason=content");
    assert_eq!(
        blocked.to_bytes(Version(18)),
        b"ERR BLOCKED reason=content,notice={\"ttl\":5}"
    );
}

#[test]
fn simple_response_vectors() {
    let v = Version(18);
    assert_eq!(Response::Pong.to_bytes(v), b"PONG");
    assert_eq!(Response::Ok.to_bytes(v), b"OK");
    assert_eq!(Response::Soks(2).to_bytes(v), b"SOKS \0\0\0\0\0\0\0\x02");
    assert_eq!(Response::Ends(1).to_bytes(v), b"ENDS \0\0\0\0\0\0\0\x01");
    let msg = Response::Msg {
        msg_id: MsgId::from([7; 24]),
        encrypted_body: vec![0xaa; 3],
    };
    let mut expected = b"MSG \x18".to_vec();
    expected.extend_from_slice(&[7; 24]);
    expected.extend_from_slice(&[0xaa; 3]);
    assert_eq!(msg.to_bytes(v), expected);
    let nmsg = Response::Nmsg {
        nonce: [1; 24],
        encrypted_meta: ShortBytes::new(vec![2; 144]).unwrap(),
    };
    let bytes = nmsg.to_bytes(v);
    assert_eq!(bytes.len(), 5 + 24 + 1 + 144);
    assert_eq!(bytes[29], 0x90);
    assert_eq!(Response::parse(v, &bytes), Ok(nmsg));
    let info = Response::Info("{\"qiSnd\":false,\"qiNtf\":false,\"qiSize\":0}".into());
    assert_eq!(Response::parse(v, &info.to_bytes(v)), Ok(info));
}

#[test]
fn response_errors() {
    let v = Version(18);
    assert_eq!(
        Response::parse(v, b"PING"),
        Err(ErrorType::Cmd(CommandError::Unknown))
    );
    assert_eq!(
        Response::parse(v, b"OK "),
        Err(ErrorType::Cmd(CommandError::Syntax))
    );
    assert_eq!(
        Response::parse(v, b"INFO {"),
        Err(ErrorType::Cmd(CommandError::Syntax))
    );
    assert_eq!(
        Response::parse(v, b"ERR WHAT"),
        Err(ErrorType::Cmd(CommandError::Syntax))
    );
    assert_eq!(
        Response::parse(v, b"SOKS \x01"),
        Err(ErrorType::Cmd(CommandError::Syntax))
    );
}

#[test]
fn client_side_entity_rules() {
    // Protocol.hs: checkCredentials for BrokerMsg (spec §5.10).
    let none = EntityId::empty();
    assert_eq!(Response::Pong.check_credentials(&none), Ok(()));
    assert_eq!(
        Response::Pong.check_credentials(&id(1)),
        Err(ErrorType::Cmd(CommandError::HasAuth))
    );
    assert_eq!(
        Response::Ok.check_credentials(&none),
        Err(ErrorType::Cmd(CommandError::NoEntity))
    );
    assert_eq!(Response::Ok.check_credentials(&id(1)), Ok(()));
    assert_eq!(
        Response::Err(ErrorType::Auth).check_credentials(&none),
        Ok(())
    );
    assert_eq!(
        Response::Ids(Box::new(ids())).check_credentials(&none),
        Ok(())
    );
}

#[test]
fn message_bodies() {
    // Protocol.hs: encodeRcvMsgBody / clientRcvMsgBodyP; NMsgMeta tolerates trailing bytes.
    let body = RcvMsgBody::Message {
        timestamp: SystemTime(1),
        flags: MsgFlags { notification: true },
        body: b"hello".to_vec(),
    };
    assert_eq!(body.to_bytes(), b"\0\0\0\0\0\0\0\x01T hello");
    assert_eq!(RcvMsgBody::from_bytes(&body.to_bytes()), Ok(body));
    let quota = RcvMsgBody::Quota {
        timestamp: SystemTime(2),
    };
    assert_eq!(quota.to_bytes(), b"QUOTA \0\0\0\0\0\0\0\x02");
    assert_eq!(quota.to_bytes().len(), 14);
    assert_eq!(RcvMsgBody::from_bytes(&quota.to_bytes()), Ok(quota));
    let meta = NMsgMeta {
        msg_id: MsgId::from([3; 24]),
        timestamp: SystemTime(4),
    };
    let mut bytes = meta.to_bytes();
    assert_eq!(bytes.len(), 33);
    bytes.extend_from_slice(b"future");
    assert_eq!(NMsgMeta::from_bytes(&bytes), Ok(meta));
}

#[test]
fn forwarding_envelopes() {
    // Protocol.hs: instance Encoding FwdTransmission / FwdResponse.
    let fwd = FwdTransmission {
        corr_id: CorrId::from([1; 24]),
        version: Version(17),
        key: DhPublicKey([2; 32]),
        encrypted: vec![9, 9],
    };
    let bytes = fwd.to_bytes();
    assert_eq!(&bytes[25..27], &[0x00, 0x11]);
    assert_eq!(bytes.len(), 25 + 2 + 45 + 2);
    assert_eq!(FwdTransmission::from_bytes(&bytes), Ok(fwd));
    let response = FwdResponse {
        corr_id: CorrId::from([1; 24]),
        encrypted: vec![8],
    };
    assert_eq!(FwdResponse::from_bytes(&response.to_bytes()), Ok(response));
}

fn cert_key() -> CertChainPubKey {
    CertChainPubKey {
        cert_chain: CertChain::new(vec![vec![0x30, 0x00]]).unwrap(),
        signed_key: SignedObject::sign_key(
            &PublicKey::X25519([6; 32]),
            SignatureAlgorithm::Ed25519,
            |_| Ok::<_, ()>(vec![1; 64]),
        )
        .unwrap(),
    }
}

fn entity() -> impl Strategy<Value = EntityId> {
    proptest::collection::vec(any::<u8>(), 0..=30).prop_map(|bytes| EntityId::new(bytes).unwrap())
}

fn response() -> impl Strategy<Value = Response> {
    let tail = proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        (
            entity(),
            entity(),
            any::<[u8; 32]>(),
            proptest::option::of(any::<bool>()),
            proptest::option::of(entity()),
            proptest::option::of(entity()),
            proptest::option::of((entity(), any::<[u8; 32]>()))
        )
            .prop_map(
                |(r, s, dh, mode, link, service, ntf)| Response::Ids(Box::new(QueueIds {
                    recipient_id: r,
                    sender_id: s,
                    server_dh_key: DhPublicKey(dh),
                    queue_mode: mode.map(|m| if m {
                        QueueMode::Messaging
                    } else {
                        QueueMode::Contact
                    }),
                    link_id: link,
                    service_id: service,
                    server_ntf_creds: ntf.map(|(notifier_id, dh)| ServerNtfCreds {
                        notifier_id,
                        server_ntf_dh_key: DhPublicKey(dh)
                    }),
                }))
            ),
        (entity(), tail.clone(), tail.clone()).prop_map(|(sender_id, fixed, user)| Response::Lnk {
            sender_id,
            link_data: QueueLinkData { fixed, user }
        }),
        proptest::option::of(entity()).prop_map(Response::Sok),
        any::<i64>().prop_map(Response::Soks),
        any::<i64>().prop_map(Response::Ends),
        (entity(), tail.clone()).prop_map(|(id, encrypted_body)| Response::Msg {
            msg_id: MsgId::new(id.as_bytes().to_vec()).unwrap(),
            encrypted_body
        }),
        (entity(), any::<[u8; 32]>()).prop_map(|(notifier_id, dh)| Response::Nid {
            notifier_id,
            server_ntf_dh_key: DhPublicKey(dh)
        }),
        (any::<[u8; 24]>(), tail.clone()).prop_map(|(nonce, meta)| Response::Nmsg {
            nonce,
            encrypted_meta: ShortBytes::new(meta).unwrap()
        }),
        (tail.clone(), 1u16..10, 0u16..10).prop_map(|(session, min, span)| Response::Pkey {
            session_id: ShortBytes::new(session).unwrap(),
            version_range: VersionRange::new(Version(min), Version(min + span)).unwrap(),
            cert_key: Box::new(cert_key()),
        }),
        tail.clone().prop_map(Response::Rres),
        tail.prop_map(Response::Pres),
        Just(Response::End),
        Just(Response::Deld),
        Just(Response::Ok),
        Just(Response::Pong),
        Just(Response::Err(ErrorType::Quota)),
        "[a-z ]{0,12}".prop_map(|text| Response::Err(ErrorType::Store(text))),
        Just(Response::Info("{\"qiSize\":1}".into())),
    ]
}

/// What survives an encode/decode at `version`.
fn normalized(response: Response, version: Version) -> Response {
    match response {
        Response::Ids(mut ids) => {
            if version < Version::NEW_NTF_CREDS {
                ids.server_ntf_creds = None;
            }
            if version < Version::SERVICE_CERTS {
                ids.service_id = None;
            }
            if version < Version::SHORT_LINKS {
                ids.link_id = None;
                ids.queue_mode = if version < Version::SND_AUTH_KEY {
                    None
                } else if sender_can_secure(ids.queue_mode) {
                    Some(QueueMode::Messaging)
                } else {
                    Some(QueueMode::Contact)
                };
            }
            Response::Ids(ids)
        }
        Response::Sok(_) if version < Version::SERVICE_CERTS => Response::Ok,
        Response::Deld if version < Version::DELETED_EVENT => Response::End,
        other => other,
    }
}

proptest! {
    #[test]
    fn responses_round_trip(response in response(), version in 6u16..=18) {
        let version = Version(version);
        let bytes = response.to_bytes(version);
        prop_assert_eq!(Response::parse(version, &bytes), Ok(normalized(response, version)));
    }
}
