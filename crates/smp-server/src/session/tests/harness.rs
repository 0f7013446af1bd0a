//! In-process test connections: a [`Session`] over a test state (manual clock, seeded random
//! source, memory store), fed with client transmissions built by `smp_proto`, answering with
//! decoded server transmissions.

use crate::client::{ClientHandle, SendJob};
use crate::clock::{ManualClock, Random};
use crate::session::processor::Session;
use crate::state::{ServerSettings, ServerState};
use crate::store::backend::StoreBackend;
use smp_client::{AuthAlgorithm, AuthKeyPair};
use smp_proto::block::encode_batch;
use smp_proto::codec::Decode;
use smp_proto::command::{Command, NewNtfCreds, NewQueueRequest, QueueReqData, SubscriptionMode};
use smp_proto::crypto::{cb_decrypt, CbNonce, X25519KeyPair};
use smp_proto::error::ErrorType;
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::response::{QueueIds, RcvMsgBody, Response};
use smp_proto::transmission::{
    decode_client, encode_client, ClientTransmission, TransmissionParams,
};
use smp_proto::version::Version;
use std::sync::Arc;
use tokio::sync::mpsc;

pub const NOW: i64 = 1_700_000_000;

pub struct Server {
    pub state: Arc<ServerState>,
    pub clock: Arc<ManualClock>,
    pub store: Arc<StoreBackend>,
}

impl Server {
    pub fn new() -> Server {
        Server::with(ServerSettings::default(), 128)
    }

    pub fn with(settings: ServerSettings, quota: usize) -> Server {
        let clock = Arc::new(ManualClock::at_seconds(NOW));
        let store = Arc::new(StoreBackend::new(quota, clock.clone()));
        let state = ServerState::with(settings, clock.clone(), Random::from_seed(7))
            .with_store(store.clone());
        Server {
            state: Arc::new(state),
            clock,
            store,
        }
    }

    pub fn connect(&self, version: u16) -> Conn {
        let session_id = vec![version as u8; 32];
        let params = TransmissionParams::new(Version(version), session_id);
        let (sender, jobs) = mpsc::channel(1000);
        let client = Arc::new(ClientHandle::for_connection(
            self.state.next_client_id(),
            params.clone(),
            sender,
        ));
        let server_key = X25519KeyPair::from_secret_bytes([version as u8; 32]);
        let client_key = X25519KeyPair::from_secret_bytes([100 + version as u8; 32]);
        let session = Session {
            state: Arc::clone(&self.state),
            client,
            session_secret: Some(server_key.diffie_hellman(client_key.public_key())),
            server_key,
        };
        Conn {
            session,
            jobs,
            params,
            client_key,
            next_corr: 0,
        }
    }
}

/// A client's view of a queue it created.
pub struct Queue {
    pub ids: QueueIds,
    pub recipient: AuthKeyPair,
    pub dh: X25519KeyPair,
}

pub struct Conn {
    pub session: Session,
    pub jobs: mpsc::Receiver<SendJob>,
    pub params: TransmissionParams,
    /// The client's hello key (for the proxy ↔ relay secret in RFWD tests).
    pub client_key: X25519KeyPair,
    next_corr: u8,
}

/// Answers to one block: (responses and messages of the group, error responses).
pub struct Answers {
    pub responses: Vec<ClientTransmission>,
    pub messages: Vec<ClientTransmission>,
    pub errors: Vec<ClientTransmission>,
}

impl Conn {
    pub fn version(&self) -> Version {
        self.params.version
    }

    pub fn corr_id(&mut self) -> CorrId {
        self.next_corr = self.next_corr.wrapping_add(1);
        CorrId::from([self.next_corr; 24])
    }

    /// A transmission signed with `key` (or unsigned).
    pub fn transmission(
        &self,
        corr_id: &CorrId,
        entity_id: &EntityId,
        command: &Command,
        key: Option<&AuthKeyPair>,
    ) -> Vec<u8> {
        let server_key = *self.session.server_key.public_key();
        encode_client(&self.params, corr_id, entity_id, command, |authorized| {
            key.map(|key| {
                let auth = key
                    .authorize(authorized, corr_id, Some(&server_key))
                    .unwrap();
                (auth, None)
            })
        })
    }

    /// Sends raw block content.
    pub fn send_content(&self, content: &[u8]) -> Answers {
        let received = self.session.receive_block(content);
        let (responses, messages) = self.session.process_group(received.commands);
        let decode = |transmissions: Vec<crate::session::processor::Transmission>| {
            self.session
                .encode(&transmissions)
                .iter()
                .map(|bytes| decode(&self.params, bytes))
                .collect()
        };
        Answers {
            responses: decode(responses),
            messages: decode(messages),
            errors: decode(received.errors),
        }
    }

    /// Sends transmissions in one block.
    pub fn send_batch(&self, transmissions: &[Vec<u8>]) -> Answers {
        let mut content = Vec::new();
        encode_batch(transmissions, &mut content).unwrap();
        self.send_content(&content)
    }

    /// One command; its single answer (response or error).
    pub fn request(
        &mut self,
        entity_id: &EntityId,
        command: Command,
        key: Option<&AuthKeyPair>,
    ) -> Result<Response, ErrorType> {
        self.request_full(entity_id, command, key).0
    }

    /// One command; its answer and the message that follows it.
    pub fn request_full(
        &mut self,
        entity_id: &EntityId,
        command: Command,
        key: Option<&AuthKeyPair>,
    ) -> (Result<Response, ErrorType>, Option<ClientTransmission>) {
        let corr_id = self.corr_id();
        let transmission = self.transmission(&corr_id, entity_id, &command, key);
        let mut answers = self.send_batch(&[transmission]);
        let mut all: Vec<ClientTransmission> = answers.errors;
        all.append(&mut answers.responses);
        assert_eq!(all.len(), 1, "one answer expected");
        let answer = all.remove(0);
        assert_eq!(answer.corr_id, corr_id);
        assert_eq!(&answer.entity_id, entity_id);
        (answer.response, answers.messages.pop())
    }

    /// Transmissions pushed to this connection outside responses (MSG pushes), decoded.
    pub fn pushed(&mut self) -> Vec<ClientTransmission> {
        let mut out = Vec::new();
        while let Ok(job) = self.jobs.try_recv() {
            for bytes in job.transmissions.iter().chain(&job.deliveries) {
                out.push(decode(&self.params, bytes));
            }
        }
        out
    }

    /// NEW with an Ed25519 recipient key, subscribe mode and queue data as given.
    pub fn create_queue_with(
        &mut self,
        subscribe_mode: SubscriptionMode,
        queue_data: Option<QueueReqData>,
        with_ntf: bool,
    ) -> Queue {
        let recipient = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
        let dh = X25519KeyPair::from_secret_bytes([self.next_corr.wrapping_add(50); 32]);
        let ntf_creds = with_ntf.then(|| NewNtfCreds {
            notifier_key: AuthKeyPair::ed25519_from_seed(&[1; 32]).public_key(),
            recipient_ntf_dh_key: *X25519KeyPair::from_secret_bytes([2; 32]).public_key(),
        });
        let request = NewQueueRequest {
            recipient_key: recipient.public_key(),
            recipient_dh_key: *dh.public_key(),
            basic_auth: None,
            subscribe_mode,
            queue_data,
            ntf_creds,
        };
        let response = self.request(
            &EntityId::empty(),
            Command::New(Box::new(request)),
            Some(&recipient),
        );
        let Ok(Response::Ids(ids)) = response else {
            panic!("IDS expected, got {response:?}");
        };
        Queue {
            ids: *ids,
            recipient,
            dh,
        }
    }

    /// A messaging queue, created without subscribing.
    pub fn create_queue(&mut self) -> Queue {
        let data =
            (self.version() >= Version::SND_AUTH_KEY).then_some(QueueReqData::Messaging(None));
        self.create_queue_with(SubscriptionMode::OnlyCreate, data, false)
    }
}

impl Queue {
    pub fn rid(&self) -> &EntityId {
        &self.ids.recipient_id
    }

    pub fn sid(&self) -> &EntityId {
        &self.ids.sender_id
    }

    /// Decrypts a `MSG` for this queue.
    pub fn decrypt(&self, response: &Response) -> RcvMsgBody {
        let Response::Msg {
            msg_id,
            encrypted_body,
        } = response
        else {
            panic!("MSG expected, got {response:?}");
        };
        assert_eq!(encrypted_body.len(), 16_122, "every MSG has the same size");
        let secret = self.dh.diffie_hellman(&self.ids.server_dh_key);
        let plain = cb_decrypt(
            &secret,
            &CbNonce::from_prefix(msg_id.as_bytes()),
            encrypted_body,
        )
        .unwrap();
        RcvMsgBody::from_bytes(&plain).unwrap()
    }
}

/// Decodes a server transmission; `ERR e` becomes `Err(e)`.
pub fn decode(params: &TransmissionParams, bytes: &[u8]) -> ClientTransmission {
    let mut transmission = decode_client(params, bytes);
    if let Ok(Response::Err(error)) = &transmission.response {
        transmission.response = Err(error.clone());
    }
    transmission
}

/// The body of a normal message.
pub fn body(message: &RcvMsgBody) -> &[u8] {
    match message {
        RcvMsgBody::Message { body, .. } => body,
        RcvMsgBody::Quota { .. } => panic!("quota marker"),
    }
}

pub fn send(text: &[u8]) -> Command {
    Command::Send {
        flags: Default::default(),
        body: text.to_vec(),
    }
}
