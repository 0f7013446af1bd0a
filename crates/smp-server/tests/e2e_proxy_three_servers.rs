//! Three real servers on loopback: clients of server A send through A to queues on B and on C at
//! the same time. A keeps one relay session per destination (separate session ids), and each
//! message arrives only on its own destination.

mod common;

use common::client::body_of;
use common::TestServer;
use smp_client::{AuthAlgorithm, AuthKeyPair, NewQueue};

#[tokio::test]
async fn one_proxy_two_destinations() {
    let proxy = TestServer::start();
    let destinations = [TestServer::start(), TestServer::start()];
    let sender = proxy.connect().await;
    let other_sender = proxy.connect().await;
    let mut sessions = Vec::new();
    for destination in &destinations {
        let recipient = destination.connect().await;
        let queue = recipient
            .create_queue(NewQueue::default())
            .await
            .expect("NEW");
        let address = destination.server_address().server;
        let relay = sender
            .proxy_connect(&address, None)
            .await
            .unwrap_or_else(|error| panic!("PRXY: {error}\n{}", proxy.output()));
        // Another client of A gets the same session for the same destination.
        let shared = other_sender
            .proxy_connect(&address, None)
            .await
            .expect("PRXY from another client");
        assert_eq!(shared.session_id, relay.session_id);
        let sender_key = AuthKeyPair::generate(AuthAlgorithm::Ed25519).expect("key");
        sender
            .proxy_secure(&relay, &queue.sender_id, &sender_key)
            .await
            .expect("SKEY via proxy")
            .expect("SKEY answered");
        sessions.push((recipient, queue, relay, sender_key));
    }
    assert_ne!(sessions[0].2.session_id, sessions[1].2.session_id);
    // Both destinations at once, each message to its own queue.
    let send = |index: usize| {
        let (_, queue, relay, key) = &sessions[index];
        let body = format!("to destination {index}");
        let sender = &sender;
        async move {
            sender
                .proxy_send(relay, &queue.sender_id, Some(key), false, body.as_bytes())
                .await
        }
    };
    let (first, second) = tokio::join!(send(0), send(1));
    for sent in [first, second] {
        sent.expect("SEND via proxy").expect("SEND answered");
    }
    for (index, (recipient, queue, _, _)) in sessions.iter().enumerate() {
        let message = recipient.receive(queue).await.expect("MSG");
        assert_eq!(
            body_of(&message.body),
            format!("to destination {index}").as_bytes()
        );
    }
}
