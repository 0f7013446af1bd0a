//! The command processor of one connection (`Server.hs: client`, `processCommand`): applies a
//! verified command to the stores and the subscription hubs and produces its response, plus —
//! for SUB — the message to deliver right after it.
//!
//! The per-command work lives in `queues` (queue management), `receiving`
//! (SUB/GET/ACK/NSUB), `sending` (SEND) and `relay` (RFWD); this module holds
//! the shared context and the dispatch.

use crate::client::ClientHandle;
use crate::delivery::{message_body, message_nonce, quota_body, PADDED_RCV_MESSAGE_LENGTH};
use crate::proxy::commands::{ProxyJob, ProxyStep};
use crate::state::ServerState;
use crate::store::{QueueRecord, QueueStatus, StoredMessage};
use smp_proto::command::Command;
use smp_proto::crypto::{cb_encrypt, CbNonce, DhSecret, X25519KeyPair};
use smp_proto::error::{CommandError, ErrorType, ProxyError};
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::response::Response;
use smp_proto::transmission::{encode_server, TransmissionParams};
use smp_proto::version::Version;
use std::sync::Arc;

/// A server transmission before encoding (`Protocol.hs: Transmission BrokerMsg`).
pub type Transmission = (CorrId, EntityId, Response);

/// A response and the message event that follows it (`ResponseAndMessage`).
pub type ResponseAndMessage = (Transmission, Option<Transmission>);

/// A command that passed verification, with its queue (`VerifiedTransmission`).
#[derive(Debug, Clone)]
pub struct VerifiedCommand {
    pub queue: Option<QueueRecord>,
    pub corr_id: CorrId,
    pub entity_id: EntityId,
    pub command: Command,
}

/// Everything command processing needs about the connection.
pub struct Session {
    pub state: Arc<ServerState>,
    pub client: Arc<ClientHandle>,
    /// This connection's server session key (hello key; X25519 authenticators, RFWD).
    pub server_key: X25519KeyPair,
    /// `sessSecret'`: DH of the client's hello key and the server session key, when the client
    /// sent one.
    pub session_secret: Option<DhSecret>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("client", &self.client.id())
            .finish_non_exhaustive()
    }
}

/// The outcome of a group: responses in order, messages after them, and proxy commands that
/// answer later.
#[derive(Debug, Default)]
pub struct ProcessedGroup {
    pub responses: Vec<Transmission>,
    pub messages: Vec<Transmission>,
    pub forked: Vec<ProxyJob>,
}

/// The request's ids with a response.
pub struct Reply<'a> {
    pub corr_id: &'a CorrId,
    pub entity_id: &'a EntityId,
}

impl Reply<'_> {
    pub fn with(&self, response: Response) -> Transmission {
        (self.corr_id.clone(), self.entity_id.clone(), response)
    }
    pub fn ok(&self) -> Transmission {
        self.with(Response::Ok)
    }
    pub fn err(&self, error: ErrorType) -> Transmission {
        self.with(Response::Err(error))
    }
    /// `either err (corrId, entId,)`.
    pub fn result(&self, result: Result<Response, ErrorType>) -> Transmission {
        match result {
            Ok(response) => self.with(response),
            Err(error) => self.err(error),
        }
    }
}

impl Session {
    /// Transmission parameters of the connection.
    pub fn params(&self) -> &TransmissionParams {
        self.client.params()
    }

    /// Seconds since the epoch from the injected clock.
    pub fn now(&self) -> i64 {
        self.state.clock.seconds()
    }

    /// Encodes transmissions for this connection.
    pub fn encode(&self, transmissions: &[Transmission]) -> Vec<Vec<u8>> {
        encode_all(self.params(), transmissions)
    }

    /// Processes a group of verified commands (`client`: `foldrM process`): executed from last
    /// to first like the reference, responses returned in the original order, with the messages
    /// to deliver after them. Forked proxy commands run as detached tasks (the connection task
    /// uses [`Session::process_group_forking`] to bound them).
    pub fn process_group(
        &self,
        commands: Vec<VerifiedCommand>,
    ) -> (Vec<Transmission>, Vec<Transmission>) {
        let group = self.process_group_forking(commands);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            for job in group.forked {
                runtime.spawn(job.run());
            }
        }
        (group.responses, group.messages)
    }

    /// [`Session::process_group`] that hands back the proxy commands answered later.
    pub fn process_group_forking(&self, commands: Vec<VerifiedCommand>) -> ProcessedGroup {
        let mut responses = Vec::with_capacity(commands.len());
        let mut messages = Vec::new();
        let mut forked = Vec::new();
        let version = self.params().version;
        for command in commands.into_iter().rev() {
            let command = if matches!(command.command, Command::Prxy { .. } | Command::Pfwd { .. })
            {
                match self.proxied_command(command) {
                    ProxyStep::Answer(response) => {
                        responses.push(response);
                        continue;
                    }
                    ProxyStep::Fork(job) => {
                        forked.push(job);
                        continue;
                    }
                    ProxyStep::Other(command) => *command,
                }
            } else {
                command
            };
            let (response, message) = self.process_command(version, command);
            responses.push(response);
            messages.extend(message);
        }
        responses.reverse();
        messages.reverse();
        forked.reverse();
        ProcessedGroup {
            responses,
            messages,
            forked,
        }
    }

    /// `processCommand` for a connection (or forwarded transmission) of `version`.
    pub fn process_command(
        &self,
        version: Version,
        verified: VerifiedCommand,
    ) -> ResponseAndMessage {
        let VerifiedCommand {
            queue,
            corr_id,
            entity_id,
            command,
        } = verified;
        let reply = Reply {
            corr_id: &corr_id,
            entity_id: &entity_id,
        };
        let Some(queue) = queue else {
            return (self.process_unqueued(&reply, command), None);
        };
        match command {
            Command::Sub => self.with_active_queue(&reply, &queue, |q| self.subscribe(&reply, q)),
            Command::Send { flags, body } => {
                // `withQueue_ False`: blocked queues are refused inside SEND, after the time
                // update.
                if let Err(error) = self.touch_queue(&queue) {
                    return (reply.err(error), None);
                }
                (
                    self.send_message(&reply, version, &queue, flags, body),
                    None,
                )
            }
            Command::Off => (reply.result(self.suspend_queue(&queue)), None),
            Command::Del => (self.delete_queue(&reply, &queue), None),
            Command::Nsub => (self.subscribe_notifications(&reply, &queue), None),
            command => self.with_active_queue(&reply, &queue, |q| {
                (self.process_queue_command(&reply, q, command), None)
            }),
        }
    }

    /// `withQueue_ True`: commands on blocked queues get `ERR BLOCKED`; the queue's use today is
    /// recorded before the command runs.
    fn with_active_queue(
        &self,
        reply: &Reply<'_>,
        queue: &QueueRecord,
        action: impl FnOnce(&QueueRecord) -> ResponseAndMessage,
    ) -> ResponseAndMessage {
        match queue.status {
            QueueStatus::Blocked(info) => (reply.err(ErrorType::Blocked(info)), None),
            _ => match self.touch_queue(queue) {
                Ok(()) => action(queue),
                Err(error) => (reply.err(error), None),
            },
        }
    }

    /// `updateQueueTime` with today's date (logged by the store when the day changed).
    fn touch_queue(&self, queue: &QueueRecord) -> Result<(), ErrorType> {
        self.state
            .store
            .update_queue_time(&queue.recipient_id, self.now())
    }

    /// Commands that verified without a queue: NEW, PING, RFWD (and the service commands, which
    /// never verify in this server). PRXY and PFWD are handled before, by the proxy role
    /// ([`Session::proxied_command`]); here they are refused as without a proxy role.
    fn process_unqueued(&self, reply: &Reply<'_>, command: Command) -> Transmission {
        match command {
            Command::Ping => reply.with(Response::Pong),
            Command::New(request) => self.create_queue(reply, *request),
            Command::Rfwd(encrypted) => reply.result(self.forwarded_command(reply, &encrypted)),
            Command::Prxy { .. } => reply.err(ErrorType::Proxy(Box::new(ProxyError::BasicAuth))),
            Command::Pfwd { .. } => reply.err(ErrorType::Proxy(Box::new(ProxyError::NoSession))),
            Command::Subs => reply.err(ErrorType::Cmd(CommandError::Prohibited)),
            // Verification guarantees a queue for every other command.
            _ => reply.err(ErrorType::Internal),
        }
    }

    /// Recipient and sender-side queue commands other than SUB/SEND/OFF/DEL/NSUB.
    fn process_queue_command(
        &self,
        reply: &Reply<'_>,
        queue: &QueueRecord,
        command: Command,
    ) -> Transmission {
        match command {
            Command::Get => self.get_message(reply, queue),
            Command::Ack(msg_id) => self.acknowledge(reply, queue, &msg_id),
            Command::Key(key) => reply.result(self.secure_queue(queue, key)),
            Command::Skey(key) => reply.result(self.secure_messaging_queue(queue, key)),
            Command::Lkey(key) => reply.result(
                self.secure_messaging_queue(queue, key)
                    .and_then(|_| self.queue_link(queue, reply.entity_id)),
            ),
            Command::Lget => reply.result(self.queue_link(queue, reply.entity_id)),
            Command::Rkey(keys) => reply.result(self.update_recipient_keys(queue, keys)),
            Command::Lset { link_id, link_data } => {
                reply.result(self.set_link_data(queue, link_id, link_data))
            }
            Command::Ldel => reply.result(self.delete_link_data(queue)),
            Command::Nkey {
                notifier_key,
                recipient_ntf_dh_key,
            } => reply.result(self.add_notifier(queue, notifier_key, &recipient_ntf_dh_key)),
            Command::Ndel => reply.result(self.delete_notifier(queue)),
            Command::Que => reply.result(self.queue_info(queue)),
            _ => reply.err(ErrorType::Internal),
        }
    }
}

/// `encryptMsg`: `MSG` with the body encrypted for the recipient (crypto_box with the queue's DH
/// secret, nonce = message id, padded so every `MSG` has the same size).
pub fn encrypt_message(rcv_dh_secret: &DhSecret, message: &StoredMessage) -> Response {
    let body = match message {
        StoredMessage::Message {
            timestamp,
            flags,
            body,
            ..
        } => message_body(timestamp.0, flags.notification, body),
        StoredMessage::Quota { timestamp, .. } => quota_body(timestamp.0),
    };
    let msg_id = message.msg_id();
    let nonce = CbNonce(message_nonce(msg_id));
    match cb_encrypt(rcv_dh_secret, &nonce, &body, PADDED_RCV_MESSAGE_LENGTH) {
        Ok(encrypted_body) => Response::Msg {
            msg_id: msg_id.clone(),
            encrypted_body,
        },
        // Bodies are limited at SEND to fit the padded size, so this cannot happen.
        Err(_) => Response::Err(ErrorType::Internal),
    }
}

/// Encodes server transmissions with `params` (`encodeTransmission`).
pub fn encode_all(params: &TransmissionParams, transmissions: &[Transmission]) -> Vec<Vec<u8>> {
    transmissions
        .iter()
        .map(|(corr_id, entity_id, response)| encode_server(params, corr_id, entity_id, response))
        .collect()
}
