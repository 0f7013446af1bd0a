use super::*;
use crate::address::TransportHost;
use crate::keys::KeyHash;
use proptest::prelude::*;

fn ed_key(byte: u8) -> AuthKey {
    AuthKey::Ed25519([byte; 32])
}

fn dh_key(byte: u8) -> DhPublicKey {
    DhPublicKey([byte; 32])
}

fn new_request(queue_data: Option<QueueReqData>, ntf: bool) -> Command {
    Command::New(Box::new(NewQueueRequest {
        recipient_key: ed_key(1),
        recipient_dh_key: dh_key(2),
        basic_auth: None,
        subscribe_mode: SubscriptionMode::Subscribe,
        queue_data,
        ntf_creds: ntf.then(|| NewNtfCreds {
            notifier_key: ed_key(3),
            recipient_ntf_dh_key: dh_key(4),
        }),
    }))
}

#[test]
fn new_v18_vector() {
    // Protocol.hs: encodeProtocol … NEW at v17+ (spec §9.5).
    let command = new_request(Some(QueueReqData::Messaging(None)), true);
    let bytes = command.to_bytes(Version(18));
    let mut expected = b"NEW ".to_vec();
    expected.extend_from_slice(&ed_key(1).to_bytes());
    expected.extend_from_slice(&dh_key(2).to_bytes());
    expected.extend_from_slice(b"0S1M01");
    expected.extend_from_slice(&ed_key(3).to_bytes());
    expected.extend_from_slice(&dh_key(4).to_bytes());
    assert_eq!(bytes, expected);
    assert_eq!(Command::parse(Version(18), &bytes), Ok(command));
}

#[test]
fn new_forms_by_version() {
    // Protocol.hs: encodeProtocol … NEW / protocolP … newCmd for each version band.
    let command = new_request(Some(QueueReqData::Messaging(None)), true);
    let prefix = 4 + 45 + 45;
    assert_eq!(&command.to_bytes(Version(16))[prefix..], b"0S1M0");
    assert_eq!(&command.to_bytes(Version(14))[prefix..], b"0ST");
    assert_eq!(&command.to_bytes(Version(8))[prefix..], b"S");
    let contact = new_request(None, false);
    assert_eq!(&contact.to_bytes(Version(9))[prefix..], b"0SF");
    let mut with_auth = new_request(None, false);
    if let Command::New(request) = &mut with_auth {
        request.basic_auth = Some(BasicAuth::new(b"pw".to_vec()).unwrap());
    }
    assert_eq!(&with_auth.to_bytes(Version(6))[prefix..], b"A\x02pwS");
    assert_eq!(
        Command::parse(Version(6), &with_auth.to_bytes(Version(6))),
        Ok(with_auth.clone())
    );
    assert_eq!(&with_auth.to_bytes(Version(9))[prefix..], b"1\x02pwSF");
    // Link data: 'M' '1' s8(senderId) s16 s16.
    let link = new_request(
        Some(QueueReqData::Messaging(Some((
            EntityId::new(vec![5; 24]).unwrap(),
            QueueLinkData {
                fixed: vec![1, 2],
                user: vec![3],
            },
        )))),
        false,
    );
    let bytes = link.to_bytes(Version(15));
    let mut tail = b"0S1M1\x18".to_vec();
    tail.extend_from_slice(&[5; 24]);
    tail.extend_from_slice(b"\x00\x02\x01\x02\x00\x01\x03");
    assert_eq!(&bytes[prefix..], &tail[..]);
    assert_eq!(Command::parse(Version(15), &bytes), Ok(link));
}

#[test]
fn simple_command_vectors() {
    // Protocol.hs: instance ProtocolEncoding … (Command p), encodeProtocol.
    let v = Version(18);
    assert_eq!(Command::Sub.to_bytes(v), b"SUB");
    assert_eq!(Command::Ping.to_bytes(v), b"PING");
    assert_eq!(Command::Nsubs.to_bytes(v), b"NSUBS");
    let send = Command::Send {
        flags: MsgFlags {
            notification: false,
        },
        body: b"hi".to_vec(),
    };
    assert_eq!(send.to_bytes(v), b"SEND F hi");
    let ack = Command::Ack(MsgId::new(vec![9; 3]).unwrap());
    assert_eq!(ack.to_bytes(v), b"ACK \x03\x09\x09\x09");
    let mut key = b"KEY ".to_vec();
    key.extend_from_slice(&ed_key(7).to_bytes());
    assert_eq!(Command::Key(ed_key(7)).to_bytes(v), key);
    let prxy = Command::Prxy {
        server: SmpServer {
            hosts: vec![TransportHost::Domain("r.io".into())],
            port: String::new(),
            key_hash: KeyHash([1; 32]),
        },
        basic_auth: None,
    };
    let bytes = prxy.to_bytes(v);
    assert_eq!(&bytes[..12], b"PRXY \x01\x04r.io\x00");
    assert_eq!(bytes.last(), Some(&b'0'));
    assert_eq!(Command::parse(v, &bytes), Ok(prxy));
    let pfwd = Command::Pfwd {
        version: Version(17),
        key: dh_key(8),
        encrypted: vec![1, 2, 3],
    };
    let bytes = pfwd.to_bytes(v);
    assert_eq!(&bytes[..7], b"PFWD \x00\x11");
    assert_eq!(Command::parse(v, &bytes), Ok(pfwd));
}

#[test]
fn send_flags_skip_reserved_bytes() {
    // Protocol.hs: instance Encoding MsgFlags skips bytes up to the next space.
    assert_eq!(
        Command::parse(Version(18), b"SEND TxYz body text"),
        Ok(Command::Send {
            flags: MsgFlags { notification: true },
            body: b"body text".to_vec()
        })
    );
    assert_eq!(
        Command::parse(Version(18), b"SEND F "),
        Ok(Command::Send {
            flags: MsgFlags::default(),
            body: vec![]
        })
    );
}

#[test]
fn unknown_and_syntax_errors() {
    // Protocol.hs: parseProtocol; tests/ServerTests.hs: serverSyntaxTests.
    let v = Version(18);
    for unknown in [&b"OK"[..], b"SUB=", b"", b"sub", b"IDS x", b"NEWX"] {
        assert_eq!(
            Command::parse(v, unknown),
            Err(CommandError::Unknown),
            "{unknown:?}"
        );
    }
    for syntax in [
        &b"SUB "[..],
        b"PING 1",
        b"KEY",
        b"KEY ",
        b"ACK",
        b"SEND",
        b"SEND T",
        b"SEND X x",
        b"RKEY \x00",
        b"NEW ",
    ] {
        assert_eq!(
            Command::parse(v, syntax),
            Err(CommandError::Syntax),
            "{syntax:?}"
        );
    }
}

#[test]
fn credential_rules() {
    // Protocol.hs: checkCredentials for Command p (spec §5.7).
    let entity = EntityId::new(vec![1; 24]).unwrap();
    let none = EntityId::empty();
    let new = new_request(None, false);
    assert_eq!(
        new.check_credentials(false, &none),
        Err(CommandError::NoAuth)
    );
    assert_eq!(
        new.check_credentials(true, &entity),
        Err(CommandError::HasAuth)
    );
    assert_eq!(new.check_credentials(true, &none), Ok(()));
    let send = Command::Send {
        flags: MsgFlags::default(),
        body: vec![],
    };
    assert_eq!(
        send.check_credentials(false, &none),
        Err(CommandError::NoEntity)
    );
    assert_eq!(send.check_credentials(false, &entity), Ok(()));
    assert_eq!(
        Command::Lget.check_credentials(false, &none),
        Err(CommandError::NoEntity)
    );
    assert_eq!(
        Command::Lget.check_credentials(true, &entity),
        Err(CommandError::HasAuth)
    );
    assert_eq!(Command::Lget.check_credentials(false, &entity), Ok(()));
    assert_eq!(
        Command::Ping.check_credentials(false, &entity),
        Err(CommandError::HasAuth)
    );
    assert_eq!(
        Command::Ping.check_credentials(true, &none),
        Err(CommandError::HasAuth)
    );
    assert_eq!(Command::Ping.check_credentials(false, &none), Ok(()));
    assert_eq!(
        Command::Sub.check_credentials(false, &entity),
        Err(CommandError::NoAuth)
    );
    assert_eq!(
        Command::Get.check_credentials(true, &none),
        Err(CommandError::NoAuth)
    );
    assert_eq!(Command::Get.check_credentials(true, &entity), Ok(()));
}

#[test]
fn parties_and_roles() {
    assert_eq!(Command::Lget.party(), Party::LinkClient);
    assert_eq!(
        Command::Nsub.party().service_role(),
        Some(ServiceRole::Notifier)
    );
    assert_eq!(
        Command::Rfwd(vec![]).party().service_role(),
        Some(ServiceRole::Proxy)
    );
    assert_eq!(Command::Ping.party().service_role(), None);
    assert!(Command::Sub.uses_service_auth());
    assert!(!Command::Get.uses_service_auth());
}

fn auth_key() -> impl Strategy<Value = AuthKey> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(AuthKey::Ed25519),
        any::<[u8; 32]>().prop_map(AuthKey::X25519),
        any::<u8>().prop_map(|byte| AuthKey::Ed448([byte; 57])),
    ]
}

fn id() -> impl Strategy<Value = EntityId> {
    proptest::collection::vec(any::<u8>(), 0..=32).prop_map(|bytes| EntityId::new(bytes).unwrap())
}

fn link_data() -> impl Strategy<Value = QueueLinkData> {
    (
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(fixed, user)| QueueLinkData { fixed, user })
}

fn queue_data() -> impl Strategy<Value = QueueReqData> {
    prop_oneof![
        proptest::option::of((id(), link_data())).prop_map(QueueReqData::Messaging),
        proptest::option::of((id(), id(), link_data())).prop_map(QueueReqData::Contact),
    ]
}

/// What survives an encode/decode at `version` (older versions carry less).
fn normalized(command: Command, version: Version) -> Command {
    match command {
        Command::New(mut request) => {
            if version < Version::NEW_NTF_CREDS {
                request.ntf_creds = None;
            }
            if version < Version::SND_AUTH_KEY {
                request.queue_data = None;
            } else if version < Version::SHORT_LINKS {
                request.queue_data = Some(match request.queue_data.map(|data| data.mode()) {
                    Some(QueueMode::Messaging) => QueueReqData::Messaging(None),
                    _ => QueueReqData::Contact(None),
                });
            }
            Command::New(request)
        }
        other => other,
    }
}

fn command() -> impl Strategy<Value = Command> {
    let body = proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (
            auth_key(),
            any::<[u8; 32]>(),
            proptest::option::of("[a-z0-9]{1,8}"),
            any::<bool>(),
            proptest::option::of(queue_data()),
            proptest::option::of((auth_key(), any::<[u8; 32]>()))
        )
            .prop_map(
                |(key, dh, auth, subscribe, data, ntf)| Command::New(Box::new(NewQueueRequest {
                    recipient_key: key,
                    recipient_dh_key: DhPublicKey(dh),
                    basic_auth: auth.map(|text| BasicAuth::new(text.into_bytes()).unwrap()),
                    subscribe_mode: if subscribe {
                        SubscriptionMode::Subscribe
                    } else {
                        SubscriptionMode::OnlyCreate
                    },
                    queue_data: data,
                    ntf_creds: ntf.map(|(notifier_key, dh)| NewNtfCreds {
                        notifier_key,
                        recipient_ntf_dh_key: DhPublicKey(dh)
                    }),
                }))
            ),
        Just(Command::Sub),
        Just(Command::Subs),
        Just(Command::Ldel),
        Just(Command::Ndel),
        Just(Command::Get),
        Just(Command::Off),
        Just(Command::Del),
        Just(Command::Que),
        Just(Command::Ping),
        Just(Command::Lget),
        Just(Command::Nsub),
        Just(Command::Nsubs),
        auth_key().prop_map(Command::Key),
        auth_key().prop_map(Command::Skey),
        auth_key().prop_map(Command::Lkey),
        proptest::collection::vec(auth_key(), 1..4).prop_map(Command::Rkey),
        (id(), link_data()).prop_map(|(link_id, link_data)| Command::Lset { link_id, link_data }),
        (auth_key(), any::<[u8; 32]>()).prop_map(|(notifier_key, dh)| Command::Nkey {
            notifier_key,
            recipient_ntf_dh_key: DhPublicKey(dh)
        }),
        id().prop_map(|id| Command::Ack(MsgId::new(id.as_bytes().to_vec()).unwrap())),
        (any::<bool>(), body.clone()).prop_map(|(notification, body)| Command::Send {
            flags: MsgFlags { notification },
            body
        }),
        (any::<u16>(), any::<[u8; 32]>(), body.clone()).prop_map(|(version, key, encrypted)| {
            Command::Pfwd {
                version: Version(version),
                key: DhPublicKey(key),
                encrypted,
            }
        }),
        body.prop_map(Command::Rfwd),
        (
            proptest::option::of("[a-z]{1,6}"),
            "[0-9]{0,5}",
            any::<[u8; 32]>()
        )
            .prop_map(|(auth, port, hash)| Command::Prxy {
                server: SmpServer {
                    hosts: vec![
                        TransportHost::Domain("relay.example".into()),
                        TransportHost::Ipv4([10, 0, 0, 1].into())
                    ],
                    port,
                    key_hash: KeyHash(hash),
                },
                basic_auth: auth.map(|text| BasicAuth::new(text.into_bytes()).unwrap()),
            }),
    ]
}

proptest! {
    #[test]
    fn commands_round_trip(command in command(), version in 6u16..=18) {
        let version = Version(version);
        let bytes = command.to_bytes(version);
        prop_assert_eq!(Command::parse(version, &bytes), Ok(normalized(command, version)));
    }
}
