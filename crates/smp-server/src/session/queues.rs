//! Queue management commands (`Server.hs: processCommand` branches and `createQueue`,
//! `secureQueue_`, `getQueueLink_`, `addQueueNotifier_`, `deleteQueueNotifier_`,
//! `suspendQueue_`, `delQueueAndMsgs`, `getQueueInfo`): NEW, KEY, SKEY, LKEY, LGET, RKEY, LSET,
//! LDEL, NKEY, NDEL, OFF, DEL, QUE.

use super::processor::{Reply, Session, Transmission};
use crate::client::{Sub, SubMode};
use crate::queue_info::{HeadMessage, QueueInfo, QueueSub, SubThread};
use crate::store::{NotifierCreds, QueueRecord, QueueStatus, StoredMessage};
use smp_proto::command::{
    NewQueueRequest, QueueLinkData, QueueMode, QueueReqData, SubscriptionMode,
};
use smp_proto::crypto::{is_sender_id_of_corr_id, X25519KeyPair};
use smp_proto::error::{CommandError, ErrorType};
use smp_proto::ids::EntityId;
use smp_proto::keys::{AuthKey, DhPublicKey};
use smp_proto::response::{QueueIds, Response, ServerNtfCreds};
use std::time::Duration;

/// Attempts at a random id before `ERR INTERNAL` (`createQueue`: `tryCreate 3`).
const ID_ATTEMPTS: usize = 3;

impl Session {
    fn random_id(&self) -> EntityId {
        EntityId::from(self.state.random.bytes::<24>())
    }

    fn key_pair(&self) -> X25519KeyPair {
        self.state
            .random
            .with(|mut rng| X25519KeyPair::generate(&mut rng))
    }

    /// NEW (`createQueue`), after the `allowNew` check.
    pub(super) fn create_queue(&self, reply: &Reply<'_>, request: NewQueueRequest) -> Transmission {
        let settings = &self.state.settings;
        let password_ok = match &settings.create_password {
            None => true,
            Some(password) => request
                .basic_auth
                .as_ref()
                .is_some_and(|auth| auth.as_bytes() == password.as_slice()),
        };
        if !settings.allow_new_queues || !password_ok {
            return reply.err(ErrorType::Auth);
        }
        let server_dh = self.key_pair();
        let rcv_dh_secret = server_dh.diffie_hellman(&request.recipient_dh_key);
        let ntf_keys = request.ntf_creds.as_ref().map(|creds| {
            let server_ntf_dh = self.key_pair();
            let secret = server_ntf_dh.diffie_hellman(&creds.recipient_ntf_dh_key);
            (creds.notifier_key, secret, *server_ntf_dh.public_key())
        });
        let queue_mode = request.queue_data.as_ref().map(QueueReqData::mode);
        for _ in 0..ID_ATTEMPTS {
            let (sender_id, client_ids, link) = match &request.queue_data {
                Some(QueueReqData::Messaging(Some((sender_id, data)))) => (
                    sender_id.clone(),
                    true,
                    Some((self.random_id(), data.clone())),
                ),
                Some(QueueReqData::Contact(Some((link_id, sender_id, data)))) => (
                    sender_id.clone(),
                    true,
                    Some((link_id.clone(), data.clone())),
                ),
                _ => (self.random_id(), false, None),
            };
            // Client-chosen ids must derive from the correlation id: no probing of ids.
            if client_ids
                && !is_sender_id_of_corr_id(sender_id.as_bytes(), reply.corr_id.as_bytes())
            {
                return reply.err(ErrorType::Cmd(CommandError::Prohibited));
            }
            let recipient_id = self.random_id();
            let notifier = ntf_keys.as_ref().map(|(key, secret, public)| {
                let creds = NotifierCreds {
                    notifier_id: self.random_id(),
                    notifier_key: *key,
                    rcv_ntf_dh_secret: secret.clone(),
                };
                let server_creds = ServerNtfCreds {
                    notifier_id: creds.notifier_id.clone(),
                    server_ntf_dh_key: *public,
                };
                (creds, server_creds)
            });
            let link_id = link.as_ref().map(|(id, _)| id.clone());
            let record = QueueRecord {
                recipient_id: recipient_id.clone(),
                sender_id: sender_id.clone(),
                recipient_keys: vec![request.recipient_key],
                rcv_dh_secret: rcv_dh_secret.clone(),
                sender_key: None,
                queue_mode,
                link,
                notifier: notifier.as_ref().map(|(creds, _)| creds.clone()),
                status: QueueStatus::Active,
            };
            match self.state.store.add_queue(record) {
                Err(ErrorType::Duplicate) if client_ids => return reply.err(ErrorType::Auth),
                Err(ErrorType::Duplicate) => continue,
                Err(error) => return reply.err(error),
                Ok(()) => {}
            }
            let counters = &self.state.stats.counters;
            counters.q_created.inc();
            counters.q_count.inc();
            if notifier.is_some() {
                counters.ntf_new_created.inc();
            }
            if request.subscribe_mode == SubscriptionMode::Subscribe {
                // A new queue has no messages: just become its subscriber (`subscribeNewQueue`).
                self.client
                    .subscriptions()
                    .insert(recipient_id.clone(), Sub::subscribed());
                self.state
                    .subscribers
                    .subscribe(&recipient_id, &self.client);
            }
            return reply.with(Response::Ids(Box::new(QueueIds {
                recipient_id,
                sender_id,
                server_dh_key: *server_dh.public_key(),
                queue_mode,
                link_id,
                service_id: None,
                server_ntf_creds: notifier.map(|(_, server_creds)| server_creds),
            })));
        }
        reply.err(ErrorType::Internal)
    }

    /// KEY (`secureQueue_`): any queue mode.
    pub(super) fn secure_queue(
        &self,
        queue: &QueueRecord,
        key: AuthKey,
    ) -> Result<Response, ErrorType> {
        self.state.store.secure_queue(&queue.recipient_id, key)?;
        self.state.stats.counters.q_secured.inc();
        Ok(Response::Ok)
    }

    /// SKEY/LKEY (`checkMode QMMessaging` then `secureQueue_`).
    pub(super) fn secure_messaging_queue(
        &self,
        queue: &QueueRecord,
        key: AuthKey,
    ) -> Result<Response, ErrorType> {
        if queue.queue_mode != Some(QueueMode::Messaging) {
            return Err(ErrorType::Auth);
        }
        self.secure_queue(queue, key)
    }

    /// LGET (`checkContact`) and the second half of LKEY (`getQueueLink_`): the link data if
    /// the queue's link id is the entity id.
    pub(super) fn queue_link(
        &self,
        queue: &QueueRecord,
        link_id: &EntityId,
    ) -> Result<Response, ErrorType> {
        let link_data = self.state.store.link_data(&queue.recipient_id, link_id)?;
        Ok(Response::Lnk {
            sender_id: queue.sender_id.clone(),
            link_data,
        })
    }

    /// RKEY: contact queues only.
    pub(super) fn update_recipient_keys(
        &self,
        queue: &QueueRecord,
        keys: Vec<AuthKey>,
    ) -> Result<Response, ErrorType> {
        if queue.queue_mode != Some(QueueMode::Contact) {
            return Err(ErrorType::Auth);
        }
        self.state
            .store
            .update_recipient_keys(&queue.recipient_id, keys)
            .map(|()| Response::Ok)
    }

    /// LSET: not on secured messaging queues; the link id cannot change.
    pub(super) fn set_link_data(
        &self,
        queue: &QueueRecord,
        link_id: EntityId,
        data: QueueLinkData,
    ) -> Result<Response, ErrorType> {
        if queue.is_secured_messaging() {
            return Err(ErrorType::Auth);
        }
        if let Some((existing, _)) = &queue.link {
            if *existing != link_id {
                return Err(ErrorType::Auth);
            }
        }
        self.state
            .store
            .add_link_data(&queue.recipient_id, link_id, data)
            .map(|()| Response::Ok)
    }

    /// LDEL: `OK` also without link data.
    pub(super) fn delete_link_data(&self, queue: &QueueRecord) -> Result<Response, ErrorType> {
        if queue.link.is_some() {
            self.state.store.delete_link_data(&queue.recipient_id)?;
        }
        Ok(Response::Ok)
    }

    /// NKEY (`addQueueNotifier_`): a new notifier id (3 attempts), a fresh server DH key; the
    /// replaced notifier's subscriber gets `DELD`.
    pub(super) fn add_notifier(
        &self,
        queue: &QueueRecord,
        notifier_key: AuthKey,
        recipient_ntf_dh_key: &DhPublicKey,
    ) -> Result<Response, ErrorType> {
        let server_ntf_dh = self.key_pair();
        let rcv_ntf_dh_secret = server_ntf_dh.diffie_hellman(recipient_ntf_dh_key);
        for _ in 0..ID_ATTEMPTS {
            let notifier_id = self.random_id();
            let creds = NotifierCreds {
                notifier_id: notifier_id.clone(),
                notifier_key,
                rcv_ntf_dh_secret: rcv_ntf_dh_secret.clone(),
            };
            match self.state.store.add_notifier(&queue.recipient_id, creds) {
                Err(ErrorType::Duplicate) => continue,
                Err(error) => return Err(error),
                Ok(previous) => {
                    self.state.stats.counters.ntf_created.inc();
                    if let Some(previous) = previous {
                        self.state
                            .ntf_subscribers
                            .delete(&previous.notifier_id, self.client.id());
                    }
                    return Ok(Response::Nid {
                        notifier_id,
                        server_ntf_dh_key: *server_ntf_dh.public_key(),
                    });
                }
            }
        }
        Err(ErrorType::Internal)
    }

    /// NDEL (`deleteQueueNotifier_`): drops stored notifications; the subscriber gets `DELD`.
    pub(super) fn delete_notifier(&self, queue: &QueueRecord) -> Result<Response, ErrorType> {
        if let Some(removed) = self.state.store.delete_notifier(&queue.recipient_id)? {
            let deleted = self.state.notifications.delete(&removed.notifier_id);
            let counters = &self.state.stats.counters;
            counters.ntf_count.sub(i64::try_from(deleted).unwrap_or(0));
            counters.ntf_deleted.inc();
            self.state
                .ntf_subscribers
                .delete(&removed.notifier_id, self.client.id());
        }
        Ok(Response::Ok)
    }

    /// OFF (`suspendQueue_`): allowed on blocked queues too.
    pub(super) fn suspend_queue(&self, queue: &QueueRecord) -> Result<Response, ErrorType> {
        self.state
            .store
            .suspend_queue(&queue.recipient_id)
            .map(|()| Response::Ok)
    }

    /// DEL (`delQueueAndMsgs`): this connection's subscription is dropped silently; another
    /// subscriber and the notifier's subscriber get `DELD`.
    pub(super) fn delete_queue(&self, reply: &Reply<'_>, queue: &QueueRecord) -> Transmission {
        let deleted = match self.state.store.delete_queue(&queue.recipient_id) {
            Ok(deleted) => deleted,
            Err(error) => return reply.err(error),
        };
        self.client.subscriptions().remove(&deleted.recipient_id);
        self.state
            .subscribers
            .delete(&deleted.recipient_id, self.client.id());
        let counters = &self.state.stats.counters;
        if let Some(notifier) = &deleted.notifier {
            let notifications = self.state.notifications.delete(&notifier.notifier_id);
            counters
                .ntf_count
                .sub(i64::try_from(notifications).unwrap_or(0));
            self.state
                .ntf_subscribers
                .delete(&notifier.notifier_id, self.client.id());
        }
        // `updateDeletedStats`
        if deleted.sender_key.is_none() {
            counters.q_deleted_new.inc();
        } else {
            counters.q_deleted_secured.inc();
        }
        counters.q_deleted_all.inc();
        counters.q_count.sub(1);
        reply.ok()
    }

    /// QUE (`getQueueInfo`).
    pub(super) fn queue_info(&self, queue: &QueueRecord) -> Result<Response, ErrorType> {
        let sub = self
            .client
            .subscriptions()
            .get(&queue.recipient_id)
            .map(|sub| QueueSub {
                thread: match sub.mode {
                    SubMode::Subscribed {
                        push_pending: false,
                    } => SubThread::NoSub,
                    SubMode::Subscribed { push_pending: true } => SubThread::SubPending,
                    SubMode::GetOnly => SubThread::ProhibitSub,
                },
                delivered: sub
                    .delivered
                    .as_ref()
                    .map(|delivered| delivered.msg_id.as_bytes().to_vec()),
            });
        let size = self.state.store.queue_size(&queue.recipient_id)?;
        let head = self
            .state
            .store
            .peek_message(&queue.recipient_id)?
            .map(|message| HeadMessage {
                msg_id: message.msg_id().as_bytes().to_vec(),
                timestamp: Duration::from_secs(u64::try_from(message.timestamp().0).unwrap_or(0)),
                is_quota: matches!(message, StoredMessage::Quota { .. }),
            });
        let info = QueueInfo {
            has_sender_key: queue.sender_key.is_some(),
            has_notifier: queue.notifier.is_some(),
            sub,
            size,
            head,
        };
        Ok(Response::Info(info.to_json()))
    }
}
