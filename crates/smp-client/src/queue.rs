//! Queue operations on an [`SmpClient`] (`Client.createSMPQueue`, `subscribeSMPQueue`,
//! `secureSMPQueue`, `secureSndSMPQueue`, `sendSMPMessage`, `ackSMPMessage`, `getSMPMessage`,
//! `suspendSMPQueue`, `deleteSMPQueue`, `getSMPQueueInfo`, `enableSMPQueueNotifications`,
//! `disableSMPQueueNotifications`, `subscribeSMPQueueNotifications`, the short-link commands) and
//! the recipient's decryption of `MSG` bodies and `NMSG` metadata.

use std::time::Duration;

use smp_proto::address::BasicAuth;
use smp_proto::codec::Decode;
use smp_proto::command::{
    Command, MsgFlags, NewNtfCreds, NewQueueRequest, QueueLinkData, QueueMode, QueueReqData,
    SubscriptionMode,
};
use smp_proto::crypto::cb_decrypt;
use smp_proto::crypto::{sha3_384, CbNonce};
use smp_proto::crypto::{DhSecret, X25519KeyPair};
use smp_proto::ids::{CorrId, EntityId, MsgId};
use smp_proto::keys::{AuthKey, DhPublicKey};
use smp_proto::response::{NMsgMeta, RcvMsgBody, Response};
use smp_proto::version::Version;

use crate::connection::{Request, SmpClient};
use crate::error::{ClientError, ClientResult};
use crate::events::EventKind;
use crate::keys::{generate_dh_key_pair, AuthAlgorithm, AuthKeyPair};

/// What to ask for in `NEW`.
#[derive(Debug, Clone)]
pub struct NewQueue {
    /// Algorithm of the recipient key.
    pub auth_algorithm: AuthAlgorithm,
    /// Subscribe in this connection (`S`) or only create (`C`).
    pub subscribe: bool,
    /// Queue mode (sent from v9; `None` sends no queue data, which v9–v14 encode as contact).
    pub mode: Option<QueueMode>,
    /// Link data (v15+).
    pub link: Option<LinkRequest>,
    /// Send notifier credentials (v17+).
    pub notifier: bool,
    /// Password; by default the one in the server address.
    pub basic_auth: Option<BasicAuth>,
}

impl Default for NewQueue {
    /// A subscribed messaging queue with an Ed25519 key, as the app creates.
    fn default() -> Self {
        NewQueue {
            auth_algorithm: AuthAlgorithm::Ed25519,
            subscribe: true,
            mode: Some(QueueMode::Messaging),
            link: None,
            notifier: false,
            basic_auth: None,
        }
    }
}

/// Link data for `NEW` (v15+). A messaging queue gets a server-chosen link id; a contact queue
/// uses `link_id` (required there).
#[derive(Debug, Clone, Default)]
pub struct LinkRequest {
    pub link_id: Option<Vec<u8>>,
    pub fixed_data: Vec<u8>,
    pub user_data: Vec<u8>,
}

/// A queue as its recipient knows it (`Client.QueueIdsKeys` plus the private keys).
#[derive(Debug)]
pub struct RecipientQueue {
    pub recipient_id: EntityId,
    pub sender_id: EntityId,
    pub recipient_key: AuthKeyPair,
    pub dh_key: X25519KeyPair,
    /// The server's per-queue DH key from `IDS`.
    pub server_dh_key: DhPublicKey,
    /// X25519(server DH key, own DH key): decrypts `MSG` bodies.
    pub shared_secret: DhSecret,
    /// The mode the server reported (v9+).
    pub mode: Option<QueueMode>,
    pub link_id: Option<EntityId>,
    pub service_id: Option<EntityId>,
    /// Notifier credentials created with the queue (v17+).
    pub notifier: Option<NotifierCredentials>,
}

/// A queue's notifier: what the push server holds (id, key) and the recipient's DH secret for
/// `NMSG` metadata (`Client.enableSMPQueueNotifications`).
#[derive(Debug)]
pub struct NotifierCredentials {
    pub notifier_id: EntityId,
    pub notifier_key: AuthKeyPair,
    pub dh_key: X25519KeyPair,
    pub server_ntf_dh_key: DhPublicKey,
    /// X25519(server notifier DH key, own DH key): decrypts `NMSG` metadata.
    pub shared_secret: DhSecret,
}

/// A decrypted message (`MSG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub msg_id: MsgId,
    pub body: RcvMsgBody,
}

/// Link data returned by `LKEY`/`LGET` (`LNK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkData {
    pub sender_id: EntityId,
    pub fixed_data: Vec<u8>,
    pub user_data: Vec<u8>,
}

/// Padded length of the plaintext inside `MSG` (`Protocol.MaxRcvMessageLen` + 2).
pub const MSG_PADDED_LENGTH: usize = 16106;

/// The sender id a client proposes with link data in `NEW`: the first 24 bytes of SHA3-384 of the
/// correlation id (the server refuses anything else with `ERR CMD PROHIBITED`).
pub fn sender_id_for(corr_id: &CorrId) -> EntityId {
    let digest = sha3_384(corr_id.as_bytes());
    let mut id = [0u8; 24];
    id.copy_from_slice(&digest[..24]);
    EntityId::from(id)
}

/// Decrypts a `MSG` body (`Client.decryptSMPMessage` on the server-encrypted layer): box with
/// the queue's DH secret and the message id as nonce, then `RcvMsgBody`.
pub fn decrypt_message(
    shared_secret: &DhSecret,
    msg_id: &MsgId,
    encrypted_body: &[u8],
) -> ClientResult<RcvMsgBody> {
    let nonce: [u8; 24] = msg_id
        .as_bytes()
        .try_into()
        .map_err(|_| ClientError::Crypto)?;
    let plain = cb_decrypt(shared_secret, &CbNonce(nonce), encrypted_body)
        .map_err(|_| ClientError::Crypto)?;
    Ok(RcvMsgBody::from_bytes(&plain)?)
}

/// Decrypts `NMSG` metadata with the notifier DH secret and the notification's nonce.
pub fn decrypt_notification(
    shared_secret: &DhSecret,
    nonce: &[u8; 24],
    encrypted_meta: &[u8],
) -> ClientResult<NMsgMeta> {
    let plain = cb_decrypt(shared_secret, &CbNonce(*nonce), encrypted_meta)
        .map_err(|_| ClientError::Crypto)?;
    Ok(NMsgMeta::from_bytes(&plain)?)
}

fn unexpected(response: Response) -> ClientError {
    ClientError::UnexpectedResponse(format!("{response:?}"))
}

fn expect_ok(response: Response) -> ClientResult<()> {
    match response {
        Response::Ok | Response::Sok(_) => Ok(()),
        other => Err(unexpected(other)),
    }
}

impl SmpClient {
    /// `PING` → `PONG`.
    pub async fn ping(&self) -> ClientResult<()> {
        match self
            .request(&EntityId::empty(), None, &Command::Ping)
            .await?
        {
            Response::Pong => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// `count` PINGs in one batch; the number of `PONG`s received.
    pub async fn ping_batch(&self, count: usize) -> ClientResult<usize> {
        let requests: Vec<Request<'_>> = (0..count)
            .map(|_| Request {
                entity_id: EntityId::empty(),
                key: None,
                command: Command::Ping,
            })
            .collect();
        let mut pongs = 0;
        for result in self.request_batch(&requests).await {
            match result? {
                Response::Pong => pongs += 1,
                other => return Err(unexpected(other)),
            }
        }
        Ok(pongs)
    }

    /// `NEW` in the form of the connection's version; `IDS` becomes a [`RecipientQueue`].
    pub async fn create_queue(&self, request: NewQueue) -> ClientResult<RecipientQueue> {
        let recipient_key = AuthKeyPair::generate(request.auth_algorithm)?;
        let dh_key = generate_dh_key_pair();
        let corr_id = SmpClient::new_corr_id();
        let queue_data = match (&request.mode, request.link) {
            (None, _) => None,
            (Some(QueueMode::Messaging), None) => Some(QueueReqData::Messaging(None)),
            (Some(QueueMode::Contact), None) => Some(QueueReqData::Contact(None)),
            (Some(QueueMode::Messaging), Some(link)) => Some(QueueReqData::Messaging(Some((
                sender_id_for(&corr_id),
                QueueLinkData {
                    fixed: link.fixed_data,
                    user: link.user_data,
                },
            )))),
            (Some(QueueMode::Contact), Some(link)) => {
                let link_id = EntityId::new(link.link_id.unwrap_or_default())?;
                Some(QueueReqData::Contact(Some((
                    link_id,
                    sender_id_for(&corr_id),
                    QueueLinkData {
                        fixed: link.fixed_data,
                        user: link.user_data,
                    },
                ))))
            }
        };
        let notifier = match request.notifier {
            true => Some((
                AuthKeyPair::generate(AuthAlgorithm::Ed25519)?,
                generate_dh_key_pair(),
            )),
            false => None,
        };
        let command = Command::New(Box::new(NewQueueRequest {
            recipient_key: recipient_key.public_key(),
            recipient_dh_key: *dh_key.public_key(),
            basic_auth: request.basic_auth.or_else(|| self.basic_auth.clone()),
            subscribe_mode: if request.subscribe {
                SubscriptionMode::Subscribe
            } else {
                SubscriptionMode::OnlyCreate
            },
            queue_data,
            ntf_creds: notifier.as_ref().map(|(key, dh)| NewNtfCreds {
                notifier_key: key.public_key(),
                recipient_ntf_dh_key: *dh.public_key(),
            }),
        }));
        let bytes = command.to_bytes(self.params.version);
        let transmission =
            self.encode_transmission(&corr_id, &EntityId::empty(), Some(&recipient_key), &bytes)?;
        let reply = self.exchange_one(corr_id, transmission).await?;
        let ids = match reply.response {
            Ok(Response::Ids(ids)) => ids,
            Ok(Response::Err(error)) => return Err(ClientError::Server(error)),
            Ok(other) => return Err(unexpected(other)),
            Err(error) => return Err(ClientError::BadResponse(error)),
        };
        let shared_secret = dh_key.diffie_hellman(&ids.server_dh_key);
        let notifier = match (notifier, ids.server_ntf_creds) {
            (Some((notifier_key, ntf_dh)), Some(creds)) => Some(NotifierCredentials {
                shared_secret: ntf_dh.diffie_hellman(&creds.server_ntf_dh_key),
                notifier_id: creds.notifier_id,
                notifier_key,
                dh_key: ntf_dh,
                server_ntf_dh_key: creds.server_ntf_dh_key,
            }),
            _ => None,
        };
        Ok(RecipientQueue {
            recipient_id: ids.recipient_id,
            sender_id: ids.sender_id,
            recipient_key,
            dh_key,
            server_dh_key: ids.server_dh_key,
            shared_secret,
            mode: ids.queue_mode,
            link_id: ids.link_id,
            service_id: ids.service_id,
            notifier,
        })
    }

    /// A recipient command on `queue`, signed with its recipient key.
    async fn recipient_command(
        &self,
        queue: &RecipientQueue,
        command: &Command,
    ) -> ClientResult<Response> {
        self.request(&queue.recipient_id, Some(&queue.recipient_key), command)
            .await
    }

    /// `SUB` → `OK` (v<16) or `SOK` (v16+). A waiting message then arrives as an event.
    pub async fn subscribe(&self, queue: &RecipientQueue) -> ClientResult<()> {
        expect_ok(self.recipient_command(queue, &Command::Sub).await?)
    }

    /// `SUB` for many queues, batched into as few blocks as possible.
    pub async fn subscribe_batch(&self, queues: &[&RecipientQueue]) -> Vec<ClientResult<()>> {
        self.recipient_batch(queues, Command::Sub).await
    }

    /// `DEL` for many queues, batched.
    pub async fn delete_batch(&self, queues: &[&RecipientQueue]) -> Vec<ClientResult<()>> {
        self.recipient_batch(queues, Command::Del).await
    }

    async fn recipient_batch(
        &self,
        queues: &[&RecipientQueue],
        command: Command,
    ) -> Vec<ClientResult<()>> {
        let requests: Vec<Request<'_>> = queues
            .iter()
            .map(|queue| Request {
                entity_id: queue.recipient_id.clone(),
                key: Some(&queue.recipient_key),
                command: command.clone(),
            })
            .collect();
        self.request_batch(&requests)
            .await
            .into_iter()
            .map(|result| result.and_then(expect_ok))
            .collect()
    }

    /// `KEY`: the recipient secures the queue with the sender's key.
    pub async fn secure(&self, queue: &RecipientQueue, sender_key: AuthKey) -> ClientResult<()> {
        expect_ok(
            self.recipient_command(queue, &Command::Key(sender_key))
                .await?,
        )
    }

    /// `SKEY` (v9+): the sender secures a messaging queue with its own key, signing with it.
    pub async fn secure_by_sender(
        &self,
        sender_id: &EntityId,
        sender_key: &AuthKeyPair,
    ) -> ClientResult<()> {
        let command = Command::Skey(sender_key.public_key());
        expect_ok(self.request(sender_id, Some(sender_key), &command).await?)
    }

    /// `SEND`: unauthorized before the queue is secured, signed with the sender key after.
    pub async fn send(
        &self,
        sender_id: &EntityId,
        sender_key: Option<&AuthKeyPair>,
        notification: bool,
        body: &[u8],
    ) -> ClientResult<()> {
        let command = Command::Send {
            flags: MsgFlags { notification },
            body: body.to_vec(),
        };
        expect_ok(self.request(sender_id, sender_key, &command).await?)
    }

    /// The next `MSG` event for `queue`, decrypted (other events stay queued).
    pub async fn receive(&self, queue: &RecipientQueue) -> ClientResult<ReceivedMessage> {
        self.receive_within(queue, self.response_timeout).await
    }

    /// [`SmpClient::receive`] waiting at most `wait`.
    pub async fn receive_within(
        &self,
        queue: &RecipientQueue,
        wait: Duration,
    ) -> ClientResult<ReceivedMessage> {
        let event = self
            .next_event_matching(wait, |event| {
                event.kind == EventKind::Message && event.entity_id == queue.recipient_id
            })
            .await?;
        match event.response {
            Ok(response) => self.decrypt(queue, response),
            Err(error) => Err(ClientError::BadResponse(error)),
        }
    }

    fn decrypt(&self, queue: &RecipientQueue, response: Response) -> ClientResult<ReceivedMessage> {
        match response {
            Response::Msg {
                msg_id,
                encrypted_body,
            } => {
                let body = decrypt_message(&queue.shared_secret, &msg_id, &encrypted_body)?;
                Ok(ReceivedMessage { msg_id, body })
            }
            other => Err(unexpected(other)),
        }
    }

    /// `ACK`: `None` for `OK`, or the next message the server answered with.
    pub async fn ack(
        &self,
        queue: &RecipientQueue,
        msg_id: &MsgId,
    ) -> ClientResult<Option<ReceivedMessage>> {
        self.message_or_ok(queue, &Command::Ack(msg_id.clone()))
            .await
    }

    /// `GET`: the message at the head of the queue, or `None` when it is empty.
    pub async fn get(&self, queue: &RecipientQueue) -> ClientResult<Option<ReceivedMessage>> {
        self.message_or_ok(queue, &Command::Get).await
    }

    async fn message_or_ok(
        &self,
        queue: &RecipientQueue,
        command: &Command,
    ) -> ClientResult<Option<ReceivedMessage>> {
        match self.recipient_command(queue, command).await? {
            Response::Ok => Ok(None),
            message @ Response::Msg { .. } => self.decrypt(queue, message).map(Some),
            other => Err(unexpected(other)),
        }
    }

    /// `OFF`: suspend the queue (SEND is then refused).
    pub async fn suspend(&self, queue: &RecipientQueue) -> ClientResult<()> {
        expect_ok(self.recipient_command(queue, &Command::Off).await?)
    }

    /// `DEL`: delete the queue and its messages.
    pub async fn delete(&self, queue: &RecipientQueue) -> ClientResult<()> {
        expect_ok(self.recipient_command(queue, &Command::Del).await?)
    }

    /// `QUE` → `INFO` JSON text.
    pub async fn queue_info(&self, queue: &RecipientQueue) -> ClientResult<String> {
        match self.recipient_command(queue, &Command::Que).await? {
            Response::Info(json) => Ok(json),
            other => Err(unexpected(other)),
        }
    }

    /// `NKEY` → `NID`: new notifier credentials for the queue (replacing earlier ones).
    pub async fn enable_notifications(
        &self,
        queue: &RecipientQueue,
    ) -> ClientResult<NotifierCredentials> {
        let notifier_key = AuthKeyPair::generate(AuthAlgorithm::Ed25519)?;
        let dh_key = generate_dh_key_pair();
        let command = Command::Nkey {
            notifier_key: notifier_key.public_key(),
            recipient_ntf_dh_key: *dh_key.public_key(),
        };
        match self.recipient_command(queue, &command).await? {
            Response::Nid {
                notifier_id,
                server_ntf_dh_key,
            } => Ok(NotifierCredentials {
                shared_secret: dh_key.diffie_hellman(&server_ntf_dh_key),
                notifier_id,
                notifier_key,
                dh_key,
                server_ntf_dh_key,
            }),
            other => Err(unexpected(other)),
        }
    }

    /// `NDEL`: remove the queue's notifier.
    pub async fn disable_notifications(&self, queue: &RecipientQueue) -> ClientResult<()> {
        expect_ok(self.recipient_command(queue, &Command::Ndel).await?)
    }

    /// `NSUB` (as the push server would): subscribe to the notifier's `NMSG` events.
    pub async fn subscribe_notifications(
        &self,
        notifier: &NotifierCredentials,
    ) -> ClientResult<()> {
        expect_ok(
            self.request(
                &notifier.notifier_id,
                Some(&notifier.notifier_key),
                &Command::Nsub,
            )
            .await?,
        )
    }

    /// The next `NMSG` event for `notifier`, decrypted, waiting at most `wait`.
    pub async fn receive_notification(
        &self,
        notifier: &NotifierCredentials,
        wait: Duration,
    ) -> ClientResult<NMsgMeta> {
        let event = self
            .next_event_matching(wait, |event| {
                event.kind == EventKind::Notification && event.entity_id == notifier.notifier_id
            })
            .await?;
        match event.response {
            Ok(Response::Nmsg {
                nonce,
                encrypted_meta,
            }) => decrypt_notification(&notifier.shared_secret, &nonce, encrypted_meta.as_bytes()),
            Ok(other) => Err(unexpected(other)),
            Err(error) => Err(ClientError::BadResponse(error)),
        }
    }

    /// `LSET` (v15+): set or replace the queue's link data.
    pub async fn set_link(
        &self,
        queue: &RecipientQueue,
        link_id: &EntityId,
        fixed_data: &[u8],
        user_data: &[u8],
    ) -> ClientResult<()> {
        let command = Command::Lset {
            link_id: link_id.clone(),
            link_data: QueueLinkData {
                fixed: fixed_data.to_vec(),
                user: user_data.to_vec(),
            },
        };
        expect_ok(self.recipient_command(queue, &command).await?)
    }

    /// `LDEL` (v15+): remove the queue's link data.
    pub async fn delete_link(&self, queue: &RecipientQueue) -> ClientResult<()> {
        expect_ok(self.recipient_command(queue, &Command::Ldel).await?)
    }

    /// `LKEY` (v15+): secure a 1-time invitation queue with `sender_key` and get its link data.
    pub async fn link_key(
        &self,
        link_id: &EntityId,
        sender_key: &AuthKeyPair,
    ) -> ClientResult<LinkData> {
        let command = Command::Lkey(sender_key.public_key());
        link_data(self.request(link_id, Some(sender_key), &command).await?)
    }

    /// `LGET` (v15+): the link data of a contact address (unauthorized).
    pub async fn link_get(&self, link_id: &EntityId) -> ClientResult<LinkData> {
        link_data(self.request(link_id, None, &Command::Lget).await?)
    }

    /// Whether this connection's version has sender-side securing (`SKEY`, v9+).
    pub fn has_sender_securing(&self) -> bool {
        self.params.version >= Version::SND_AUTH_KEY
    }
}

pub(crate) fn link_data(response: Response) -> ClientResult<LinkData> {
    match response {
        Response::Lnk {
            sender_id,
            link_data,
        } => Ok(LinkData {
            sender_id,
            fixed_data: link_data.fixed,
            user_data: link_data.user,
        }),
        other => Err(unexpected(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smp_proto::codec::{Encode, SystemTime};
    use smp_proto::crypto::cb_encrypt;

    #[test]
    fn sender_id_is_the_sha3_384_prefix_of_the_corr_id() {
        // SHA3-384("") = 0c63a75b845e4f7d01107d852e4c2485c51a50aaaa94fc61995e71bbee983a2a…
        assert_eq!(
            hex::encode(sender_id_for(&CorrId::empty()).as_bytes()),
            "0c63a75b845e4f7d01107d852e4c2485c51a50aaaa94fc61"
        );
        let corr_id = CorrId::from([5u8; 24]);
        assert!(smp_proto::crypto::is_sender_id_of_corr_id(
            sender_id_for(&corr_id).as_bytes(),
            corr_id.as_bytes()
        ));
    }

    #[test]
    fn message_decryption_round_trip() {
        let recipient = generate_dh_key_pair();
        let server = generate_dh_key_pair();
        let server_side = server.diffie_hellman(recipient.public_key());
        let client_side = recipient.diffie_hellman(server.public_key());
        let msg_id = MsgId::from([8u8; 24]);
        for body in [
            RcvMsgBody::Message {
                timestamp: SystemTime(1_700_000_000),
                flags: MsgFlags { notification: true },
                body: b"hello".to_vec(),
            },
            RcvMsgBody::Quota {
                timestamp: SystemTime(5),
            },
        ] {
            let encrypted = cb_encrypt(
                &server_side,
                &CbNonce([8u8; 24]),
                &body.to_bytes(),
                MSG_PADDED_LENGTH,
            )
            .unwrap();
            // Spec §6.7: every MSG body is 16122 bytes.
            assert_eq!(encrypted.len(), 16122);
            assert_eq!(
                decrypt_message(&client_side, &msg_id, &encrypted).unwrap(),
                body
            );
        }
    }

    #[test]
    fn message_decryption_failures() {
        let secret = generate_dh_key_pair().diffie_hellman(generate_dh_key_pair().public_key());
        let wrong = generate_dh_key_pair().diffie_hellman(generate_dh_key_pair().public_key());
        let body = RcvMsgBody::Quota {
            timestamp: SystemTime(1),
        };
        let encrypted = cb_encrypt(
            &secret,
            &CbNonce([1u8; 24]),
            &body.to_bytes(),
            MSG_PADDED_LENGTH,
        )
        .unwrap();
        let msg_id = MsgId::from([1u8; 24]);
        assert!(matches!(
            decrypt_message(&wrong, &msg_id, &encrypted),
            Err(ClientError::Crypto)
        ));
        // A message id that is not 24 bytes cannot be the nonce.
        let short = MsgId::new(vec![1u8; 5]).unwrap();
        assert!(matches!(
            decrypt_message(&secret, &short, &encrypted),
            Err(ClientError::Crypto)
        ));
        assert!(decrypt_message(&secret, &msg_id, &encrypted[..100]).is_err());
    }

    #[test]
    fn notification_decryption_round_trip() {
        let own = generate_dh_key_pair();
        let server = generate_dh_key_pair();
        let meta = NMsgMeta {
            msg_id: MsgId::from([2u8; 24]),
            timestamp: SystemTime(77),
        };
        let nonce = [6u8; 24];
        // Spec §6.9: metadata padded to 128, 144 bytes encrypted.
        let encrypted = cb_encrypt(
            &server.diffie_hellman(own.public_key()),
            &CbNonce(nonce),
            &meta.to_bytes(),
            128,
        )
        .unwrap();
        assert_eq!(encrypted.len(), 144);
        let decrypted =
            decrypt_notification(&own.diffie_hellman(server.public_key()), &nonce, &encrypted)
                .unwrap();
        assert_eq!(decrypted, meta);
    }

    #[test]
    fn default_new_queue_is_a_subscribed_messaging_queue() {
        let request = NewQueue::default();
        assert!(request.subscribe);
        assert_eq!(request.mode, Some(QueueMode::Messaging));
        assert_eq!(request.auth_algorithm, AuthAlgorithm::Ed25519);
        assert!(!request.notifier);
    }
}
