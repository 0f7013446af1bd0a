//! End-to-end tests against the real `smp-server` binary over real TLS, with `smp-client`:
//! handshake and PING at several versions, queue creation in every version form, the
//! SEND → MSG → ACK round trip, END/DELD events, GET, the quota marker, notifications, short links
//! and the app's "test server" sequence.
//!
//! END/DELD events are flushed by the server every 15 s (`pendingENDInterval`) and NMSG every
//! 1.5 s, so event waits use a generous limit; nothing here measures time.

mod common;

use std::time::Duration;

use common::client::{
    assert_server_error, body_of, contact_with_link, invitation_with_link, new_unsubscribed_queue,
};
use common::{ServerOptions, TestServer};
use smp_client::{
    test_server, AuthAlgorithm, AuthKeyPair, ClientOptions, EventKind, NewQueue, QueueMode,
    RcvMsgBody, SmpClient, TestStep,
};
use smp_proto::address::ServerAddress;

/// Longest wait for a server event (END/DELD are flushed every 15 s).
const EVENT_WAIT: Duration = Duration::from_secs(40);

#[tokio::test]
async fn handshake_and_ping_at_versions() {
    let server = TestServer::start();
    for version in [6, 7, 11, 18] {
        let client = server.connect_at(version).await;
        assert_eq!(client.version(), version);
        assert_eq!(client.block_encryption(), version >= 11, "v{version}");
        // The server advertises 6..18 (ALPN was negotiated), so its hello carries the session
        // key even when the client then chooses v6.
        assert!(client.server_session_key().is_some(), "v{version}");
        client.ping().await.expect("PING");
        client.ping().await.expect("second PING");
    }
    // Without the hello key (no block encryption at v11+).
    let options = ClientOptions {
        hello_key: false,
        ..ClientOptions::max_version(18)
    };
    let client = SmpClient::connect(&server.server_address(), options)
        .await
        .expect("connect without hello key");
    assert_eq!(client.version(), 18);
    assert!(!client.block_encryption());
    client.ping().await.expect("PING without hello key");
    // Without ALPN the server offers only the legacy range 6..6.
    let options = ClientOptions {
        alpn: Vec::new(),
        ..ClientOptions::default()
    };
    let client = SmpClient::connect(&server.server_address(), options)
        .await
        .expect("connect without ALPN");
    assert_eq!(client.version(), 6);
    assert_eq!(client.server_version_range().max().0, 6);
    client.ping().await.expect("PING at the legacy version");
}

#[tokio::test]
async fn malformed_input_gets_err_block_and_the_connection_stays() {
    let server = TestServer::start();
    for version in [7, 18] {
        let client = server.connect_at(version).await;
        // A batch count of zero.
        client.send_content(&[0]).await.expect("send bad batch");
        let event = client.next_event().await.expect("ERR BLOCK");
        assert_eq!(
            event.error().map(ToString::to_string).as_deref(),
            Some("BLOCK")
        );
        // An authorization of a length no key produces.
        let corr_id = SmpClient::new_corr_id();
        let mut transmission = vec![3, 1, 2, 3];
        transmission.push(24);
        transmission.extend_from_slice(corr_id.as_bytes());
        transmission.push(0);
        transmission.extend_from_slice(b"PING");
        client
            .send_content(&batch_of(&transmission))
            .await
            .expect("send");
        let event = client.next_event().await.expect("ERR BLOCK");
        assert_eq!(
            event.error().map(ToString::to_string).as_deref(),
            Some("BLOCK")
        );
        // Unknown command and bad syntax are answered with the request's corrId.
        let unknown = client
            .request_raw(&Default::default(), None, b"HELLO")
            .await
            .expect_err("unknown command");
        assert_eq!(unknown.server_error().as_deref(), Some("CMD UNKNOWN"));
        let syntax = client
            .request_raw(&Default::default(), None, b"PING extra")
            .await
            .expect_err("PING with parameters");
        assert_eq!(syntax.server_error().as_deref(), Some("CMD SYNTAX"));
        client.ping().await.expect("the connection still works");
    }
}

fn batch_of(transmission: &[u8]) -> Vec<u8> {
    let mut content = vec![1];
    content.extend_from_slice(&(transmission.len() as u16).to_be_bytes());
    content.extend_from_slice(transmission);
    content
}

#[tokio::test]
async fn ed25519_server_certificates() {
    let server = TestServer::start_with(ServerOptions {
        init_args: vec!["-a".into(), "ED25519".into()],
        ..ServerOptions::default()
    });
    for version in [6, 18] {
        let client = server.connect_at(version).await;
        client.ping().await.expect("PING");
    }
}

#[tokio::test]
async fn batched_pings_get_their_own_responses() {
    let server = TestServer::start();
    let client = server.connect_at(18).await;
    let responses = client.ping_batch(10).await.expect("batched PINGs");
    assert_eq!(responses, 10);
}

#[tokio::test]
async fn create_queue_in_every_version_form() {
    let server = TestServer::start();
    for version in [6, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18] {
        let client = server.connect_at(version).await;
        let request = NewQueue {
            notifier: version >= 17,
            ..NewQueue::default()
        };
        let queue = client
            .create_queue(request)
            .await
            .unwrap_or_else(|error| panic!("NEW at v{version}: {error}"));
        assert_eq!(queue.recipient_id.as_bytes().len(), 24, "v{version}");
        assert_eq!(queue.sender_id.as_bytes().len(), 24, "v{version}");
        let expected_mode = (version >= 9).then_some(QueueMode::Messaging);
        assert_eq!(queue.mode, expected_mode, "v{version}");
        assert_eq!(queue.link_id, None, "v{version}");
        assert_eq!(queue.notifier.is_some(), version >= 17, "v{version}");
        // Contact mode is expressible from v9.
        if version >= 9 {
            let contact = client
                .create_queue(NewQueue {
                    mode: Some(QueueMode::Contact),
                    ..NewQueue::default()
                })
                .await
                .unwrap_or_else(|error| panic!("contact NEW at v{version}: {error}"));
            assert_eq!(contact.mode, Some(QueueMode::Contact), "v{version}");
        }
        for algorithm in [AuthAlgorithm::Ed448, AuthAlgorithm::X25519] {
            if algorithm == AuthAlgorithm::X25519 && version < 7 {
                continue;
            }
            let request = NewQueue {
                auth_algorithm: algorithm,
                ..NewQueue::default()
            };
            let queue = client
                .create_queue(request)
                .await
                .unwrap_or_else(|error| panic!("NEW {algorithm:?} at v{version}: {error}"));
            client.delete(&queue).await.expect("DEL");
        }
    }
}

/// SKEY (v9+) or KEY (v6..8), SEND, MSG, ACK between two connections at `version`.
async fn round_trip(server: &TestServer, version: u16, algorithm: AuthAlgorithm) {
    let recipient = server.connect_at(version).await;
    let sender = server.connect_at(version).await;
    let queue = recipient
        .create_queue(NewQueue {
            auth_algorithm: algorithm,
            ..NewQueue::default()
        })
        .await
        .expect("NEW");
    let sender_key = AuthKeyPair::generate(algorithm).expect("key");
    if version >= 9 {
        sender
            .secure_by_sender(&queue.sender_id, &sender_key)
            .await
            .expect("SKEY");
    } else {
        // Before v9 the first message is sent unsecured, then the recipient secures the queue.
        sender
            .send(&queue.sender_id, None, false, b"confirmation")
            .await
            .expect("unsecured SEND");
        let message = recipient.receive(&queue).await.expect("MSG");
        assert_eq!(body_of(&message.body), b"confirmation");
        assert_eq!(
            recipient.ack(&queue, &message.msg_id).await.expect("ACK"),
            None
        );
        recipient
            .secure(&queue, sender_key.public_key())
            .await
            .expect("KEY");
    }
    sender
        .send(&queue.sender_id, Some(&sender_key), false, b"hello")
        .await
        .expect("SEND");
    sender
        .send(&queue.sender_id, Some(&sender_key), true, b"second")
        .await
        .expect("second SEND");
    let first = recipient.receive(&queue).await.expect("MSG");
    assert_eq!(body_of(&first.body), b"hello");
    let second = recipient
        .ack(&queue, &first.msg_id)
        .await
        .expect("ACK")
        .expect("the ACK answers with the next MSG");
    match &second.body {
        RcvMsgBody::Message { flags, body, .. } => {
            assert!(flags.notification);
            assert_eq!(body, b"second");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        recipient.ack(&queue, &second.msg_id).await.expect("ACK"),
        None
    );
    // An unsecured SEND to a secured queue is refused.
    assert_server_error(
        sender.send(&queue.sender_id, None, false, b"x").await,
        "unauthorized SEND",
        "AUTH",
    );
}

#[tokio::test]
async fn send_receive_ack_round_trip() {
    let server = TestServer::start();
    for version in 6..=18 {
        round_trip(&server, version, AuthAlgorithm::Ed25519).await;
    }
    for version in [7, 18] {
        round_trip(&server, version, AuthAlgorithm::X25519).await;
        round_trip(&server, version, AuthAlgorithm::Ed448).await;
    }
}

#[tokio::test]
async fn batched_subscriptions_across_blocks() {
    let server = TestServer::start();
    let owner = server.connect_at(18).await;
    let mut queues = Vec::new();
    for _ in 0..260 {
        let queue = new_unsubscribed_queue(&owner).await;
        queues.push(queue);
    }
    let subscriber = server.connect_at(18).await;
    let references: Vec<_> = queues.iter().collect();
    for result in subscriber.subscribe_batch(&references).await {
        result.expect("SUB in a batch");
    }
    for result in subscriber.delete_batch(&references).await {
        result.expect("DEL in a batch");
    }
}

#[tokio::test]
async fn end_on_subscription_takeover() {
    let server = TestServer::start();
    let first = server.connect_at(18).await;
    let second = server.connect_at(18).await;
    let queue = first.create_queue(NewQueue::default()).await.expect("NEW");
    second
        .subscribe(&queue)
        .await
        .expect("SUB from the second connection");
    let event = first
        .next_event_within(EVENT_WAIT)
        .await
        .expect("END event");
    assert_eq!(event.entity_id, queue.recipient_id);
    assert_eq!(event.kind, EventKind::End);
}

#[tokio::test]
async fn deletion_sends_deld_to_the_other_subscriber() {
    let server = TestServer::start();
    for (version, expected) in [(18, EventKind::Deleted), (9, EventKind::End)] {
        let subscriber = server.connect_at(version).await;
        let deleter = server.connect_at(version).await;
        let queue = subscriber
            .create_queue(NewQueue::default())
            .await
            .expect("NEW");
        deleter.delete(&queue).await.expect("DEL");
        let event = subscriber
            .next_event_within(EVENT_WAIT)
            .await
            .expect("DELD event");
        assert_eq!(event.entity_id, queue.recipient_id, "v{version}");
        assert_eq!(event.kind, expected, "v{version}");
        assert_server_error(subscriber.subscribe(&queue).await, "SUB after DEL", "AUTH");
    }
}

#[tokio::test]
async fn get_and_ack_without_subscription() {
    let server = TestServer::start();
    let owner = server.connect_at(18).await;
    let reader = server.connect_at(18).await;
    let sender = server.connect_at(18).await;
    let queue = new_unsubscribed_queue(&owner).await;
    assert_eq!(reader.get(&queue).await.expect("GET on empty queue"), None);
    sender
        .send(&queue.sender_id, None, false, b"one")
        .await
        .expect("SEND");
    let message = reader.get(&queue).await.expect("GET").expect("MSG");
    assert_eq!(body_of(&message.body), b"one");
    // GET again without ACK returns the same message.
    let again = reader.get(&queue).await.expect("GET").expect("MSG");
    assert_eq!(again.msg_id, message.msg_id);
    assert_eq!(
        reader.ack(&queue, &message.msg_id).await.expect("ACK"),
        None
    );
    assert_eq!(reader.get(&queue).await.expect("GET"), None);
    // SUB after GET in the same connection is prohibited.
    assert_server_error(
        reader.subscribe(&queue).await,
        "SUB after GET",
        "CMD PROHIBITED",
    );
    // Suspended queues refuse SEND.
    owner.suspend(&queue).await.expect("OFF");
    assert_server_error(
        sender.send(&queue.sender_id, None, false, b"two").await,
        "SEND to an OFF queue",
        "AUTH",
    );
    let info = owner.queue_info(&queue).await.expect("QUE");
    assert!(info.contains("qiSize"), "{info}");
}

#[tokio::test]
async fn quota_of_128_and_the_marker() {
    let server = TestServer::start();
    let recipient = server.connect_at(18).await;
    let sender = server.connect_at(18).await;
    let queue = new_unsubscribed_queue(&recipient).await;
    for index in 0..128u32 {
        sender
            .send(&queue.sender_id, None, false, &index.to_be_bytes())
            .await
            .unwrap_or_else(|error| panic!("SEND {index}: {error}"));
    }
    for _ in 0..2 {
        assert_server_error(
            sender.send(&queue.sender_id, None, false, b"over").await,
            "SEND over quota",
            "QUOTA",
        );
    }
    recipient.subscribe(&queue).await.expect("SUB");
    let mut message = recipient.receive(&queue).await.expect("first MSG");
    for index in 0..128u32 {
        assert_eq!(
            body_of(&message.body),
            index.to_be_bytes(),
            "message {index}"
        );
        message = recipient
            .ack(&queue, &message.msg_id)
            .await
            .expect("ACK")
            .expect("next MSG");
    }
    assert!(matches!(message.body, RcvMsgBody::Quota { .. }));
    assert_eq!(
        recipient.ack(&queue, &message.msg_id).await.expect("ACK"),
        None
    );
    sender
        .send(&queue.sender_id, None, false, b"after")
        .await
        .expect("SEND after draining");
}

#[tokio::test]
async fn notifications_nkey_nsub_nmsg() {
    let server = TestServer::start();
    let recipient = server.connect_at(18).await;
    let sender = server.connect_at(18).await;
    let notifier = server.connect_at(18).await;
    let queue = recipient
        .create_queue(NewQueue::default())
        .await
        .expect("NEW");
    let credentials = recipient.enable_notifications(&queue).await.expect("NKEY");
    notifier
        .subscribe_notifications(&credentials)
        .await
        .expect("NSUB");
    sender
        .send(&queue.sender_id, None, true, b"notify me")
        .await
        .expect("SEND");
    let message = recipient.receive(&queue).await.expect("MSG");
    let meta = notifier
        .receive_notification(&credentials, EVENT_WAIT)
        .await
        .expect("NMSG");
    assert_eq!(meta.msg_id, message.msg_id);
    recipient.disable_notifications(&queue).await.expect("NDEL");
    let event = notifier
        .next_event_within(EVENT_WAIT)
        .await
        .expect("DELD to the notifier subscriber");
    assert_eq!(event.entity_id, credentials.notifier_id);
    assert_eq!(event.kind, EventKind::Deleted);
    // Notifier credentials in NEW (v17+).
    let queue = recipient
        .create_queue(NewQueue {
            notifier: true,
            ..NewQueue::default()
        })
        .await
        .expect("NEW with notifier credentials");
    let credentials = queue
        .notifier
        .as_ref()
        .expect("server notifier credentials");
    notifier
        .subscribe_notifications(credentials)
        .await
        .expect("NSUB");
}

#[tokio::test]
async fn short_links() {
    let server = TestServer::start();
    let owner = server.connect_at(18).await;
    let sender = server.connect_at(18).await;
    // 1-time invitation: messaging queue with link data, sender id derived from the corrId.
    let invitation = owner
        .create_queue(invitation_with_link(b"fixed", b"user"))
        .await
        .expect("NEW with link data");
    let link_id = invitation.link_id.clone().expect("link id in IDS");
    let sender_key = AuthKeyPair::generate(AuthAlgorithm::Ed25519).expect("key");
    let link = sender.link_key(&link_id, &sender_key).await.expect("LKEY");
    assert_eq!(link.sender_id, invitation.sender_id);
    assert_eq!(link.fixed_data, b"fixed");
    assert_eq!(link.user_data, b"user");
    // LGET is for contact queues only.
    assert_server_error(
        sender.link_get(&link_id).await,
        "LGET on invitation",
        "AUTH",
    );
    // Contact address: client-chosen link id, LSET replaces the user data, LDEL removes it.
    let contact = owner
        .create_queue(contact_with_link(
            b"contact-link-id-24-bytes",
            b"address",
            b"profile",
        ))
        .await
        .expect("NEW contact with link");
    let contact_link = contact.link_id.clone().expect("link id");
    let data = sender.link_get(&contact_link).await.expect("LGET");
    assert_eq!(data.user_data, b"profile");
    owner
        .set_link(&contact, &contact_link, b"address", b"new profile")
        .await
        .expect("LSET");
    let data = sender.link_get(&contact_link).await.expect("LGET");
    assert_eq!(data.user_data, b"new profile");
    owner.delete_link(&contact).await.expect("LDEL");
    assert_server_error(
        sender.link_get(&contact_link).await,
        "LGET after LDEL",
        "AUTH",
    );
}

#[tokio::test]
async fn app_test_server_sequence() {
    let server = TestServer::start();
    for version in 6..=18 {
        test_server(
            &server.server_address(),
            ClientOptions::max_version(version),
        )
        .await
        .unwrap_or_else(|failure| panic!("v{version}: {failure}"));
    }
}

#[tokio::test]
async fn test_server_with_a_server_password() {
    let server = TestServer::start_with(ServerOptions {
        init_args: vec!["--password".into(), "s3cret".into()],
        ..ServerOptions::default()
    });
    let without = server.server_address();
    let failure = test_server(&without, ClientOptions::default())
        .await
        .expect_err("NEW without the password");
    assert_eq!(failure.step, TestStep::CreateQueue);
    assert_eq!(failure.error.server_error().as_deref(), Some("AUTH"));
    let with = server.address().replacen('@', ":s3cret@", 1);
    let with = ServerAddress::parse(&with).expect("address with password");
    for version in [6, 9, 18] {
        test_server(&with, ClientOptions::max_version(version))
            .await
            .unwrap_or_else(|failure| panic!("v{version}: {failure}"));
    }
}

#[tokio::test]
async fn test_server_reports_the_connect_step() {
    let server = TestServer::start();
    let mut wrong = server.server_address();
    wrong.server.port = common::free_port().to_string();
    let failure = test_server(&wrong, ClientOptions::default())
        .await
        .expect_err("nothing listens there");
    assert_eq!(failure.step, TestStep::Connect);
}

#[tokio::test]
async fn message_size_limits_and_authorization_errors() {
    let server = TestServer::start();
    // Maximum SEND body per version (`Protocol.maxMessageLength`).
    for (version, limit) in [(7u16, 16088usize), (8, 16064), (11, 16048), (18, 16048)] {
        let client = server.connect_at(version).await;
        let queue = new_unsubscribed_queue(&client).await;
        client
            .send(&queue.sender_id, None, false, &vec![b'x'; limit])
            .await
            .unwrap_or_else(|error| panic!("v{version}: SEND of {limit} bytes: {error}"));
        let error = client
            .send(&queue.sender_id, None, false, &vec![b'x'; limit + 1])
            .await
            .expect_err("SEND over the limit");
        assert_eq!(
            error.server_error().as_deref(),
            Some("LARGE_MSG"),
            "v{version}"
        );
        let message = client.get(&queue).await.expect("GET").expect("MSG");
        assert_eq!(body_of(&message.body).len(), limit);
    }
    let client = server.connect_at(18).await;
    let queue = client.create_queue(NewQueue::default()).await.expect("NEW");
    // A recipient command without authorization.
    assert_server_error(
        client.request_raw(&queue.recipient_id, None, b"SUB").await,
        "SUB without key",
        "CMD NO_AUTH",
    );
    // Signed with a key the queue does not have.
    let stranger = AuthKeyPair::generate(AuthAlgorithm::Ed25519).expect("key");
    assert_server_error(
        client
            .request_raw(&queue.recipient_id, Some(&stranger), b"SUB")
            .await,
        "SUB with a foreign key",
        "AUTH",
    );
    // KEY with one key, then another: the sender key never changes.
    let first = AuthKeyPair::generate(AuthAlgorithm::Ed25519).expect("key");
    client
        .secure(&queue, first.public_key())
        .await
        .expect("KEY");
    client
        .secure(&queue, first.public_key())
        .await
        .expect("the same KEY again");
    assert_server_error(
        client.secure(&queue, stranger.public_key()).await,
        "a different KEY",
        "AUTH",
    );
    // SKEY is for messaging queues only.
    let contact = client
        .create_queue(NewQueue {
            mode: Some(QueueMode::Contact),
            ..NewQueue::default()
        })
        .await
        .expect("NEW contact");
    assert_server_error(
        client.secure_by_sender(&contact.sender_id, &stranger).await,
        "SKEY on a contact queue",
        "AUTH",
    );
}
