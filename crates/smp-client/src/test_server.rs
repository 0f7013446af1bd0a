//! The app's "Test server" check (`Agent.Client.runSMPServerTest`): connect, create a queue,
//! secure it (`SKEY` by the sender for a messaging queue, else `KEY` by the recipient), delete it,
//! disconnect — and report the step that failed (`ProtocolTestStep`).

use std::time::Duration;

use smp_proto::address::ServerAddress;
use smp_proto::command::QueueMode;

use crate::connection::{ClientOptions, SmpClient};
use crate::error::ClientError;
use crate::keys::{AuthAlgorithm, AuthKeyPair};
use crate::queue::NewQueue;

/// Longest wait for closing the connection (the `TSDisconnect` step).
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A step of the server test (`Agent.Protocol.ProtocolTestStep`, SMP steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStep {
    Connect,
    CreateQueue,
    SecureQueue,
    DeleteQueue,
    Disconnect,
}

/// The failed step and why (`Agent.Protocol.ProtocolTestFailure`).
#[derive(Debug)]
pub struct TestFailure {
    pub step: TestStep,
    pub error: ClientError,
}

impl std::fmt::Display for TestFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} failed: {}", self.step, self.error)
    }
}

impl std::error::Error for TestFailure {}

fn at(step: TestStep) -> impl FnOnce(ClientError) -> TestFailure {
    move |error| TestFailure { step, error }
}

/// Runs the test sequence against `address` with Ed25519 keys, as the app does.
pub async fn test_server(
    address: &ServerAddress,
    options: ClientOptions,
) -> Result<(), TestFailure> {
    let client = SmpClient::connect(address, options)
        .await
        .map_err(at(TestStep::Connect))?;
    let result = async {
        let sender_key =
            AuthKeyPair::generate(AuthAlgorithm::Ed25519).map_err(at(TestStep::SecureQueue))?;
        let queue = client
            .create_queue(NewQueue::default())
            .await
            .map_err(at(TestStep::CreateQueue))?;
        let secured = if queue.mode == Some(QueueMode::Messaging) {
            client.secure_by_sender(&queue.sender_id, &sender_key).await
        } else {
            client.secure(&queue, sender_key.public_key()).await
        };
        secured.map_err(at(TestStep::SecureQueue))?;
        client
            .delete(&queue)
            .await
            .map_err(at(TestStep::DeleteQueue))
    }
    .await;
    let closed = tokio::time::timeout(DISCONNECT_TIMEOUT, client.close()).await;
    result?;
    closed.map_err(|_| TestFailure {
        step: TestStep::Disconnect,
        error: ClientError::Timeout("disconnect"),
    })
}
