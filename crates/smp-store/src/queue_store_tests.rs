//! Queue store semantics against `QueueStore/STM.hs` and the `Server.hs` LSET checks.

use super::*;
use crate::log_record::tests::{id, plain_queue};
use crate::record::ServiceRole;
use smp_proto::crypto::DhSecret;
use smp_proto::error::BlockingReason;

fn notifier(n: u8) -> NotifierCreds {
    NotifierCreds {
        notifier_id: id(n),
        notifier_key: AuthKey::X25519([n; 32]),
        rcv_ntf_dh_secret: DhSecret([n; 32]),
        service_id: None,
    }
}

fn link(fixed: &[u8], user: &[u8]) -> QueueLinkData {
    QueueLinkData {
        fixed: fixed.to_vec(),
        user: user.to_vec(),
    }
}

#[test]
fn add_checks_all_four_id_spaces() {
    let store = QueueStore::new();
    let mut queue = plain_queue(2);
    queue.notifier = Some(notifier(3));
    queue.link = Some((id(4), link(b"f", b"u")));
    store.add_queue(id(1), queue).unwrap();
    // The same id in any space collides (`addQueue_` `hasId`).
    assert_eq!(
        store.add_queue(id(1), plain_queue(9)),
        Err(StoreError::Duplicate)
    );
    assert_eq!(
        store.add_queue(id(9), plain_queue(2)),
        Err(StoreError::Duplicate)
    );
    let mut other = plain_queue(8);
    other.notifier = Some(notifier(3));
    assert_eq!(store.add_queue(id(9), other), Err(StoreError::Duplicate));
    let mut other = plain_queue(8);
    other.link = Some((id(4), link(b"f", b"u")));
    assert_eq!(store.add_queue(id(9), other), Err(StoreError::Duplicate));
    // Lookups by every party.
    for (party, key) in [
        (QueueParty::Recipient, 1),
        (QueueParty::Sender, 2),
        (QueueParty::Notifier, 3),
        (QueueParty::Link, 4),
    ] {
        let (recipient_id, record) = store.queue(party, id(key).as_bytes()).unwrap();
        assert_eq!(recipient_id, id(1));
        assert_eq!(record.sender_id, id(2));
    }
    assert_eq!(
        store.queue(QueueParty::Sender, id(1).as_bytes()),
        Err(StoreError::Auth)
    );
    assert_eq!(store.counts().queues, 1);
    assert_eq!(store.counts().notifiers, 1);
}

#[test]
fn secure_and_keys() {
    let store = QueueStore::new();
    store.add_queue(id(1), plain_queue(2)).unwrap();
    let key = AuthKey::Ed25519([5; 32]);
    store.secure_queue(&id(1), key).unwrap();
    store.secure_queue(&id(1), key).unwrap();
    assert_eq!(
        store.secure_queue(&id(1), AuthKey::Ed25519([6; 32])),
        Err(StoreError::Auth)
    );
    assert_eq!(
        store
            .queue(QueueParty::Sender, id(2).as_bytes())
            .unwrap()
            .1
            .sender_key,
        Some(key)
    );
    let keys = vec![AuthKey::Ed25519([7; 32]), AuthKey::Ed448([8; 57])];
    store.update_recipient_keys(&id(1), keys.clone()).unwrap();
    assert_eq!(
        store
            .queue(QueueParty::Recipient, id(1).as_bytes())
            .unwrap()
            .1
            .recipient_keys,
        keys
    );
    assert_eq!(
        store.update_recipient_keys(&id(1), vec![]),
        Err(StoreError::Auth)
    );
    assert_eq!(store.secure_queue(&id(9), key), Err(StoreError::Auth));
}

#[test]
fn link_data_rules() {
    let store = QueueStore::new();
    let mut contact = plain_queue(2);
    contact.queue_mode = Some(smp_proto::command::QueueMode::Contact);
    store.add_queue(id(1), contact).unwrap();
    store
        .set_link_data(&id(1), id(4), link(b"fixed", b"user"))
        .unwrap();
    // User data is replaceable, fixed data and the link id are not.
    store
        .set_link_data(&id(1), id(4), link(b"fixed", b"user 2"))
        .unwrap();
    assert_eq!(
        store
            .link_data(id(1).as_bytes(), id(4).as_bytes())
            .unwrap()
            .user,
        b"user 2"
    );
    assert_eq!(
        store.set_link_data(&id(1), id(4), link(b"other", b"u")),
        Err(StoreError::Auth)
    );
    assert_eq!(
        store.set_link_data(&id(1), id(5), link(b"fixed", b"u")),
        Err(StoreError::Auth)
    );
    assert_eq!(
        store.link_data(id(1).as_bytes(), id(5).as_bytes()),
        Err(StoreError::Auth)
    );
    // A secured messaging queue cannot get link data.
    store.add_queue(id(6), plain_queue(7)).unwrap();
    store
        .secure_queue(&id(6), AuthKey::Ed25519([5; 32]))
        .unwrap();
    assert_eq!(
        store.set_link_data(&id(6), id(8), link(b"f", b"u")),
        Err(StoreError::Auth)
    );
    // Another queue's link id is refused.
    store.add_queue(id(9), plain_queue(10)).unwrap();
    assert_eq!(
        store.set_link_data(&id(9), id(4), link(b"fixed", b"u")),
        Err(StoreError::Auth)
    );
    store.delete_link_data(&id(1)).unwrap();
    assert_eq!(
        store.queue(QueueParty::Link, id(4).as_bytes()),
        Err(StoreError::Auth)
    );
    store
        .set_link_data(&id(9), id(4), link(b"fixed", b"u"))
        .unwrap();
    assert_eq!(
        store.queue(QueueParty::Link, id(4).as_bytes()).unwrap().0,
        id(9)
    );
}

#[test]
fn notifiers() {
    let store = QueueStore::new();
    store.add_queue(id(1), plain_queue(2)).unwrap();
    store.add_queue(id(5), plain_queue(6)).unwrap();
    assert_eq!(store.add_notifier(&id(1), notifier(3)), Ok(None));
    // Taken notifier ids are duplicates, even the queue's own.
    assert_eq!(
        store.add_notifier(&id(1), notifier(3)),
        Err(StoreError::Duplicate)
    );
    assert_eq!(store.add_notifier(&id(5), notifier(2)), Ok(None));
    assert_eq!(
        store.add_notifier(&id(1), notifier(4)),
        Ok(Some(notifier(3)))
    );
    assert_eq!(
        store.queue(QueueParty::Notifier, id(3).as_bytes()),
        Err(StoreError::Auth)
    );
    assert_eq!(
        store
            .queue(QueueParty::Notifier, id(4).as_bytes())
            .unwrap()
            .0,
        id(1)
    );
    assert_eq!(store.delete_notifier(&id(1)), Ok(Some(notifier(4))));
    assert_eq!(store.delete_notifier(&id(1)), Ok(None));
    assert_eq!(store.counts().notifiers, 1);
}

#[test]
fn status_changes_and_time() {
    let store = QueueStore::new();
    store.add_queue(id(1), plain_queue(2)).unwrap();
    store.suspend_queue(&id(1)).unwrap();
    assert_eq!(
        store.status(QueueParty::Sender, id(2).as_bytes()),
        Ok(QueueStatus::Off)
    );
    let info = BlockingInfo {
        reason: BlockingReason::Spam,
        notice: None,
    };
    store.block_queue(&id(1), info).unwrap();
    assert_eq!(
        store.status(QueueParty::Recipient, id(1).as_bytes()),
        Ok(QueueStatus::Blocked(info))
    );
    store.unblock_queue(&id(1)).unwrap();
    assert_eq!(
        store.status(QueueParty::Recipient, id(1).as_bytes()),
        Ok(QueueStatus::Active)
    );
    let today = plain_queue(2).updated_at.unwrap();
    assert_eq!(store.update_time(&id(1), today), Ok(false));
    assert_eq!(store.update_time(&id(1), today + 86_400), Ok(true));
    assert_eq!(
        store
            .queue(QueueParty::Recipient, id(1).as_bytes())
            .unwrap()
            .1
            .updated_at,
        Some(today + 86_400)
    );
}

#[test]
fn deleted_queue_keeps_recipient_and_link_ids_reserved() {
    let store = QueueStore::new();
    let mut queue = plain_queue(2);
    queue.notifier = Some(notifier(3));
    queue.link = Some((id(4), link(b"f", b"u")));
    store.add_queue(id(1), queue.clone()).unwrap();
    assert_eq!(store.delete_queue(&id(1)), Ok(queue));
    assert_eq!(store.delete_queue(&id(1)), Err(StoreError::Auth));
    for party in [
        QueueParty::Recipient,
        QueueParty::Sender,
        QueueParty::Notifier,
        QueueParty::Link,
    ] {
        assert_eq!(
            store.queue(party, id(1).as_bytes()).err(),
            Some(StoreError::Auth)
        );
    }
    assert_eq!(store.counts().queues, 0);
    assert_eq!(store.counts().notifiers, 0);
    // Sender and notifier ids are free again; recipient and link ids are not.
    let mut reuse = plain_queue(2);
    reuse.notifier = Some(notifier(3));
    store.add_queue(id(7), reuse).unwrap();
    assert_eq!(
        store.add_queue(id(1), plain_queue(8)),
        Err(StoreError::Duplicate)
    );
    let mut reuse_link = plain_queue(9);
    reuse_link.link = Some((id(4), link(b"f", b"u")));
    assert_eq!(
        store.add_queue(id(10), reuse_link),
        Err(StoreError::Duplicate)
    );
}

#[test]
fn services() {
    let store = QueueStore::new();
    let service = ServiceRecord {
        service_id: id(20),
        role: ServiceRole::Notifier,
        certificates: vec![b"cert".to_vec()],
        cert_hash: b"hash".to_vec(),
        created_at: 0,
    };
    assert_eq!(store.get_create_service(service.clone()), Ok(id(20)));
    // Same certificate: the existing id, whatever id is offered.
    assert_eq!(
        store.get_create_service(ServiceRecord {
            service_id: id(21),
            ..service.clone()
        }),
        Ok(id(20))
    );
    assert_eq!(
        store.get_create_service(ServiceRecord {
            role: ServiceRole::Messaging,
            ..service.clone()
        }),
        Err(StoreError::Service)
    );
    assert_eq!(
        store.get_create_service(ServiceRecord {
            cert_hash: b"other".to_vec(),
            ..service.clone()
        }),
        Err(StoreError::Duplicate)
    );
    store.add_queue(id(1), plain_queue(2)).unwrap();
    assert_eq!(
        store.set_queue_service(&id(1), ServiceParty::Notifier, Some(id(20))),
        Err(StoreError::Auth)
    );
    store.add_notifier(&id(1), notifier(3)).unwrap();
    store
        .set_queue_service(&id(1), ServiceParty::Notifier, Some(id(20)))
        .unwrap();
    store
        .set_queue_service(&id(1), ServiceParty::Recipient, Some(id(20)))
        .unwrap();
    assert_eq!(
        store.service_queue_count(ServiceParty::Notifier, &id(20)),
        Ok(1)
    );
    assert_eq!(
        store.service_queue_count(ServiceParty::Recipient, &id(20)),
        Ok(1)
    );
    assert_eq!(
        store.service_queue_count(ServiceParty::Recipient, &id(21)),
        Err(StoreError::Auth)
    );
    store.delete_notifier(&id(1)).unwrap();
    assert_eq!(
        store.service_queue_count(ServiceParty::Notifier, &id(20)),
        Ok(0)
    );
    store
        .set_queue_service(&id(1), ServiceParty::Recipient, None)
        .unwrap();
    assert_eq!(
        store.service_queue_count(ServiceParty::Recipient, &id(20)),
        Ok(0)
    );
    let counts = store.counts();
    assert_eq!(
        (counts.notifier_services, counts.recipient_services),
        (1, 0)
    );
}

#[test]
fn shared_across_threads() {
    let store = std::sync::Arc::new(QueueStore::new());
    let handles: Vec<_> = (0..4u8)
        .map(|thread| {
            let store = store.clone();
            std::thread::spawn(move || {
                for n in 0..50u8 {
                    let mut rid = [thread; 24];
                    rid[1] = n;
                    rid[2] = 1;
                    let mut sid = rid;
                    sid[2] = 2;
                    store
                        .add_queue(EntityId::from(rid), plain_queue(0).with_sender(sid))
                        .unwrap();
                    assert!(store.queue(QueueParty::Sender, &sid).is_ok());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(store.counts().queues, 200);
}

trait WithSender {
    fn with_sender(self, sender: [u8; 24]) -> Self;
}

impl WithSender for QueueRecord {
    fn with_sender(mut self, sender: [u8; 24]) -> Self {
        self.sender_id = EntityId::from(sender);
        self
    }
}

#[test]
fn parallel_snapshot_lines_equal_the_records_in_order() {
    let store = QueueStore::new();
    // Ids of several lengths, many sharing their first 8 bytes (the sort's prefix), enough
    // queues for several parts per thread, and some deleted.
    for n in 0..10_000u32 {
        let [a, b, c, d] = n.to_be_bytes();
        let length = match n % 7 {
            0 => 16,
            1 => 32,
            2 => 5,
            _ => 24,
        };
        let mut recipient = vec![b'r'; length];
        let mut sender = vec![b's'; 24];
        let tail = if n % 3 == 0 { length - 4 } else { 0 };
        recipient[tail..tail + 4].copy_from_slice(&[a, b, c, d]);
        sender[..4].copy_from_slice(&[a, b, c, d]);
        let mut queue = plain_queue(0);
        queue.sender_id = EntityId::new(sender).unwrap();
        let recipient = EntityId::new(recipient).unwrap();
        store.add_queue(recipient.clone(), queue).unwrap();
        if n % 11 == 0 {
            store.delete_queue(&recipient).unwrap();
        }
    }
    let mut expected = Vec::new();
    let mut records = 0;
    store.snapshot_records(|record| {
        expected.extend(record.to_line());
        expected.push(b'\n');
        records += 1;
    });
    for workers in [1, 3] {
        let mut written = Vec::new();
        let count = store
            .write_snapshot_lines::<()>(workers, |bytes| {
                written.extend_from_slice(bytes);
                Ok(())
            })
            .unwrap();
        assert_eq!(count, records);
        assert!(
            written == expected,
            "different snapshot with {workers} workers"
        );
    }
}
