//! End-to-end: what survives a server restart. Queues are in the store log (kept even after
//! SIGKILL, the log is appended as commands are processed); messages are saved on a graceful stop
//! (SIGINT, as `Server.sigIntHandlerThread`) and restored on start.

mod common;

use common::TestServer;
use smp_client::{ClientOptions, NewQueue, RcvMsgBody, SmpClient};
use smp_proto::address::ServerAddress;

async fn connect(server: &TestServer) -> SmpClient {
    let address = ServerAddress::parse(&server.address()).expect("server address");
    SmpClient::connect(&address, ClientOptions::default())
        .await
        .unwrap_or_else(|error| panic!("connect: {error}\n{}", server.output()))
}

#[tokio::test]
async fn queues_and_messages_survive_a_graceful_restart() {
    let mut server = TestServer::start();
    let client = connect(&server).await;
    let queue = client
        .create_queue(NewQueue {
            subscribe: false,
            ..NewQueue::default()
        })
        .await
        .expect("NEW");
    client
        .send(&queue.sender_id, None, false, b"kept")
        .await
        .expect("SEND");
    drop(client);
    server.restart_gracefully();
    let client = connect(&server).await;
    let message = client
        .get(&queue)
        .await
        .expect("GET after restart")
        .expect("the message was restored");
    match message.body {
        RcvMsgBody::Message { body, .. } => assert_eq!(body, b"kept"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        client.ack(&queue, &message.msg_id).await.expect("ACK"),
        None
    );
    drop(client);
    // A queue stays after a hard kill too: the store log is written as commands happen.
    server.restart();
    let client = connect(&server).await;
    assert_eq!(client.get(&queue).await.expect("GET after kill"), None);
    client.delete(&queue).await.expect("DEL");
    drop(client);
    server.restart();
    let client = connect(&server).await;
    let error = client.get(&queue).await.expect_err("deleted queue");
    assert_eq!(error.server_error().as_deref(), Some("AUTH"));
}
