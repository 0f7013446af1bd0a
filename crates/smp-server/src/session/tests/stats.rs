//! Statistics counted by command processing (`Server.hs` `incStat` calls).

use super::harness::*;
use smp_client::{AuthAlgorithm, AuthKeyPair};
use smp_proto::command::{Command, MsgFlags};
use smp_proto::response::Response;

#[test]
fn counters_follow_the_reference() {
    let server = Server::new();
    let counters = &server.state.stats.counters;
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    assert_eq!((counters.q_created.get(), counters.q_count.get()), (1, 1));
    let flagged = Command::Send {
        flags: MsgFlags { notification: true },
        body: b"one".to_vec(),
    };
    conn.request(queue.sid(), flagged, None).unwrap();
    conn.request(queue.sid(), send(b"two"), None).unwrap();
    assert_eq!(counters.msg_sent.get(), 2);
    assert_eq!(counters.msg_sent_ntf.get(), 1);
    assert_eq!(counters.msg_count.get(), 2);
    // a signed SEND to an unsecured queue: AUTH, counted
    let stranger = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    assert!(conn
        .request(queue.sid(), send(b"x"), Some(&stranger))
        .is_err());
    assert_eq!(counters.msg_sent_auth.get(), 1);
    // GET, GET again (duplicate), ACK (received via GET)
    let message = conn
        .request(queue.rid(), Command::Get, Some(&queue.recipient))
        .unwrap();
    conn.request(queue.rid(), Command::Get, Some(&queue.recipient))
        .unwrap();
    assert_eq!(
        (counters.msg_get.get(), counters.msg_get_duplicate.get()),
        (1, 1)
    );
    let Response::Msg { msg_id, .. } = message else {
        panic!()
    };
    conn.request(queue.rid(), Command::Ack(msg_id), Some(&queue.recipient))
        .unwrap();
    assert_eq!(counters.msg_recv.get(), 1);
    assert_eq!(counters.msg_recv_get.get(), 1);
    assert_eq!(counters.msg_recv_ntf.get(), 1);
    assert_eq!(counters.msg_count.get(), 1);
    assert_eq!(server.state.stats.active_queues.counts().0, 1);
    // SUB in another connection delivers the pending message
    let mut other = server.connect(18);
    other
        .request(queue.rid(), Command::Sub, Some(&queue.recipient))
        .unwrap();
    assert_eq!(counters.q_sub.get(), 1);
    other
        .request(queue.rid(), Command::Sub, Some(&queue.recipient))
        .unwrap();
    assert_eq!(counters.q_sub_duplicate.get(), 1);
    other
        .request(queue.rid(), Command::Del, Some(&queue.recipient))
        .unwrap();
    assert_eq!(counters.q_deleted_all.get(), 1);
    assert_eq!(counters.q_deleted_new.get(), 1);
    assert_eq!(counters.q_count.get(), 0);
}
