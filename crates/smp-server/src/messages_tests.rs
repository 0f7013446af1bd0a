//! Tests of the delivery rules, replaying the reference's `tests/ServerTests.hs` scenarios
//! (`testGetSubCommands`, `testGetCommand`, `testSwitchSub`) in-process.

use super::*;
use crate::subscriptions::{HubKind, Subscriber};
use std::cell::RefCell;
use std::collections::VecDeque;
use tokio::sync::mpsc;

#[derive(Default)]
struct FakeQueue {
    messages: RefCell<VecDeque<MsgId>>,
}

impl FakeQueue {
    fn with(ids: &[u8]) -> Self {
        let queue = FakeQueue::default();
        for id in ids {
            queue.messages.borrow_mut().push_back(msg(*id));
        }
        queue
    }
}

impl QueueMessages for FakeQueue {
    type Message = MsgId;
    type Error = ();
    fn peek(&self) -> Result<Option<MsgId>, ()> {
        Ok(self.messages.borrow().front().cloned())
    }
    fn delete_head(&self, msg_id: &MsgId) -> Result<Option<MsgId>, ()> {
        let mut messages = self.messages.borrow_mut();
        if messages.front() == Some(msg_id) {
            return Ok(messages.pop_front());
        }
        Ok(None)
    }
    fn delete_head_and_peek(&self, msg_id: &MsgId) -> Result<(Option<MsgId>, Option<MsgId>), ()> {
        let deleted = self.delete_head(msg_id)?;
        Ok((deleted, self.peek()?))
    }
    fn message_id(message: &MsgId) -> &MsgId {
        message
    }
}

fn msg(byte: u8) -> MsgId {
    MsgId::from([byte; 24])
}

fn rid() -> EntityId {
    EntityId::from([42; 24])
}

fn client(id: u64, capacity: usize) -> (Arc<ClientHandle>, mpsc::Receiver<SendJob>) {
    let (sender, receiver) = mpsc::channel(capacity);
    (Arc::new(ClientHandle::new(id, 18, sender)), receiver)
}

fn hub() -> Arc<SubscriptionHub<ClientHandle>> {
    Arc::new(SubscriptionHub::new(HubKind::Queues))
}

#[test]
fn get_and_sub_in_two_connections() {
    // ServerTests.hs: testGetSubCommands
    let hub = hub();
    let queue = FakeQueue::with(&[1, 2, 3, 4]);
    let (subscriber, _rx1) = client(1, 8);
    let (getter, _rx2) = client(2, 8);
    assert_eq!(
        subscribe(&subscriber, &hub, &rid(), &queue, 0),
        Ok((Answer::Ok, Some(msg(1))))
    );
    assert_eq!(get(&getter, &rid(), &queue, 0), Ok(Answer::Message(msg(1))));
    // subscriber cannot GET, getter cannot SUB
    assert_eq!(get(&subscriber, &rid(), &queue, 0), Ok(Answer::Prohibited));
    assert_eq!(
        subscribe(&getter, &hub, &rid(), &queue, 0),
        Ok((Answer::Prohibited, None))
    );
    // ACK for SUB delivers the next message
    assert_eq!(
        acknowledge(&subscriber, &rid(), &msg(1), &queue, 0),
        Ok(Answer::Message(msg(2)))
    );
    // bad msgId
    assert_eq!(
        acknowledge(&getter, &rid(), &msg(99), &queue, 0),
        Ok(Answer::NoMessage)
    );
    // already deleted by the subscriber, still OK when the id matches the delivered one
    assert_eq!(
        acknowledge(&getter, &rid(), &msg(1), &queue, 0),
        Ok(Answer::Ok)
    );
    assert_eq!(get(&getter, &rid(), &queue, 0), Ok(Answer::Message(msg(2))));
    // getter ACK answers OK even with a next message
    assert_eq!(
        acknowledge(&getter, &rid(), &msg(2), &queue, 0),
        Ok(Answer::Ok)
    );
    assert_eq!(get(&getter, &rid(), &queue, 0), Ok(Answer::Message(msg(3))));
    // subscriber's ACK of the message the getter deleted re-delivers the head
    assert_eq!(
        acknowledge(&subscriber, &rid(), &msg(2), &queue, 0),
        Ok(Answer::Message(msg(3)))
    );
    assert_eq!(
        acknowledge(&subscriber, &rid(), &msg(3), &queue, 0),
        Ok(Answer::Message(msg(4)))
    );
    assert_eq!(
        acknowledge(&subscriber, &rid(), &msg(4), &queue, 0),
        Ok(Answer::Ok)
    );
    assert_eq!(get(&getter, &rid(), &queue, 0), Ok(Answer::Ok));
}

#[test]
fn ack_without_delivery_or_subscription_is_no_msg() {
    let hub = hub();
    let queue = FakeQueue::with(&[1]);
    let (connection, _rx) = client(1, 8);
    assert_eq!(
        acknowledge(&connection, &rid(), &msg(1), &queue, 0),
        Ok(Answer::NoMessage)
    );
    let empty = FakeQueue::default();
    assert_eq!(
        subscribe(&connection, &hub, &rid(), &empty, 0),
        Ok((Answer::Ok, None))
    );
    assert_eq!(
        acknowledge(&connection, &rid(), &msg(1), &queue, 0),
        Ok(Answer::NoMessage)
    );
    assert_eq!(queue.messages.borrow().len(), 1);
}

#[test]
fn repeated_get_returns_the_same_head_and_empty_ack_matches_any() {
    // ServerTests.hs: testGetCommand; spec §7.3 note on an empty msgId
    let queue = FakeQueue::with(&[1, 2]);
    let (connection, _rx) = client(1, 8);
    assert_eq!(
        get(&connection, &rid(), &queue, 0),
        Ok(Answer::Message(msg(1)))
    );
    assert_eq!(
        get(&connection, &rid(), &queue, 0),
        Ok(Answer::Message(msg(1)))
    );
    assert_eq!(
        acknowledge(&connection, &rid(), &MsgId::empty(), &queue, 0),
        Ok(Answer::Ok)
    );
    assert_eq!(queue.messages.borrow().len(), 2);
}

#[test]
fn duplicate_sub_redelivers_the_head() {
    let hub = hub();
    let queue = FakeQueue::with(&[1]);
    let (connection, _rx) = client(1, 8);
    assert_eq!(
        subscribe(&connection, &hub, &rid(), &queue, 0),
        Ok((Answer::Ok, Some(msg(1))))
    );
    assert_eq!(
        subscribe(&connection, &hub, &rid(), &queue, 5),
        Ok((Answer::Ok, Some(msg(1))))
    );
    assert_eq!(
        connection.subscriptions()[&rid()].delivered,
        Some(Delivered {
            msg_id: msg(1),
            at: 5
        })
    );
}

#[test]
fn takeover_removes_the_old_record_so_its_ack_is_no_msg() {
    // ServerTests.hs: testSwitchSub
    let hub = hub();
    let queue = FakeQueue::with(&[1]);
    let (first, _rx1) = client(1, 8);
    let (second, _rx2) = client(2, 8);
    subscribe(&first, &hub, &rid(), &queue, 0).unwrap();
    subscribe(&second, &hub, &rid(), &queue, 0).unwrap();
    assert_eq!(
        acknowledge(&first, &rid(), &msg(1), &queue, 0),
        Ok(Answer::NoMessage)
    );
    let pending = hub.take_pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0.client_id(), 1);
}

#[tokio::test]
async fn push_only_to_an_idle_subscription() {
    let hub = hub();
    let empty = FakeQueue::default();
    let (connection, mut rx) = client(1, 8);
    assert!(push_target(&hub, &rid()).is_none());
    subscribe(&connection, &hub, &rid(), &empty, 0).unwrap();
    let target = push_target(&hub, &rid()).unwrap();
    push(&hub, target, &rid(), &msg(1), b"MSG 1".to_vec(), 3);
    assert_eq!(rx.recv().await, Some(SendJob::of(vec![b"MSG 1".to_vec()])));
    // one message in flight: no second push until ACK
    assert!(push_target(&hub, &rid()).is_none());
    push(
        &hub,
        Arc::clone(&connection),
        &rid(),
        &msg(2),
        b"MSG 2".to_vec(),
        3,
    );
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn push_waits_for_room_when_the_send_queue_is_full() {
    let hub = hub();
    let empty = FakeQueue::default();
    let (connection, mut rx) = client(1, 1);
    subscribe(&connection, &hub, &rid(), &empty, 0).unwrap();
    connection.send_jobs().try_send(SendJob::default()).unwrap();
    push(
        &hub,
        Arc::clone(&connection),
        &rid(),
        &msg(1),
        b"MSG".to_vec(),
        0,
    );
    assert_eq!(
        connection.subscriptions()[&rid()].mode,
        SubMode::Subscribed { push_pending: true }
    );
    assert_eq!(rx.recv().await, Some(SendJob::default()));
    assert_eq!(rx.recv().await, Some(SendJob::of(vec![b"MSG".to_vec()])));
    tokio::task::yield_now().await;
    let sub = connection.subscriptions()[&rid()].clone();
    assert_eq!(
        sub.mode,
        SubMode::Subscribed {
            push_pending: false
        }
    );
    assert_eq!(sub.delivered.map(|d| d.msg_id), Some(msg(1)));
}
