//! SUB/SEND/MSG/ACK/GET/OFF/DEL, quota, size limits, END/DELD and expiry (spec §6.4–§6.7,
//! §7.1–§7.7).

use super::harness::*;
use crate::clock::Clock;
use crate::state::{Expiration, ServerSettings};
use crate::subscriptions::HubEvent;
use smp_client::{AuthAlgorithm, AuthKeyPair};
use smp_proto::command::{Command, QueueReqData, SubscriptionMode};
use smp_proto::error::{CommandError, ErrorType};
use smp_proto::ids::MsgId;
use smp_proto::response::{RcvMsgBody, Response};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn sub_answer_by_version_and_message_after_it() {
    let server = Server::new();
    for (version, expected) in [(15, Response::Ok), (16, Response::Sok(None))] {
        let mut conn = server.connect(version);
        let queue = conn.create_queue();
        assert_eq!(
            conn.request(queue.sid(), send(b"first"), None),
            Ok(Response::Ok)
        );
        let (answer, message) =
            conn.request_full(queue.rid(), Command::Sub, Some(&queue.recipient));
        // v15 clients parse SOK as OK: the wire form is "OK"
        assert_eq!(
            answer.map(|r| r.to_bytes(conn.version())),
            Ok(expected.to_bytes(conn.version()))
        );
        let message = message.expect("MSG after SUB");
        assert!(message.corr_id.is_empty());
        assert_eq!(&message.entity_id, queue.rid());
        let body_of = queue.decrypt(&message.response.unwrap());
        assert_eq!(body(&body_of), b"first");
        let RcvMsgBody::Message { timestamp, .. } = body_of else {
            panic!()
        };
        assert_eq!(timestamp.0, NOW);
    }
}

#[test]
fn push_after_send_then_ack_delivers_the_next() {
    let server = Server::new();
    let mut recipient = server.connect(18);
    let mut sender = server.connect(18);
    let queue = recipient.create_queue_with(
        SubscriptionMode::Subscribe,
        Some(QueueReqData::Messaging(None)),
        false,
    );
    assert_eq!(
        sender.request(queue.sid(), send(b"one"), None),
        Ok(Response::Ok)
    );
    assert_eq!(
        sender.request(queue.sid(), send(b"two"), None),
        Ok(Response::Ok)
    );
    // only the first is pushed (one message in flight)
    let pushed = recipient.pushed();
    assert_eq!(pushed.len(), 1);
    let first = pushed[0].response.clone().unwrap();
    assert_eq!(body(&queue.decrypt(&first)), b"one");
    let Response::Msg { msg_id, .. } = first else {
        panic!()
    };
    // a wrong id: NO_MSG, nothing changes
    assert_eq!(
        recipient.request(
            queue.rid(),
            Command::Ack(MsgId::from([0; 24])),
            Some(&queue.recipient)
        ),
        Err(ErrorType::NoMsg)
    );
    let next = recipient
        .request(
            queue.rid(),
            Command::Ack(msg_id.clone()),
            Some(&queue.recipient),
        )
        .unwrap();
    assert_eq!(body(&queue.decrypt(&next)), b"two");
    let Response::Msg { msg_id: second, .. } = next else {
        panic!()
    };
    assert_eq!(
        recipient.request(queue.rid(), Command::Ack(msg_id), Some(&queue.recipient)),
        Err(ErrorType::NoMsg)
    );
    assert_eq!(
        recipient.request(queue.rid(), Command::Ack(second), Some(&queue.recipient)),
        Ok(Response::Ok)
    );
    assert!(recipient.pushed().is_empty());
}

#[test]
fn get_and_ack_without_subscription_and_prohibitions() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    let get = |conn: &mut Conn| conn.request(queue.rid(), Command::Get, Some(&queue.recipient));
    assert_eq!(get(&mut conn), Ok(Response::Ok));
    conn.request(queue.sid(), send(b"m"), None).unwrap();
    let message = get(&mut conn).unwrap();
    assert_eq!(get(&mut conn).unwrap(), message, "GET repeats the head");
    let Response::Msg { msg_id, .. } = message else {
        panic!()
    };
    assert_eq!(
        conn.request(queue.rid(), Command::Sub, Some(&queue.recipient)),
        Err(ErrorType::Cmd(CommandError::Prohibited))
    );
    assert_eq!(
        conn.request(queue.rid(), Command::Ack(msg_id), Some(&queue.recipient)),
        Ok(Response::Ok)
    );
    assert_eq!(get(&mut conn), Ok(Response::Ok));
    // GET after SUB in another connection's own subscription
    let mut subscriber = server.connect(18);
    subscriber
        .request(queue.rid(), Command::Sub, Some(&queue.recipient))
        .unwrap();
    assert_eq!(
        subscriber.request(queue.rid(), Command::Get, Some(&queue.recipient)),
        Err(ErrorType::Cmd(CommandError::Prohibited))
    );
    assert_eq!(
        subscriber.request(
            queue.rid(),
            Command::Ack(MsgId::from([1; 24])),
            Some(&queue.recipient)
        ),
        Err(ErrorType::NoMsg)
    );
}

#[test]
fn send_authorization_and_size_limits_by_version() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    let sender = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    // unsecured: a signed SEND is refused
    assert_eq!(
        conn.request(queue.sid(), send(b"x"), Some(&sender)),
        Err(ErrorType::Auth)
    );
    conn.request(
        queue.rid(),
        Command::Key(sender.public_key()),
        Some(&queue.recipient),
    )
    .unwrap();
    assert_eq!(
        conn.request(queue.sid(), send(b"x"), None),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(queue.sid(), send(b"x"), Some(&sender)),
        Ok(Response::Ok)
    );
    for (version, limit) in [(7, 16_088), (10, 16_064), (18, 16_048)] {
        let mut conn = server.connect(version);
        let queue = conn.create_queue();
        assert_eq!(
            conn.request(queue.sid(), send(&vec![1; limit + 1]), None),
            Err(ErrorType::LargeMsg),
            "v{version}"
        );
        if version >= 11 {
            assert_eq!(
                conn.request(queue.sid(), send(&vec![1; limit]), None),
                Ok(Response::Ok)
            );
        }
    }
}

#[test]
fn quota_marker_is_delivered_and_sending_resumes_after_drain() {
    let server = Server::with(ServerSettings::default(), 3);
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    for _ in 0..3 {
        assert_eq!(
            conn.request(queue.sid(), send(b"m"), None),
            Ok(Response::Ok)
        );
    }
    assert_eq!(
        conn.request(queue.sid(), send(b"m"), None),
        Err(ErrorType::Quota)
    );
    assert_eq!(
        conn.request(queue.sid(), send(b"m"), None),
        Err(ErrorType::Quota)
    );
    let (_, message) = conn.request_full(queue.rid(), Command::Sub, Some(&queue.recipient));
    let mut message = message.unwrap().response.unwrap();
    let mut quota_seen = false;
    while let Response::Msg { msg_id, .. } = &message {
        if let RcvMsgBody::Quota { .. } = queue.decrypt(&message) {
            quota_seen = true;
        }
        match conn.request(
            queue.rid(),
            Command::Ack(msg_id.clone()),
            Some(&queue.recipient),
        ) {
            Ok(next) => message = next,
            Err(error) => panic!("{error:?}"),
        }
    }
    assert!(quota_seen);
    assert_eq!(
        conn.request(queue.sid(), send(b"again"), None),
        Ok(Response::Ok)
    );
}

#[test]
fn off_and_del() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    conn.request(queue.sid(), send(b"kept"), None).unwrap();
    assert_eq!(
        conn.request(queue.rid(), Command::Off, Some(&queue.recipient)),
        Ok(Response::Ok)
    );
    assert_eq!(
        conn.request(queue.rid(), Command::Off, Some(&queue.recipient)),
        Ok(Response::Ok)
    );
    assert_eq!(
        conn.request(queue.sid(), send(b"x"), None),
        Err(ErrorType::Auth)
    );
    // recipient commands still work on a suspended queue
    assert!(matches!(
        conn.request(queue.rid(), Command::Get, Some(&queue.recipient)),
        Ok(Response::Msg { .. })
    ));
    assert_eq!(
        conn.request(queue.rid(), Command::Del, Some(&queue.recipient)),
        Ok(Response::Ok)
    );
    assert_eq!(
        conn.request(queue.rid(), Command::Del, Some(&queue.recipient)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(queue.sid(), send(b"x"), None),
        Err(ErrorType::Auth)
    );
}

#[test]
fn takeover_end_and_deletion_deld_are_pending_events() {
    let server = Server::new();
    let mut first = server.connect(18);
    let mut second = server.connect(9);
    let queue = first.create_queue();
    first
        .request(queue.rid(), Command::Sub, Some(&queue.recipient))
        .unwrap();
    second
        .request(queue.rid(), Command::Sub, Some(&queue.recipient))
        .unwrap();
    let pending = server.state.subscribers.take_pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0.id(), first.session.client.id());
    assert_eq!(pending[0].1, [(queue.rid().clone(), HubEvent::End)]);
    // the old subscriber's record is gone: ACK → NO_MSG
    assert_eq!(
        first.request(
            queue.rid(),
            Command::Ack(MsgId::from([1; 24])),
            Some(&queue.recipient)
        ),
        Err(ErrorType::NoMsg)
    );
    first
        .request(queue.rid(), Command::Del, Some(&queue.recipient))
        .unwrap();
    let pending = server.state.subscribers.take_pending();
    assert_eq!(pending[0].0.id(), second.session.client.id());
    assert_eq!(pending[0].1, [(queue.rid().clone(), HubEvent::Deleted)]);
    // DELD is END before v10
    let encoded = crate::state::EventEncoder::hub_event(
        &crate::session::WireEvents,
        &second.session.client,
        queue.rid(),
        HubEvent::Deleted,
    );
    assert!(encoded.ends_with(b"END"));
}

#[test]
fn batch_is_executed_last_first_with_responses_in_order() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queues: Vec<Queue> = (0..3).map(|_| conn.create_queue()).collect();
    for queue in &queues {
        conn.request(queue.sid(), send(b"m"), None).unwrap();
    }
    let transmissions: Vec<Vec<u8>> = queues
        .iter()
        .map(|queue| {
            let corr_id = conn.corr_id();
            conn.transmission(&corr_id, queue.rid(), &Command::Sub, Some(&queue.recipient))
        })
        .collect();
    let answers = conn.send_batch(&transmissions);
    let entities: Vec<_> = answers
        .responses
        .iter()
        .map(|t| t.entity_id.clone())
        .collect();
    let expected: Vec<_> = queues.iter().map(|q| q.rid().clone()).collect();
    assert_eq!(entities, expected);
    let message_entities: Vec<_> = answers
        .messages
        .iter()
        .map(|t| t.entity_id.clone())
        .collect();
    assert_eq!(message_entities, expected);
}

#[tokio::test(start_paused = true)]
async fn expiry_removes_old_messages() {
    let settings = ServerSettings {
        message_expiration: Some(Expiration {
            ttl: Duration::from_secs(100),
            check_interval: Duration::from_secs(3600),
        }),
        ..ServerSettings::default()
    };
    let server = Server::with(settings, 128);
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    conn.request(queue.sid(), send(b"old"), None).unwrap();
    server.clock.advance(Duration::from_secs(101));
    conn.request(queue.sid(), send(b"new"), None).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(crate::server::expire_messages(
        Arc::clone(&server.state),
        shutdown.clone(),
    ));
    // nothing at start; the first run is one check interval later
    tokio::time::sleep(Duration::from_secs(3599)).await;
    assert_eq!(server.state.store.queue_size(queue.rid()).unwrap(), 2);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(server.state.store.queue_size(queue.rid()).unwrap(), 1);
    assert_eq!(server.state.stats.counters.msg_expired.get(), 1);
    shutdown.cancel();
    task.await.unwrap();
    let message = conn
        .request(queue.rid(), Command::Get, Some(&queue.recipient))
        .unwrap();
    assert_eq!(body(&queue.decrypt(&message)), b"new");
}

#[tokio::test(start_paused = true)]
async fn inactive_clients_without_subscriptions_are_dropped() {
    use std::sync::atomic::AtomicI64;
    let settings = ServerSettings {
        inactive_clients: Some(Expiration {
            ttl: Duration::from_secs(60),
            check_interval: Duration::from_secs(10),
        }),
        ..ServerSettings::default()
    };
    let server = Server::with(settings, 128);
    let mut conn = server.connect(18);
    let last_received = AtomicI64::new(NOW);
    let last_sent = AtomicI64::new(NOW);
    // with a subscription the client stays, however long it is silent
    let queue = conn.create_queue();
    conn.request(queue.rid(), Command::Sub, Some(&queue.recipient))
        .unwrap();
    server.clock.advance(Duration::from_secs(1000));
    let check = crate::session::inactive(&conn.session, &last_received, &last_sent);
    assert!(tokio::time::timeout(Duration::from_secs(100), check)
        .await
        .is_err());
    // without subscriptions it is dropped at the next check
    conn.request(queue.rid(), Command::Del, Some(&queue.recipient))
        .unwrap();
    let check = crate::session::inactive(&conn.session, &last_received, &last_sent);
    assert!(tokio::time::timeout(Duration::from_secs(11), check)
        .await
        .is_ok());
    // recent traffic keeps it
    last_received.store(server.clock.seconds(), std::sync::atomic::Ordering::Relaxed);
    let check = crate::session::inactive(&conn.session, &last_received, &last_sent);
    assert!(tokio::time::timeout(Duration::from_secs(30), check)
        .await
        .is_err());
}

#[test]
fn blocked_queues_by_version() {
    use smp_proto::error::{BlockingInfo, BlockingReason, ClientNotice};
    let server = Server::new();
    let info = BlockingInfo {
        reason: BlockingReason::Spam,
        notice: Some(ClientNotice { ttl: None }),
    };
    for version in [11, 12, 18] {
        let mut conn = server.connect(version);
        let queue = conn.create_queue();
        server.store.queues.block_queue(queue.rid(), info).unwrap();
        let expected = match version {
            11 => ErrorType::Auth,
            12 => ErrorType::Blocked(BlockingInfo {
                notice: None,
                ..info
            }),
            _ => ErrorType::Blocked(info),
        };
        for command in [Command::Sub, Command::Get, Command::Que] {
            assert_eq!(
                conn.request(queue.rid(), command, Some(&queue.recipient)),
                Err(expected.clone()),
                "v{version}"
            );
        }
        assert_eq!(conn.request(queue.sid(), send(b"x"), None), Err(expected));
        // OFF and DEL are not refused
        assert_eq!(
            conn.request(queue.rid(), Command::Off, Some(&queue.recipient)),
            Ok(Response::Ok)
        );
        assert_eq!(
            conn.request(queue.rid(), Command::Del, Some(&queue.recipient)),
            Ok(Response::Ok)
        );
    }
}

#[test]
fn disconnect_forgets_subscriptions_and_the_next_sub_redelivers() {
    let server = Server::new();
    let mut first = server.connect(18);
    let queue = first.create_queue_with(
        SubscriptionMode::Subscribe,
        Some(QueueReqData::Messaging(None)),
        false,
    );
    first.request(queue.sid(), send(b"unacked"), None).unwrap();
    let pushed = first.pushed();
    assert_eq!(pushed.len(), 1);
    server.state.client_disconnected(&first.session.client);
    assert!(server.state.subscribers.is_empty());
    assert!(server.state.subscribers.take_pending().is_empty());
    let mut second = server.connect(18);
    let (_, message) = second.request_full(queue.rid(), Command::Sub, Some(&queue.recipient));
    let message = message.expect("re-delivered");
    assert_eq!(message.response, pushed[0].response);
}
