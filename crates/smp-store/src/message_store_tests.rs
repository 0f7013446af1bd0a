//! Quota, marker, ACK and expiry semantics (`MsgStore/STM.hs: writeMsg`, `tryDelMsg`,
//! `tryDelPeekMsg`; `MsgStore/Types.hs: deleteExpireMsgs_`).

use super::*;

pub(crate) fn message(n: u8, timestamp: i64) -> Message {
    Message {
        msg_id: [n; 24],
        timestamp,
        kind: MessageKind::Message {
            notification: n.is_multiple_of(2),
            body: Arc::from(vec![n; 3]),
        },
    }
}

const QUEUE: &[u8] = &[1; 24];

#[test]
fn quota_then_marker_then_refusal_until_drained() {
    let store = MessageStore::new(3);
    assert_eq!(
        store.write_message(QUEUE, message(1, 10)),
        Some((message(1, 10), true))
    );
    assert_eq!(
        store.write_message(QUEUE, message(2, 11)),
        Some((message(2, 11), false))
    );
    assert!(store.write_message(QUEUE, message(3, 12)).is_some());
    // The 4th write stores a marker with its id and time and fails.
    assert_eq!(store.write_message(QUEUE, message(4, 13)), None);
    assert_eq!(store.size(QUEUE), 4);
    // Further writes fail without storing.
    assert_eq!(store.write_message(QUEUE, message(5, 14)), None);
    assert_eq!(store.size(QUEUE), 4);
    // Draining some messages is not enough while the marker is there.
    for n in 1..=3 {
        assert_eq!(
            store.delete_message(QUEUE, &[n; 24]),
            Some(message(n, 9 + i64::from(n)))
        );
    }
    assert_eq!(store.write_message(QUEUE, message(6, 15)), None);
    let marker = store.peek(QUEUE).unwrap();
    assert_eq!(
        (marker.msg_id, marker.timestamp, marker.is_quota()),
        ([4; 24], 13, true)
    );
    assert_eq!(store.delete_and_peek(QUEUE, &[4; 24]), (Some(marker), None));
    // Empty: writing resumes.
    assert_eq!(
        store.write_message(QUEUE, message(7, 16)),
        Some((message(7, 16), true))
    );
}

#[test]
fn ack_deletes_only_a_matching_head() {
    let store = MessageStore::default();
    store.write_message(QUEUE, message(1, 10));
    store.write_message(QUEUE, message(2, 11));
    assert_eq!(
        store.delete_and_peek(QUEUE, &[2; 24]),
        (None, Some(message(1, 10)))
    );
    assert_eq!(store.delete_message(QUEUE, b""), None);
    assert_eq!(
        store.delete_and_peek(QUEUE, &[1; 24]),
        (Some(message(1, 10)), Some(message(2, 11)))
    );
    assert_eq!(store.delete_and_peek(&[9; 24], &[2; 24]), (None, None));
    assert_eq!(store.delete_queue(QUEUE), 1);
    assert_eq!(store.peek(QUEUE), None);
}

#[test]
fn expiry_stops_at_newer_message_or_marker() {
    let store = MessageStore::new(3);
    for (n, time) in [(1, 10), (2, 20), (3, 30), (4, 40)] {
        store.write_message(QUEUE, message(n, time));
    }
    // Queue: 1@10, 2@20, 3@30, marker@40.
    assert_eq!(store.expire_queue(QUEUE, 15), 1);
    assert_eq!(
        store.expire_all(100),
        MessageStats {
            stored: 1,
            expired: 2,
            queues: 1
        }
    );
    assert!(store.peek(QUEUE).unwrap().is_quota());
    store.write_message(&[2; 24], message(5, 5));
    store.write_message(&[2; 24], message(6, 50));
    assert_eq!(
        store.expire_all(20),
        MessageStats {
            stored: 2,
            expired: 1,
            queues: 2
        }
    );
    assert_eq!(store.message_count(), 2);
}
