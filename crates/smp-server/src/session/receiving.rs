//! Recipient and notifier subscription commands: SUB, GET, ACK (`Server.hs:
//! subscribeQueueAndDeliver`, `getMessage`, `acknowledgeMsg`) on top of the delivery rules in
//! [`crate::messages`], and NSUB (`subscribeNotifications`, non-service sessions).

use super::processor::{encrypt_message, Reply, ResponseAndMessage, Session, Transmission};
use crate::messages::{self, Acknowledged, Answer, QueueMessages};
use crate::store::{QueueRecord, Store, StoredMessage};
use smp_proto::error::{CommandError, ErrorType};
use smp_proto::ids::{CorrId, EntityId, MsgId};
use smp_proto::response::Response;

/// `SOK` and the head message as an event.
fn subscribed(
    reply: &Reply<'_>,
    queue: &QueueRecord,
    head: Option<StoredMessage>,
) -> ResponseAndMessage {
    (
        reply.with(Response::Sok(None)),
        head.map(|message| {
            (
                CorrId::empty(),
                reply.entity_id.clone(),
                encrypt_message(&queue.rcv_dh_secret, &message),
            )
        }),
    )
}

/// One queue's messages in the store, as the delivery rules see them.
struct StoreQueue<'a> {
    store: &'a dyn Store,
    recipient_id: &'a EntityId,
}

impl QueueMessages for StoreQueue<'_> {
    type Message = StoredMessage;
    type Error = ErrorType;

    fn peek(&self) -> Result<Option<StoredMessage>, ErrorType> {
        self.store.peek_message(self.recipient_id)
    }

    fn delete_head(&self, msg_id: &MsgId) -> Result<Option<StoredMessage>, ErrorType> {
        self.store.delete_message(self.recipient_id, msg_id)
    }

    fn delete_head_and_peek(
        &self,
        msg_id: &MsgId,
    ) -> Result<(Option<StoredMessage>, Option<StoredMessage>), ErrorType> {
        self.store.delete_and_peek(self.recipient_id, msg_id)
    }

    fn message_id(message: &StoredMessage) -> &MsgId {
        message.msg_id()
    }
}

impl Session {
    fn store_queue<'a>(&'a self, queue: &'a QueueRecord) -> StoreQueue<'a> {
        StoreQueue {
            store: self.state.store.as_ref(),
            recipient_id: &queue.recipient_id,
        }
    }

    /// The answer of GET/ACK as a transmission.
    fn answer(
        &self,
        reply: &Reply<'_>,
        queue: &QueueRecord,
        answer: Result<Answer<StoredMessage>, ErrorType>,
    ) -> Transmission {
        match answer {
            Ok(Answer::Ok) => reply.ok(),
            Ok(Answer::Message(message)) => {
                reply.with(encrypt_message(&queue.rcv_dh_secret, &message))
            }
            Ok(Answer::Prohibited) => reply.err(ErrorType::Cmd(CommandError::Prohibited)),
            Ok(Answer::NoMessage) => reply.err(ErrorType::NoMsg),
            Err(error) => reply.err(error),
        }
    }

    /// SUB: `SOK` (`OK` before v16), then the head message as an event.
    pub(super) fn subscribe(&self, reply: &Reply<'_>, queue: &QueueRecord) -> ResponseAndMessage {
        let had_sub = self
            .client
            .subscriptions()
            .contains_key(&queue.recipient_id);
        let counters = &self.state.stats.counters;
        let outcome = messages::subscribe(
            &self.client,
            &self.state.subscribers,
            &queue.recipient_id,
            &self.store_queue(queue),
            self.now(),
        );
        match outcome {
            Ok((Answer::Prohibited, _)) => {
                counters.q_sub_prohibited.inc();
                (reply.err(ErrorType::Cmd(CommandError::Prohibited)), None)
            }
            Ok((_, head)) => {
                if had_sub {
                    counters.q_sub_duplicate.inc();
                } else if head.is_some() {
                    counters.q_sub.inc();
                }
                subscribed(reply, queue, head)
            }
            Err(error) => (reply.err(error), None),
        }
    }

    /// GET.
    pub(super) fn get_message(&self, reply: &Reply<'_>, queue: &QueueRecord) -> Transmission {
        let redelivery = self
            .client
            .subscriptions()
            .get(&queue.recipient_id)
            .is_some_and(|sub| sub.delivered.is_some());
        let answer = messages::get(
            &self.client,
            &queue.recipient_id,
            &self.store_queue(queue),
            self.now(),
        );
        let counters = &self.state.stats.counters;
        match &answer {
            Ok(Answer::Prohibited) => counters.msg_get_prohibited.inc(),
            Ok(Answer::Message(_)) if redelivery => counters.msg_get_duplicate.inc(),
            Ok(Answer::Message(_)) => counters.msg_get.inc(),
            Ok(_) => counters.msg_get_no_msg.inc(),
            Err(_) => {}
        }
        self.answer(reply, queue, answer)
    }

    /// ACK.
    pub(super) fn acknowledge(
        &self,
        reply: &Reply<'_>,
        queue: &QueueRecord,
        msg_id: &MsgId,
    ) -> Transmission {
        let now = self.now();
        let outcome = messages::acknowledge_message(
            &self.client,
            &queue.recipient_id,
            msg_id,
            &self.store_queue(queue),
            now,
        );
        let answer = outcome.map(|(answer, acknowledged)| {
            if let Some(acknowledged) = acknowledged {
                self.count_received(queue, &acknowledged, now);
            }
            answer
        });
        self.answer(reply, queue, answer)
    }

    /// `acknowledgeMsg: updateStats` for a removed message (quota markers do not count).
    fn count_received(
        &self,
        queue: &QueueRecord,
        acknowledged: &Acknowledged<StoredMessage>,
        now: i64,
    ) {
        let StoredMessage::Message { flags, .. } = &acknowledged.message else {
            return;
        };
        let stats = &self.state.stats;
        let rid = queue.recipient_id.as_bytes();
        stats.counters.msg_recv.inc();
        if acknowledged.get_only {
            stats.counters.msg_recv_get.inc();
        }
        stats.counters.msg_count.sub(1);
        stats.active_queues.record(rid);
        if flags.notification {
            stats.counters.msg_recv_ntf.inc();
            stats.active_queues_ntf.record(rid);
        }
        stats
            .msg_recv_ack_times
            .record(acknowledged.delivered_at, now);
    }

    /// NSUB: the entity (notifier id) is subscribed once per connection; another connection's
    /// subscription ends with `END`.
    pub(super) fn subscribe_notifications(
        &self,
        reply: &Reply<'_>,
        queue: &QueueRecord,
    ) -> Transmission {
        if queue.notifier.is_none() {
            return reply.err(ErrorType::Internal);
        }
        let notifier_id = reply.entity_id;
        let is_new = self.client.ntf_subscriptions().insert(notifier_id.clone());
        let counters = &self.state.stats.counters;
        if is_new {
            self.state
                .ntf_subscribers
                .subscribe(notifier_id, &self.client);
            counters.ntf_sub.inc();
        } else {
            counters.ntf_sub_duplicate.inc();
        }
        reply.with(Response::Sok(None))
    }
}
