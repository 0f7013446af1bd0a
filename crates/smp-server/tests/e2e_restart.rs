//! End-to-end: what survives a server restart. Queues are in the store log (kept even after
//! SIGKILL, the log is appended as commands are processed); messages are saved on a graceful stop
//! (SIGINT, as `Server.sigIntHandlerThread`) and restored on start.

mod common;

use common::client::{assert_server_error, body_of, new_unsubscribed_queue};
use common::TestServer;

#[tokio::test]
async fn queues_and_messages_survive_a_graceful_restart() {
    let mut server = TestServer::start();
    let client = server.connect().await;
    let queue = new_unsubscribed_queue(&client).await;
    client
        .send(&queue.sender_id, None, false, b"kept")
        .await
        .expect("SEND");
    drop(client);
    server.restart_gracefully();
    let client = server.connect().await;
    let message = client
        .get(&queue)
        .await
        .expect("GET after restart")
        .expect("the message was restored");
    assert_eq!(body_of(&message.body), b"kept");
    assert_eq!(
        client.ack(&queue, &message.msg_id).await.expect("ACK"),
        None
    );
    drop(client);
    // A queue stays after a hard kill too: the store log is written as commands happen.
    server.restart();
    let client = server.connect().await;
    assert_eq!(client.get(&queue).await.expect("GET after kill"), None);
    client.delete(&queue).await.expect("DEL");
    drop(client);
    server.restart();
    let client = server.connect().await;
    assert_server_error(client.get(&queue).await, "deleted queue", "AUTH");
}
