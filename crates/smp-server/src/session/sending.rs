//! SEND (`Server.hs: sendMessage`, `tryDeliverMessage`, `enqueueNotification`,
//! `mkMessageNotification`): size limits by version, queue status, one-time link data removal,
//! optional expiry, the quota, the push to an idle subscriber and the notification.

use super::processor::{encode_all, encrypt_message, Reply, Session, Transmission};
use crate::delivery::{notification_meta, MAX_MESSAGE_LENGTH, PADDED_NTF_META_LENGTH};
use crate::messages;
use crate::notifications::MsgNtf;
use crate::store::{QueueRecord, QueueStatus, StoredMessage};
use smp_proto::codec::SystemTime;
use smp_proto::command::MsgFlags;
use smp_proto::crypto::{cb_encrypt, CbNonce};
use smp_proto::error::ErrorType;
use smp_proto::ids::{CorrId, MsgId};
use smp_proto::version::Version;

impl Session {
    /// SEND with the limits of `version` (the connection's, or the forwarded one).
    pub(super) fn send_message(
        &self,
        reply: &Reply<'_>,
        version: Version,
        queue: &QueueRecord,
        flags: MsgFlags,
        body: Vec<u8>,
    ) -> Transmission {
        let stats = &self.state.stats;
        if body.len() > version.max_message_length() {
            stats.counters.msg_sent_large.inc();
            return reply.err(ErrorType::LargeMsg);
        }
        match queue.status {
            QueueStatus::Off => {
                stats.counters.msg_sent_auth.inc();
                return reply.err(ErrorType::Auth);
            }
            QueueStatus::Blocked(info) => {
                stats.counters.msg_sent_block.inc();
                return reply.err(ErrorType::Blocked(info));
            }
            QueueStatus::Active => {}
        }
        if body.len() > MAX_MESSAGE_LENGTH {
            return reply.err(ErrorType::LargeMsg);
        }
        let store = &self.state.store;
        let recipient_id = &queue.recipient_id;
        // A one-time invitation's link data is consumed by the first message after securing.
        if queue.link.is_some() && queue.is_secured_messaging() {
            let _ = store.delete_link_data(recipient_id);
        }
        let now = self.now();
        if self.state.settings.expire_messages_on_send {
            if let Some(expiration) = self.state.settings.message_expiration {
                let ttl = i64::try_from(expiration.ttl.as_secs()).unwrap_or(i64::MAX);
                match store.delete_expired_messages(recipient_id, now.saturating_sub(ttl)) {
                    Ok(expired) => stats
                        .counters
                        .msg_expired
                        .add(i64::try_from(expired).unwrap_or(0)),
                    Err(error) => return reply.err(error),
                }
            }
        }
        let message = StoredMessage::Message {
            msg_id: MsgId::from(self.state.random.bytes::<24>()),
            timestamp: SystemTime(now),
            flags,
            body,
        };
        match store.write_message(recipient_id, message) {
            Err(error) => reply.err(error),
            Ok(None) => {
                stats.counters.msg_sent_quota.inc();
                reply.err(ErrorType::Quota)
            }
            Ok(Some((message, was_empty))) => {
                if was_empty {
                    self.try_deliver(queue, &message, now);
                }
                let rid = recipient_id.as_bytes();
                if flags.notification {
                    self.enqueue_notification(queue, &message);
                    stats.counters.msg_sent_ntf.inc();
                    stats.active_queues_ntf.record(rid);
                }
                stats.counters.msg_sent.inc();
                stats.counters.msg_count.inc();
                stats.active_queues.record(rid);
                reply.ok()
            }
        }
    }

    /// `tryDeliverMessage`: push to the subscriber if it has nothing outstanding.
    fn try_deliver(&self, queue: &QueueRecord, message: &StoredMessage, now: i64) {
        let hub = &self.state.subscribers;
        let Some(subscriber) = messages::push_target(hub, &queue.recipient_id) else {
            return;
        };
        let event = (
            CorrId::empty(),
            queue.recipient_id.clone(),
            encrypt_message(&queue.rcv_dh_secret, message),
        );
        let Some(encoded) = encode_all(subscriber.params(), &[event]).pop() else {
            return;
        };
        messages::push(
            hub,
            subscriber,
            &queue.recipient_id,
            message.msg_id(),
            encoded,
            now,
        );
    }

    /// `enqueueNotification`: store an encrypted `NMsgMeta` for the notifier (quota markers
    /// never notify).
    fn enqueue_notification(&self, queue: &QueueRecord, message: &StoredMessage) {
        let (
            Some(notifier),
            StoredMessage::Message {
                msg_id, timestamp, ..
            },
        ) = (&queue.notifier, message)
        else {
            return;
        };
        let nonce = self.state.random.bytes::<24>();
        let meta = notification_meta(msg_id, timestamp.0);
        // The reference stores an empty body if encryption fails (it cannot: 33 < 128).
        let encrypted_meta = cb_encrypt(
            &notifier.rcv_ntf_dh_secret,
            &CbNonce(nonce),
            &meta,
            PADDED_NTF_META_LENGTH,
        )
        .unwrap_or_default();
        self.state.stats.counters.ntf_count.inc();
        self.state.notifications.store(
            &notifier.notifier_id,
            MsgNtf {
                msg_id: msg_id.clone(),
                timestamp: timestamp.0,
                nonce,
                encrypted_meta,
            },
        );
    }
}
