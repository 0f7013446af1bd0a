//! A served connection (`Server.hs: runClientTransport`): three parts joined by bounded channels
//! — the reader (blocks → verified command groups, errors straight to the writer), the processor
//! (groups → responses in order, with the messages to deliver after them) and the writer
//! (responses, pushes and events → blocks) — plus the inactive-client check. When any part ends,
//! the connection closes and its subscriptions are forgotten without events.

pub mod processor;
mod queues;
pub mod reader;
mod receiving;
mod relay;
mod sending;
pub mod sink;
pub mod verify;

use crate::client::{ClientHandle, SendJob};
use crate::listener::{Connection, ConnectionHandler};
use crate::notifications::MsgNtf;
use crate::state::{EventEncoder, Expiration, ServerState};
use crate::subscriptions::HubEvent;
use processor::{Session, VerifiedCommand};
use sink::BlockSink;
use smp_proto::codec::ShortBytes;
use smp_proto::error::{BlockingInfo, ErrorType};
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::response::Response;
use smp_proto::transmission::{encode_server, TransmissionParams};
use smp_transport::handshake::{ServerConnection, StreamReader};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, Instrument};

/// The connection handler `start` serves with.
#[derive(Debug, Clone)]
pub struct CommandHandler {
    pub state: Arc<ServerState>,
}

impl ConnectionHandler for CommandHandler {
    async fn serve(&self, connection: Connection, shutdown: CancellationToken) {
        serve_connection(Arc::clone(&self.state), connection, shutdown).await;
    }
}

/// Encodes `END`/`DELD`/`NMSG` events for a connection (its version and session id).
#[derive(Debug, Default, Clone, Copy)]
pub struct WireEvents;

impl EventEncoder for WireEvents {
    fn hub_event(&self, client: &ClientHandle, entity: &EntityId, event: HubEvent) -> Vec<u8> {
        let response = match event {
            HubEvent::End => Response::End,
            HubEvent::Deleted => Response::Deld,
        };
        encode_server(client.params(), &CorrId::empty(), entity, &response)
    }

    fn notification(&self, client: &ClientHandle, notifier_id: &EntityId, ntf: &MsgNtf) -> Vec<u8> {
        let response = Response::Nmsg {
            nonce: ntf.nonce,
            // 144 bytes: always fits.
            encrypted_meta: ShortBytes::new(ntf.encrypted_meta.clone()).unwrap_or_default(),
        };
        encode_server(client.params(), &CorrId::empty(), notifier_id, &response)
    }
}

/// Tells the current subscriber of a queue that the operator blocked it: `ERR BLOCKED info`
/// (as `AUTH` before v12) with an empty correlation id (`Server.hs` control port `CPBlock`).
/// Returns whether there was a subscriber to tell.
pub fn send_blocked_event(
    state: &ServerState,
    recipient_id: &EntityId,
    info: BlockingInfo,
) -> bool {
    let Some(subscriber) = state.subscribers.subscriber(recipient_id) else {
        return false;
    };
    let event = encode_server(
        subscriber.params(),
        &CorrId::empty(),
        recipient_id,
        &Response::Err(ErrorType::Blocked(info)),
    );
    // A full or closed send queue drops the event, as a best-effort notice.
    subscriber
        .send_jobs()
        .try_send(SendJob::of(vec![event]))
        .is_ok()
}

/// Serves one established connection until the peer leaves, a part fails, the client is
/// dropped as inactive, or `shutdown`.
pub async fn serve_connection<S>(
    state: Arc<ServerState>,
    connection: ServerConnection<S>,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ServerConnection {
        handshake,
        reader,
        writer,
    } = connection;
    let params = TransmissionParams::new(handshake.version, handshake.session_id.clone());
    let queue_size = state.settings.queue_size.max(1);
    let (send_jobs, send_jobs_rx) = mpsc::channel(queue_size);
    let client = Arc::new(ClientHandle::for_connection(
        state.next_client_id(),
        params,
        send_jobs,
    ));
    state.register_client(&client);
    let session_secret = handshake
        .client_session_key
        .as_ref()
        .map(|key| handshake.server_session_key.diffie_hellman(key));
    let session = Arc::new(Session {
        state: Arc::clone(&state),
        client: Arc::clone(&client),
        server_key: handshake.server_session_key,
        session_secret,
    });
    client.activity().start(state.clock.seconds());
    let last_received = Arc::clone(&client.activity().last_received);
    let last_sent = Arc::clone(&client.activity().last_sent);
    let mut sink = BlockSink {
        writer,
        last_sent: Arc::clone(&last_sent),
        clock: Arc::clone(&state.clock),
    };
    let (groups, groups_rx) = mpsc::channel(queue_size);
    // Reader, processor and the inactivity check run as their own tasks (verification of one
    // block overlaps processing of the previous one); the writer runs here.
    let span = tracing::Span::current();
    let mut reading = tokio::spawn(
        read_blocks(
            Arc::clone(&session),
            reader,
            groups,
            Arc::clone(&last_received),
        )
        .instrument(span.clone()),
    );
    let mut processing =
        tokio::spawn(process_groups(Arc::clone(&session), groups_rx).instrument(span.clone()));
    let inactivity_session = Arc::clone(&session);
    let mut inactivity = tokio::spawn(
        async move { inactive(&inactivity_session, &last_received, &last_sent).await }
            .instrument(span),
    );
    let cleanup = ConnectionCleanup {
        state: Arc::clone(&state),
        client: Arc::clone(&client),
        tasks: [&reading, &processing, &inactivity].map(|task| task.abort_handle()),
    };
    {
        let writing = crate::writer::run(send_jobs_rx, &mut sink);
        tokio::select! {
            _ = shutdown.cancelled() => debug!("server stopping"),
            _ = &mut reading => debug!("reader ended"),
            _ = &mut processing => debug!("processor ended"),
            result = writing => if let Err(error) = result {
                debug!(%error, "writer ended");
            },
            _ = &mut inactivity => debug!("inactive client disconnected"),
        }
    }
    drop(cleanup);
    // Best effort close_notify; the peer may already be gone.
    let _ = sink.writer.shutdown().await;
}

/// Ends a connection's tasks and forgets its client — also when the connection's own task
/// unwinds from a panic, so that a panic costs only this connection and never leaves its
/// subscriptions (or a reader still holding the socket) behind.
struct ConnectionCleanup {
    state: Arc<ServerState>,
    client: Arc<ClientHandle>,
    tasks: [tokio::task::AbortHandle; 3],
}

impl Drop for ConnectionCleanup {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.state.client_disconnected(&self.client);
    }
}

/// Reads blocks until the connection fails (`receive`).
async fn read_blocks<S: AsyncRead + AsyncWrite + Unpin>(
    session: Arc<Session>,
    mut reader: StreamReader<S>,
    groups: mpsc::Sender<Vec<VerifiedCommand>>,
    last_received: Arc<AtomicI64>,
) {
    loop {
        let received = match reader.read_content().await {
            Ok(content) => session.receive_block(&content),
            Err(error) if error.is_fatal() => {
                debug!(%error, "connection ended");
                return;
            }
            Err(_) => reader::ReceivedBlock {
                commands: Vec::new(),
                errors: vec![reader::block_error()],
            },
        };
        last_received.store(session.now(), Ordering::Relaxed);
        if !received.commands.is_empty() && groups.send(received.commands).await.is_err() {
            return;
        }
        if !received.errors.is_empty() {
            let job = SendJob::of(session.encode(&received.errors));
            if session.client.send_jobs().send(job).await.is_err() {
                return;
            }
        }
    }
}

/// Processes groups in arrival order (`client`). Forked proxy commands run as tasks of this
/// one (ending with the connection), at most `client_concurrency` at once: when all slots are
/// taken, processing waits for one (`forkProxiedCmd`), which holds back the client's reads.
async fn process_groups(session: Arc<Session>, mut groups: mpsc::Receiver<Vec<VerifiedCommand>>) {
    let concurrency = session.state.settings.proxy.client_concurrency.max(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut forked = tokio::task::JoinSet::new();
    while let Some(group) = groups.recv().await {
        let group = session.process_group_forking(group);
        let job = SendJob {
            transmissions: session.encode(&group.responses),
            deliveries: session.encode(&group.messages),
        };
        if !(job.transmissions.is_empty() && job.deliveries.is_empty())
            && session.client.send_jobs().send(job).await.is_err()
        {
            return;
        }
        for proxy_job in group.forked {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            forked.spawn(async move {
                proxy_job.run().await;
                drop(slot);
            });
        }
        while forked.try_join_next().is_some() {}
    }
}

/// `disconnectTransport`: returns when a client without subscriptions has been silent in both
/// directions for longer than the configured time; never without that setting.
async fn inactive(session: &Session, last_received: &AtomicI64, last_sent: &AtomicI64) {
    let Some(Expiration {
        ttl,
        check_interval,
    }) = session.state.settings.inactive_clients
    else {
        return std::future::pending().await;
    };
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    loop {
        tokio::time::sleep(check_interval).await;
        if session.client.has_subscriptions() {
            continue;
        }
        let last = last_received
            .load(Ordering::Relaxed)
            .max(last_sent.load(Ordering::Relaxed));
        if last < session.now().saturating_sub(ttl) {
            return;
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod cleanup_tests {
    use super::*;
    use crate::state::ServerSettings;

    #[tokio::test]
    async fn a_panicking_connection_task_still_ends_its_tasks_and_forgets_its_client() {
        let state = Arc::new(ServerState::new(ServerSettings::default()));
        let (send_jobs, _send_jobs_rx) = mpsc::channel(1);
        let client = Arc::new(ClientHandle::new(state.next_client_id(), 18, send_jobs));
        state.register_client(&client);
        let reader = tokio::spawn(std::future::pending::<()>());
        let handle = reader.abort_handle();
        let connection = tokio::spawn({
            let (state, client) = (Arc::clone(&state), Arc::clone(&client));
            async move {
                let _cleanup = ConnectionCleanup {
                    state,
                    client,
                    tasks: [handle.clone(), handle.clone(), handle],
                };
                panic!("a bug in the connection task");
            }
        });
        assert!(connection.await.unwrap_err().is_panic());
        assert!(reader.await.unwrap_err().is_cancelled());
        // Only this test's reference is left: the server's client map dropped its own.
        assert_eq!(Arc::strong_count(&client), 1);
    }
}
