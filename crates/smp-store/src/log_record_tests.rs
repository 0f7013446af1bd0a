//! Golden lines hand-derived from `StoreLog.hs` (`instance StrEncoding StoreLogRecord`,
//! `instance StrEncoding QueueRec`) and `QueueStore.hs` (`NtfCreds`, `ServiceRec`).

use super::*;

pub(crate) const ID1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB";
pub(crate) const ID2: &str = "AgICAgICAgICAgICAgICAgICAgICAgIC";
pub(crate) const ID3: &str = "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMD";
pub(crate) const ID4: &str = "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
pub(crate) const ED1: &str = "MCowBQYDK2VwAyEAAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
pub(crate) const ED2: &str = "MCowBQYDK2VwAyEAAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
pub(crate) const X3: &str = "MCowBQYDK2VuAyEAAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";
pub(crate) const ED448_7: &str =
    "MEMwBQYDK2VxAzoABwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH";
pub(crate) const DH1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
pub(crate) const DH4: &str = "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=";

pub(crate) fn id(n: u8) -> EntityId {
    EntityId::from([n; 24])
}

pub(crate) fn plain_queue(sender: u8) -> QueueRecord {
    QueueRecord {
        recipient_keys: vec![AuthKey::Ed25519([1; 32])],
        rcv_dh_secret: DhSecret([1; 32]),
        sender_id: id(sender),
        sender_key: None,
        queue_mode: Some(QueueMode::Messaging),
        link: None,
        notifier: None,
        status: QueueStatus::Active,
        updated_at: Some(1_750_000_000 / 86_400 * 86_400),
        rcv_service_id: None,
    }
}

fn check(record: StoreLogRecord, line: &str) {
    assert_eq!(String::from_utf8(record.to_line()).unwrap(), line);
    assert_eq!(StoreLogRecord::parse(line.as_bytes()).unwrap(), record);
}

#[test]
fn create_minimal_queue() {
    check(
        StoreLogRecord::CreateQueue {
            recipient_id: id(2),
            queue: Box::new(plain_queue(3)),
        },
        &format!(
            "CREATE rid={ID2} rk={ED1} rdh={DH1} sid={ID3} sk= queue_mode=M updated_at=1749945600"
        ),
    );
}

#[test]
fn create_queue_with_every_field() {
    let queue = QueueRecord {
        recipient_keys: vec![AuthKey::Ed25519([1; 32]), AuthKey::Ed25519([2; 32])],
        sender_key: Some(AuthKey::X25519([3; 32])),
        queue_mode: Some(QueueMode::Contact),
        link: Some((
            id(4),
            QueueLinkData {
                fixed: b"fixed data".to_vec(),
                user: b"user data".to_vec(),
            },
        )),
        notifier: Some(NotifierCreds {
            notifier_id: id(1),
            notifier_key: AuthKey::Ed25519([2; 32]),
            rcv_ntf_dh_secret: DhSecret([4; 32]),
            service_id: Some(id(3)),
        }),
        status: QueueStatus::Blocked(BlockingInfo {
            reason: BlockingReason::Content,
            notice: Some(ClientNotice { ttl: Some(3600) }),
        }),
        rcv_service_id: Some(id(4)),
        ..plain_queue(3)
    };
    // The reference writes this layout but cannot read it back (its notice parser takes the rest
    // of the line, `rsrv=` included); we read it.
    check(
        StoreLogRecord::CreateQueue {
            recipient_id: id(2),
            queue: Box::new(queue),
        },
        &format!(
            "CREATE rid={ID2} rk={ED1},{ED2} rdh={DH1} sid={ID3} sk={X3} queue_mode=C \
             link_id={ID4} queue_data=Zml4ZWQgZGF0YQ== dXNlciBkYXRh \
             notifier={ID1} {ED2} {DH4} nsrv={ID3} updated_at=1749945600 \
             status=blocked,reason=content,notice={{\"ttl\":3600}} rsrv={ID4}"
        ),
    );
}

#[test]
fn legacy_queue_forms() {
    // 2023: one key, no mode, no time.
    let line = format!("CREATE rid={ID2} rk={ED1} rdh={DH1} sid={ID3} sk=");
    let StoreLogRecord::CreateQueue { queue, .. } = StoreLogRecord::parse(line.as_bytes()).unwrap()
    else {
        panic!("not CREATE")
    };
    assert_eq!(queue.queue_mode, None);
    assert_eq!(queue.updated_at, None);
    assert_eq!(queue.sender_key, None);
    // sndSecure=T|F (v9..v14 era).
    for (flag, mode) in [("T", QueueMode::Messaging), ("F", QueueMode::Contact)] {
        let line = format!("CREATE rid={ID2} rk={ED1} rdh={DH1} sid={ID3} sk={ED2} sndSecure={flag} notifier={ID1} {X3} {DH4}");
        let StoreLogRecord::CreateQueue { queue, .. } =
            StoreLogRecord::parse(line.as_bytes()).unwrap()
        else {
            panic!("not CREATE")
        };
        assert_eq!(queue.queue_mode, Some(mode));
        assert_eq!(queue.sender_key, Some(AuthKey::Ed25519([2; 32])));
        assert_eq!(
            queue.notifier.unwrap().notifier_key,
            AuthKey::X25519([3; 32])
        );
    }
    // status=active and status=off, unpadded base64, Ed448 keys.
    let unpadded_dh = DH1.trim_end_matches('=');
    let line =
        format!("CREATE rid={ID2} rk={ED448_7} rdh={unpadded_dh} sid={ID3} sk= status=active");
    assert!(StoreLogRecord::parse(line.as_bytes()).is_ok());
    let line = format!("CREATE rid={ID2} rk={ED1} rdh={DH1} sid={ID3} sk= status=off rsrv={ID4}");
    let StoreLogRecord::CreateQueue { queue, .. } = StoreLogRecord::parse(line.as_bytes()).unwrap()
    else {
        panic!("not CREATE")
    };
    assert_eq!(queue.status, QueueStatus::Off);
    assert_eq!(queue.rcv_service_id, Some(id(4)));
}

#[test]
fn change_records() {
    check(
        StoreLogRecord::CreateLink {
            recipient_id: id(1),
            link_id: EntityId::new(b"short".to_vec()).unwrap(),
            data: QueueLinkData {
                fixed: b"fixed data".to_vec(),
                user: b"user data".to_vec(),
            },
        },
        &format!("LINK {ID1} c2hvcnQ= Zml4ZWQgZGF0YQ== dXNlciBkYXRh"),
    );
    check(
        StoreLogRecord::DeleteLink {
            recipient_id: id(1),
        },
        &format!("LDELETE {ID1}"),
    );
    check(
        StoreLogRecord::SecureQueue {
            recipient_id: id(1),
            sender_key: AuthKey::Ed25519([2; 32]),
        },
        &format!("SECURE {ID1} {ED2}"),
    );
    check(
        StoreLogRecord::UpdateKeys {
            recipient_id: id(1),
            keys: vec![AuthKey::Ed25519([1; 32]), AuthKey::X25519([3; 32])],
        },
        &format!("KEYS {ID1} {ED1},{X3}"),
    );
    let notifier = NotifierCreds {
        notifier_id: id(4),
        notifier_key: AuthKey::X25519([3; 32]),
        rcv_ntf_dh_secret: DhSecret([4; 32]),
        service_id: None,
    };
    check(
        StoreLogRecord::AddNotifier {
            recipient_id: id(1),
            notifier: notifier.clone(),
        },
        &format!("NOTIFIER {ID1} {ID4} {X3} {DH4}"),
    );
    check(
        StoreLogRecord::AddNotifier {
            recipient_id: id(1),
            notifier: NotifierCreds {
                service_id: Some(id(2)),
                ..notifier
            },
        },
        &format!("NOTIFIER {ID1} {ID4} {X3} {DH4} nsrv={ID2}"),
    );
    check(
        StoreLogRecord::SuspendQueue {
            recipient_id: id(1),
        },
        &format!("SUSPEND {ID1}"),
    );
    check(
        StoreLogRecord::BlockQueue {
            recipient_id: id(1),
            info: BlockingInfo {
                reason: BlockingReason::Spam,
                notice: None,
            },
        },
        &format!("BLOCK {ID1} reason=spam"),
    );
    check(
        StoreLogRecord::BlockQueue {
            recipient_id: id(1),
            info: BlockingInfo {
                reason: BlockingReason::Spam,
                notice: Some(ClientNotice { ttl: None }),
            },
        },
        &format!("BLOCK {ID1} reason=spam,notice={{}}"),
    );
    check(
        StoreLogRecord::UnblockQueue {
            recipient_id: id(1),
        },
        &format!("UNBLOCK {ID1}"),
    );
    check(
        StoreLogRecord::DeleteQueue {
            recipient_id: id(1),
        },
        &format!("DELETE {ID1}"),
    );
    check(
        StoreLogRecord::DeleteNotifier {
            recipient_id: id(1),
        },
        &format!("NDELETE {ID1}"),
    );
    check(
        StoreLogRecord::UpdateTime {
            recipient_id: id(1),
            updated_at: 1_749_945_600,
        },
        &format!("TIME {ID1} 1749945600"),
    );
    check(
        StoreLogRecord::NewService(ServiceRecord {
            service_id: id(3),
            role: ServiceRole::Notifier,
            certificates: vec![b"\x30\x82cert".to_vec(), b"\x30\x82cert".to_vec()],
            cert_hash: b"hash".to_vec(),
            created_at: 1_749_945_600,
        }),
        &format!("NEW_SERVICE service_id={ID3} role=N cert=MIJjZXJ0,MIJjZXJ0 cert_hash=aGFzaA== created_at=1749945600"),
    );
    check(
        StoreLogRecord::QueueService {
            recipient_id: id(1),
            party: ServiceParty::Notifier,
            service_id: Some(id(3)),
        },
        &format!("QUEUE_SERVICE {ID1} N {ID3}"),
    );
    // Dissociation: the line ends with a space.
    check(
        StoreLogRecord::QueueService {
            recipient_id: id(1),
            party: ServiceParty::Recipient,
            service_id: None,
        },
        &format!("QUEUE_SERVICE {ID1} R "),
    );
}

#[test]
fn rejects_bad_lines() {
    let bad = [
        format!("CREATE rid={ID2} rk= rdh={DH1} sid={ID3} sk="),
        format!("CREATE rid={ID2} rk={ED1} rdh={ID1} sid={ID3} sk="),
        format!("CREATE rid={ID2} rk={ED1} rdh={DH1} sid={ID3} sk= junk"),
        format!("CREATE rid={ID2} rk={ED1} rdh={DH1} sid={ID3}"),
        format!("SECURE {ID1} {DH1}"),
        format!("SECURE {ID1}"),
        format!("TIME {ID1} x"),
        format!("DELETE {ID1} "),
        format!("QUEUE_SERVICE {ID1} X {ID3}"),
        format!("BLOCK {ID1} reason=other"),
        String::new(),
    ];
    for line in bad {
        assert!(
            matches!(
                StoreLogRecord::parse(line.as_bytes()),
                Err(LineError::Malformed(_)) | Err(LineError::UnknownTag)
            ),
            "{line}"
        );
    }
    assert_eq!(
        StoreLogRecord::parse(format!("RENAME {ID1}").as_bytes()),
        Err(LineError::UnknownTag)
    );
    assert_eq!(StoreLogRecord::parse(b"DELETE"), Err(LineError::UnknownTag));
    assert!(matches!(
        StoreLogRecord::parse(format!("DELETE {ID1} x").as_bytes()),
        Err(LineError::Malformed(_))
    ));
}
