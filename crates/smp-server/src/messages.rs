//! The "one message in flight per subscription" rules of SUB, GET, ACK and the push after SEND
//! (`Server.hs: subscribeQueueAndDeliver`, `getMessage`, `acknowledgeMsg`, `tryDeliverMessage`;
//! spec §7.3, §7.4).
//!
//! These functions work on one queue's messages through [`QueueMessages`] and on the asking
//! connection's [`Sub`] records; they decide *which* message goes out and leave encryption and
//! encoding to the caller.

use crate::client::{ClientHandle, Delivered, SendJob, Sub, SubMode};
use crate::subscriptions::SubscriptionHub;
use smp_proto::ids::{EntityId, MsgId};
use std::sync::Arc;
use tokio::sync::mpsc::error::TrySendError;

/// The message-store operations the rules need, for one queue (`MsgStoreClass: tryPeekMsg`,
/// `tryDelMsg`, `tryDelPeekMsg`). `E` is the store's error, answered as `ERR`.
pub trait QueueMessages {
    type Message;
    type Error;
    /// The head message.
    fn peek(&self) -> Result<Option<Self::Message>, Self::Error>;
    /// Deletes the head if its id is `msg_id`; returns it.
    fn delete_head(&self, msg_id: &MsgId) -> Result<Option<Self::Message>, Self::Error>;
    /// Deletes the head if its id is `msg_id`, then returns (deleted, new head); when the id
    /// does not match: (None, current head).
    #[allow(clippy::type_complexity)]
    fn delete_head_and_peek(
        &self,
        msg_id: &MsgId,
    ) -> Result<(Option<Self::Message>, Option<Self::Message>), Self::Error>;
    /// The id of a message.
    fn message_id(message: &Self::Message) -> &MsgId;
}

/// What a recipient command answers with.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<M> {
    /// `OK` (or `SOK` for SUB).
    Ok,
    /// `MSG` with the command's correlation id (GET, ACK).
    Message(M),
    /// `ERR CMD PROHIBITED`.
    Prohibited,
    /// `ERR NO_MSG`.
    NoMessage,
}

/// The answer to SUB and the message to send as an event after it.
pub type SubscribeOutcome<M> = (Answer<M>, Option<M>);

/// SUB in connection `client` (`subscribeQueueAndDeliver`): the answer, and the message to send
/// as an event right after it. A first SUB registers the connection in `hub` (taking the queue
/// over from another connection); a repeated SUB clears the delivered slot and re-delivers the
/// head; SUB after GET in the same connection is prohibited.
pub fn subscribe<Q: QueueMessages>(
    client: &Arc<ClientHandle>,
    hub: &SubscriptionHub<ClientHandle>,
    recipient_id: &EntityId,
    queue: &Q,
    now: i64,
) -> Result<SubscribeOutcome<Q::Message>, Q::Error> {
    let is_new = {
        let mut subscriptions = client.subscriptions();
        match subscriptions.get_mut(recipient_id) {
            None => {
                subscriptions.insert(recipient_id.clone(), Sub::subscribed());
                true
            }
            Some(Sub {
                mode: SubMode::GetOnly,
                ..
            }) => return Ok((Answer::Prohibited, None)),
            Some(sub) => {
                sub.delivered = None;
                false
            }
        }
    };
    if is_new {
        hub.subscribe(recipient_id, client);
    }
    let head = queue.peek()?;
    if let Some(message) = &head {
        set_delivered(client, recipient_id, Q::message_id(message), now);
    }
    Ok((Answer::Ok, head))
}

/// GET (`getMessage`): the head message (marked delivered) or `OK` when empty. The first GET
/// records the queue as GET-only in this connection (never a subscriber); GET on a subscribed
/// queue is prohibited.
pub fn get<Q: QueueMessages>(
    client: &ClientHandle,
    recipient_id: &EntityId,
    queue: &Q,
    now: i64,
) -> Result<Answer<Q::Message>, Q::Error> {
    {
        let mut subscriptions = client.subscriptions();
        match subscriptions.get_mut(recipient_id) {
            None => {
                subscriptions.insert(recipient_id.clone(), Sub::get_only());
            }
            Some(
                sub @ Sub {
                    mode: SubMode::GetOnly,
                    ..
                },
            ) => sub.delivered = None,
            Some(_) => return Ok(Answer::Prohibited),
        }
    }
    Ok(match queue.peek()? {
        Some(message) => {
            set_delivered(client, recipient_id, Q::message_id(&message), now);
            Answer::Message(message)
        }
        None => Answer::Ok,
    })
}

/// A message removed by ACK, for statistics (`acknowledgeMsg: updateStats`).
#[derive(Debug, PartialEq, Eq)]
pub struct Acknowledged<M> {
    pub message: M,
    /// When it was delivered (seconds since the epoch).
    pub delivered_at: i64,
    /// Acknowledged in GET mode.
    pub get_only: bool,
}

/// The answer to ACK and the message it removed.
pub type AckOutcome<M> = (Answer<M>, Option<Acknowledged<M>>);

/// ACK (`acknowledgeMsg`): `NO_MSG` unless `msg_id` is the delivered message (an empty id
/// matches any delivered message). Then the head is deleted if its id matches, and in
/// subscription mode the next head is delivered as the answer.
pub fn acknowledge<Q: QueueMessages>(
    client: &ClientHandle,
    recipient_id: &EntityId,
    msg_id: &MsgId,
    queue: &Q,
    now: i64,
) -> Result<Answer<Q::Message>, Q::Error> {
    acknowledge_message(client, recipient_id, msg_id, queue, now).map(|(answer, _)| answer)
}

/// [`acknowledge`], also returning the deleted message.
pub fn acknowledge_message<Q: QueueMessages>(
    client: &ClientHandle,
    recipient_id: &EntityId,
    msg_id: &MsgId,
    queue: &Q,
    now: i64,
) -> Result<AckOutcome<Q::Message>, Q::Error> {
    let (mode, delivered_at) = {
        let mut subscriptions = client.subscriptions();
        let Some(sub) = subscriptions.get_mut(recipient_id) else {
            return Ok((Answer::NoMessage, None));
        };
        match &sub.delivered {
            Some(delivered) if msg_id.is_empty() || delivered.msg_id == *msg_id => {
                let at = delivered.at;
                sub.delivered = None;
                (sub.mode, at)
            }
            _ => return Ok((Answer::NoMessage, None)),
        }
    };
    let get_only = mode == SubMode::GetOnly;
    let acknowledged = |message| Acknowledged {
        message,
        delivered_at,
        get_only,
    };
    if get_only {
        let deleted = queue.delete_head(msg_id)?;
        return Ok((Answer::Ok, deleted.map(acknowledged)));
    }
    let (deleted, next) = queue.delete_head_and_peek(msg_id)?;
    let answer = match next {
        Some(message) => {
            set_delivered(client, recipient_id, Q::message_id(&message), now);
            Answer::Message(message)
        }
        None => Answer::Ok,
    };
    Ok((answer, deleted.map(acknowledged)))
}

fn set_delivered(client: &ClientHandle, recipient_id: &EntityId, msg_id: &MsgId, now: i64) {
    if let Some(sub) = client.subscriptions().get_mut(recipient_id) {
        sub.delivered = Some(Delivered {
            msg_id: msg_id.clone(),
            at: now,
        });
    }
}

/// Whether a message just written to an empty queue would be pushed now: there is a
/// subscriber whose record is a subscription with nothing delivered and no push pending.
/// Returns the subscriber so the caller can encrypt and encode for its version.
pub fn push_target(
    hub: &SubscriptionHub<ClientHandle>,
    recipient_id: &EntityId,
) -> Option<Arc<ClientHandle>> {
    let subscriber = hub.subscriber(recipient_id)?;
    let ready = subscriber
        .subscriptions()
        .get(recipient_id)
        .is_some_and(is_idle);
    ready.then_some(subscriber)
}

fn is_idle(sub: &Sub) -> bool {
    sub.delivered.is_none()
        && sub.mode
            == SubMode::Subscribed {
                push_pending: false,
            }
}

/// Pushes `encoded` (`MSG` event of message `msg_id`) to `subscriber` after a SEND
/// (`tryDeliverMessage`): only if it is still the queue's subscriber with nothing delivered. If
/// its send queue is full, a task waits for room and re-checks before sending.
pub fn push(
    hub: &Arc<SubscriptionHub<ClientHandle>>,
    subscriber: Arc<ClientHandle>,
    recipient_id: &EntityId,
    msg_id: &MsgId,
    encoded: Vec<u8>,
    now: i64,
) {
    let mut subscriptions = subscriber.subscriptions();
    let Some(sub) = subscriptions.get_mut(recipient_id) else {
        return;
    };
    if !is_idle(sub) {
        return;
    }
    match subscriber.send_jobs().try_send(SendJob::of(vec![encoded])) {
        Ok(()) => {
            sub.delivered = Some(Delivered {
                msg_id: msg_id.clone(),
                at: now,
            })
        }
        Err(TrySendError::Closed(_)) => {}
        Err(TrySendError::Full(job)) => {
            sub.mode = SubMode::Subscribed { push_pending: true };
            drop(subscriptions);
            let hub = Arc::clone(hub);
            let recipient_id = recipient_id.clone();
            let msg_id = msg_id.clone();
            tokio::spawn(async move {
                let Ok(permit) = subscriber.send_jobs().reserve().await else {
                    return;
                };
                let same = hub
                    .subscriber(&recipient_id)
                    .is_some_and(|current| Arc::ptr_eq(&current, &subscriber));
                let mut subscriptions = subscriber.subscriptions();
                if let Some(sub) = subscriptions.get_mut(&recipient_id) {
                    if same && sub.delivered.is_none() {
                        permit.send(job);
                        sub.delivered = Some(Delivered { msg_id, at: now });
                    }
                    if let SubMode::Subscribed { push_pending } = &mut sub.mode {
                        *push_pending = false;
                    }
                }
            });
        }
    }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
