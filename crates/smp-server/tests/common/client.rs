//! Client-side helpers for the end-to-end tests: `smp-client` connections to a [`TestServer`],
//! queues created without a subscription, and message bodies.

use smp_client::{
    ClientOptions, ClientResult, LinkRequest, NewQueue, QueueMode, RcvMsgBody, RecipientQueue,
    SmpClient,
};
use smp_proto::address::ServerAddress;

use super::TestServer;

impl TestServer {
    /// [`TestServer::address`], parsed.
    pub fn server_address(&self) -> ServerAddress {
        ServerAddress::parse(&self.address()).expect("server address")
    }

    /// Connects with the default client options (the server's output is in a failure message).
    pub async fn connect(&self) -> SmpClient {
        SmpClient::connect(&self.server_address(), ClientOptions::default())
            .await
            .unwrap_or_else(|error| panic!("connect: {error}\n{}", self.output()))
    }

    /// Connects offering SMP versions up to `version`.
    pub async fn connect_at(&self, version: u16) -> SmpClient {
        SmpClient::connect(&self.server_address(), ClientOptions::max_version(version))
            .await
            .unwrap_or_else(|error| panic!("connect at v{version}: {error}\n{}", self.output()))
    }
}

/// `NEW` without subscribing (messages are then read with `GET`).
pub async fn new_unsubscribed_queue(client: &SmpClient) -> RecipientQueue {
    client
        .create_queue(NewQueue {
            subscribe: false,
            ..NewQueue::default()
        })
        .await
        .expect("NEW")
}

/// The body of a message (panics on the quota marker).
pub fn body_of(body: &RcvMsgBody) -> &[u8] {
    match body {
        RcvMsgBody::Message { body, .. } => body,
        RcvMsgBody::Quota { .. } => panic!("unexpected quota marker"),
    }
}

/// GETs the next message and ACKs it; `None` when the queue is empty.
pub async fn take(client: &SmpClient, queue: &RecipientQueue) -> Option<Vec<u8>> {
    let message = client.get(queue).await.expect("GET")?;
    client.ack(queue, &message.msg_id).await.expect("ACK");
    Some(body_of(&message.body).to_vec())
}

/// `NEW` of a 1-time invitation (a messaging queue) with link data; the server derives the link
/// id.
pub fn invitation_with_link(fixed_data: &[u8], user_data: &[u8]) -> NewQueue {
    NewQueue {
        link: Some(LinkRequest {
            link_id: None,
            fixed_data: fixed_data.to_vec(),
            user_data: user_data.to_vec(),
        }),
        ..NewQueue::default()
    }
}

/// `NEW` of a contact address with the client-chosen `link_id` and link data.
pub fn contact_with_link(link_id: &[u8], fixed_data: &[u8], user_data: &[u8]) -> NewQueue {
    NewQueue {
        mode: Some(QueueMode::Contact),
        link: Some(LinkRequest {
            link_id: Some(link_id.to_vec()),
            fixed_data: fixed_data.to_vec(),
            user_data: user_data.to_vec(),
        }),
        ..NewQueue::default()
    }
}

/// `result` is the server's error `expected` (`what` names the request in a failure message).
#[track_caller]
pub fn assert_server_error<T: std::fmt::Debug>(
    result: ClientResult<T>,
    what: &str,
    expected: &str,
) {
    let error = result.expect_err(what);
    assert_eq!(error.server_error().as_deref(), Some(expected), "{what}");
}
