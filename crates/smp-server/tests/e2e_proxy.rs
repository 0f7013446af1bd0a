//! End-to-end tests of the forwarding proxy role (spec §6.11) with two real `smp-server`
//! processes on loopback: a sender connected to server A sends through A to a queue on server B
//! (`PRXY` → `PKEY`, `PFWD` → `RFWD` → `RRES` → `PRES`), and the recipient on B receives it.
//! Also: SKEY, LKEY and LGET through the proxy, one relay session shared by all of A's clients,
//! the destination down or with another identity, the server password, and restarts.

mod common;

use std::time::Duration;

use common::client::{body_of, contact_with_link, invitation_with_link, new_unsubscribed_queue};
use common::{ServerOptions, TestServer};
use smp_client::{
    AuthAlgorithm, AuthKeyPair, ClientError, NewQueue, ProxiedRelay, ProxyClientError,
    RecipientQueue, SmpClient,
};
use smp_proto::address::{BasicAuth, SmpServer};
use smp_proto::codec::Encode;
use smp_proto::error::{ErrorType, ProxyError};
use smp_proto::keys::KeyHash;

fn relay_of(server: &TestServer) -> SmpServer {
    server.server_address().server
}

fn error_text(error: &ClientError) -> String {
    match error {
        ClientError::Server(error) => String::from_utf8(error.to_bytes()).expect("text"),
        other => format!("not a server error: {other}"),
    }
}

/// A proxy and a destination server, a client of the destination, a client of the proxy and
/// the proxy's session with the destination (`PRXY`).
async fn proxy_session() -> (TestServer, TestServer, SmpClient, SmpClient, ProxiedRelay) {
    let proxy = TestServer::start();
    let destination = TestServer::start();
    let recipient = destination.connect().await;
    let sender = proxy.connect().await;
    let relay = sender
        .proxy_connect(&relay_of(&destination), None)
        .await
        .unwrap_or_else(|error| panic!("PRXY: {error}\n{}", proxy.output()));
    (proxy, destination, recipient, sender, relay)
}

/// The proxy's answer to a forwarded command for a session it does not have.
fn no_session() -> ProxyClientError {
    ProxyClientError::Protocol(ErrorType::Proxy(Box::new(ProxyError::NoSession)))
}

/// SEND of `body` from `sender` through its proxy's `relay` session (signed with `key` when
/// given), answered by the destination, then MSG with that body at `recipient`.
async fn send_via_proxy(
    sender: &SmpClient,
    relay: &ProxiedRelay,
    key: Option<&AuthKeyPair>,
    recipient: &SmpClient,
    queue: &RecipientQueue,
    body: &[u8],
) {
    sender
        .proxy_send(relay, &queue.sender_id, key, false, body)
        .await
        .expect("SEND via proxy")
        .expect("SEND answered by the relay");
    let message = recipient
        .receive(queue)
        .await
        .expect("MSG on the destination");
    assert_eq!(body_of(&message.body), body);
}

#[tokio::test]
async fn send_through_the_proxy_and_receive_on_the_destination() {
    let (_proxy, _destination, recipient, sender, relay) = proxy_session().await;
    // The proxied version is capped at 17 (`proxiedSMPRelayVersion`).
    assert_eq!(relay.version.0, 17);
    assert_eq!(relay.session_id.len(), 32);
    for algorithm in [AuthAlgorithm::Ed25519, AuthAlgorithm::X25519] {
        let queue = recipient
            .create_queue(NewQueue::default())
            .await
            .expect("NEW");
        let sender_key = AuthKeyPair::generate(algorithm).expect("key");
        sender
            .proxy_secure(&relay, &queue.sender_id, &sender_key)
            .await
            .expect("SKEY via proxy")
            .expect("SKEY answered by the relay");
        send_via_proxy(
            &sender,
            &relay,
            Some(&sender_key),
            &recipient,
            &queue,
            b"via proxy",
        )
        .await;
        // The relay's own errors come back through the proxy (`PCEProtocolError`).
        let error = sender
            .proxy_send(&relay, &queue.sender_id, None, false, b"unsigned")
            .await
            .expect_err("unsigned SEND to a secured queue");
        assert_eq!(error_text(&error), "AUTH");
    }
}

#[tokio::test]
async fn short_link_commands_through_the_proxy() {
    let (_proxy, _destination, owner, sender, relay) = proxy_session().await;
    let contact = owner
        .create_queue(contact_with_link(
            b"proxied-link-id-24-bytes",
            b"address",
            b"profile",
        ))
        .await
        .expect("NEW contact with link");
    let link_id = contact.link_id.clone().expect("link id");
    let data = sender
        .proxy_link_get(&relay, &link_id)
        .await
        .expect("LGET via proxy")
        .expect("LGET answered by the relay");
    assert_eq!(data.user_data, b"profile");
    assert_eq!(data.sender_id, contact.sender_id);
    let invitation = owner
        .create_queue(invitation_with_link(b"fixed", b"user"))
        .await
        .expect("NEW invitation with link");
    let invitation_link = invitation.link_id.clone().expect("link id");
    let sender_key = AuthKeyPair::generate(AuthAlgorithm::Ed25519).expect("key");
    let data = sender
        .proxy_link_key(&relay, &invitation_link, &sender_key)
        .await
        .expect("LKEY via proxy")
        .expect("LKEY answered by the relay");
    assert_eq!(data.fixed_data, b"fixed");
    send_via_proxy(
        &sender,
        &relay,
        Some(&sender_key),
        &owner,
        &invitation,
        b"hi",
    )
    .await;
}

#[tokio::test]
async fn all_clients_of_the_proxy_share_one_relay_session() {
    let proxy = TestServer::start();
    let destination = TestServer::start();
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(proxy.connect().await);
    }
    let target = relay_of(&destination);
    let relays = futures_join(
        clients
            .iter()
            .map(|client| client.proxy_connect(&target, None)),
    )
    .await;
    let first = relays[0].as_ref().expect("PRXY").clone();
    for relay in &relays {
        let relay = relay.as_ref().expect("PRXY");
        assert_eq!(
            relay.session_id, first.session_id,
            "one connection from the proxy"
        );
    }
    // The session is global: a client that did not send PRXY can use it.
    let recipient = destination.connect().await;
    let queue = recipient
        .create_queue(NewQueue::default())
        .await
        .expect("NEW");
    let other = proxy.connect().await;
    send_via_proxy(&other, &first, None, &recipient, &queue, b"shared").await;
    // Concurrent proxied commands of one connection (answered out of order by the proxy).
    let queues = {
        let mut queues = Vec::new();
        for _ in 0..8 {
            queues.push(new_unsubscribed_queue(&recipient).await);
        }
        queues
    };
    let sends = futures_join(
        queues
            .iter()
            .map(|queue| other.proxy_send(&first, &queue.sender_id, None, false, b"burst")),
    )
    .await;
    for send in sends {
        send.expect("SEND via proxy").expect("SEND answered");
    }
}

/// Runs futures concurrently on this task and returns their outputs in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|output| output.expect("ready"))
        .collect()
}

#[tokio::test]
async fn unreachable_or_impostor_destinations_are_broker_errors() {
    let proxy = TestServer::start();
    let destination = TestServer::start();
    let client = proxy.connect().await;
    // Nobody listens on a free port: `NETWORK`, then the same answer from memory.
    let mut down = relay_of(&destination);
    down.port = common::free_port().to_string();
    for _ in 0..2 {
        let error = client.proxy_connect(&down, None).await.expect_err("down");
        assert_eq!(error_text(&error), "PROXY BROKER NETWORK");
    }
    // The destination answers but is not the server the address names: its TLS chain does not
    // match the key hash, which fails the connection (`NETWORK`, as in the reference where the
    // certificate check is part of the TLS handshake).
    let mut impostor = relay_of(&destination);
    impostor.key_hash = KeyHash([9; 32]);
    let error = client
        .proxy_connect(&impostor, None)
        .await
        .expect_err("impostor");
    assert_eq!(error_text(&error), "PROXY BROKER NETWORK");
    // PFWD for a session the proxy does not have.
    let relay = ProxiedRelay {
        session_id: vec![1; 32],
        version: smp_proto::version::Version(17),
        basic_auth: None,
        server_key: *smp_proto::crypto::X25519KeyPair::from_secret_bytes([2; 32]).public_key(),
    };
    let answer = client
        .proxy_send(
            &relay,
            &smp_proto::ids::EntityId::from([3; 24]),
            None,
            false,
            b"x",
        )
        .await
        .expect("answered by the proxy");
    assert_eq!(answer, Err(no_session()));
}

#[tokio::test]
async fn a_proxy_with_a_password_requires_it() {
    let proxy = TestServer::start_with(ServerOptions {
        init_args: vec!["--password".into(), "s3cret".into()],
        ..ServerOptions::default()
    });
    let destination = TestServer::start();
    let client = proxy.connect().await;
    let target = relay_of(&destination);
    let error = client
        .proxy_connect(&target, None)
        .await
        .expect_err("no password");
    assert_eq!(error_text(&error), "PROXY BASIC_AUTH");
    let wrong = BasicAuth::new(b"wrong".to_vec()).expect("password");
    let error = client
        .proxy_connect(&target, Some(wrong))
        .await
        .expect_err("wrong password");
    assert_eq!(error_text(&error), "PROXY BASIC_AUTH");
    let right = BasicAuth::new(b"s3cret".to_vec()).expect("password");
    let relay = client
        .proxy_connect(&target, Some(right.clone()))
        .await
        .expect("PRXY with the password");
    assert_eq!(relay.basic_auth, Some(right));
}

#[tokio::test]
async fn restarts_of_the_proxy_and_the_destination() {
    let mut proxy = TestServer::start();
    let mut destination = TestServer::start();
    let target = relay_of(&destination);
    let relay = proxy
        .connect()
        .await
        .proxy_connect(&target, None)
        .await
        .expect("PRXY");
    proxy.restart();
    // The restarted proxy has no session: the client connects again and re-sends PRXY.
    let client = proxy.connect().await;
    let recipient = destination.connect().await;
    let queue = recipient
        .create_queue(NewQueue::default())
        .await
        .expect("NEW");
    let answer = client
        .proxy_send(&relay, &queue.sender_id, None, false, b"stale")
        .await
        .expect("answered by the proxy");
    assert_eq!(answer, Err(no_session()));
    let relay = client
        .proxy_connect(&target, None)
        .await
        .expect("PRXY again");
    send_via_proxy(&client, &relay, None, &recipient, &queue, b"fresh").await;
    // The destination restarts: the proxy notices its connection closed and the next PRXY
    // opens a new one (polled; no timing is asserted).
    destination.restart();
    let mut renewed = None;
    // A failed attempt while it is down is remembered for 30 s (`persistErrorInterval`).
    for _ in 0..400 {
        match client.proxy_connect(&target, None).await {
            Ok(new) if new.session_id != relay.session_id => {
                renewed = Some(new);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let renewed = renewed.expect("a new relay session after the destination restarted");
    let recipient = destination.connect().await;
    let queue = recipient
        .create_queue(NewQueue::default())
        .await
        .expect("NEW");
    send_via_proxy(
        &client,
        &renewed,
        None,
        &recipient,
        &queue,
        b"after restart",
    )
    .await;
}
