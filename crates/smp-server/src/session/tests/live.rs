//! The whole server in process over real TLS with `smp-client`: concurrent senders to one
//! subscribed queue (`tests/ServerTests.hs: testConcurrentSendDelivery`) and a subscription
//! takeover with a short pending-event interval.

use crate::listener::{self, ListenerSettings};
use crate::state::{ServerSettings, ServerState};
use smp_client::{ClientOptions, EventKind, NewQueue, RcvMsgBody, SmpClient};
use smp_proto::address::ServerAddress;
use smp_proto::version::VersionRange;
use smp_transport::credentials::{create_server_credentials, ServerCredentials, SignAlgorithm};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct Live {
    _dir: tempfile::TempDir,
    address: ServerAddress,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start() -> Live {
    let dir = tempfile::tempdir().unwrap();
    create_server_credentials(dir.path(), "localhost", SignAlgorithm::Ed25519).unwrap();
    let credentials = Arc::new(ServerCredentials::load(dir.path()).unwrap());
    let identity = credentials.identity;
    let settings = ListenerSettings::new(
        vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))],
        credentials,
        VersionRange::SUPPORTED_SERVER,
    );
    let bound = listener::bind(&settings).await.unwrap();
    let port = bound.local_addrs()[0].port();
    let state = Arc::new(ServerState::new(ServerSettings {
        pending_events_interval: Duration::from_millis(50),
        ..ServerSettings::default()
    }));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(crate::server::run_bound(state, bound, shutdown.clone()));
    let address =
        ServerAddress::parse(&format!("smp://{}@localhost:{port}", identity.to_text())).unwrap();
    Live {
        _dir: dir,
        address,
        shutdown,
        task,
    }
}

async fn connect(live: &Live) -> SmpClient {
    SmpClient::connect(&live.address, ClientOptions::default())
        .await
        .unwrap()
}

fn text(body: &RcvMsgBody) -> Vec<u8> {
    match body {
        RcvMsgBody::Message { body, .. } => body.clone(),
        RcvMsgBody::Quota { .. } => b"QUOTA".to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_one_message_in_flight() {
    let live = start().await;
    let recipient = connect(&live).await;
    let (first, second) = (connect(&live).await, connect(&live).await);
    let queue = recipient.create_queue(NewQueue::default()).await.unwrap();
    for _ in 0..20 {
        let (a, b) = tokio::join!(
            first.send(&queue.sender_id, None, false, b"msg 1"),
            second.send(&queue.sender_id, None, false, b"msg 2"),
        );
        a.unwrap();
        b.unwrap();
        let one = recipient.receive(&queue).await.unwrap();
        let two = recipient
            .ack(&queue, &one.msg_id)
            .await
            .unwrap()
            .expect("the second message answers the ACK");
        let mut bodies = [text(&one.body), text(&two.body)];
        bodies.sort();
        assert_eq!(bodies, [b"msg 1".to_vec(), b"msg 2".to_vec()]);
        assert!(recipient.ack(&queue, &two.msg_id).await.unwrap().is_none());
    }
    live.shutdown.cancel();
    live.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takeover_sends_end_at_the_next_flush() {
    let live = start().await;
    let first = connect(&live).await;
    let queue = first.create_queue(NewQueue::default()).await.unwrap();
    let second = connect(&live).await;
    second.subscribe(&queue).await.unwrap();
    let event = first
        .next_event_matching(Duration::from_secs(10), |event| {
            event.entity_id == queue.recipient_id
        })
        .await
        .unwrap();
    assert_eq!(event.kind, EventKind::End);
    live.shutdown.cancel();
    live.task.await.unwrap().unwrap();
}
