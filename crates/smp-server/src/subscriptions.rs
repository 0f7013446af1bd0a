//! The subscription hub: which connection is subscribed to which queue (or notifier id), takeover
//! with `END`, deletion with `DELD`, and the pending-event buffer that a periodic task flushes
//! (`Server.hs: serverThread`, `sendPendingEvtsThread`; `Server/Env/STM.hs: ServerSubscribers`).
//!
//! A queue has at most one subscribed connection. The reference updates its subscriber map in a
//! dedicated thread fed by a queue; this hub applies the same rules synchronously under one lock,
//! which is observably the same for clients (the previous subscriber's record is gone before it can
//! act, and its `END` is only sent at the next flush).
//!
//! Lock order: the hub's maps are locked before a connection's own subscription map (through
//! [`Subscriber::end_subscription`]); connections never call into the hub while holding theirs.

use smp_proto::ids::EntityId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Server-wide connection number (`Server/Env/STM.hs: ClientId`).
pub type ClientId = u64;

/// Which of the two hubs an event or a record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubKind {
    /// Recipients subscribed with SUB (or NEW with subscribe mode); entities are recipient ids.
    Queues,
    /// Notifiers subscribed with NSUB; entities are notifier ids.
    Notifiers,
}

/// An event the hub queues for a connection that lost a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubEvent {
    /// `END`: another connection subscribed to the entity.
    End,
    /// `DELD` (sent as `END` before v10): the entity was deleted by another connection.
    Deleted,
}

/// What the hub needs from a connection.
pub trait Subscriber: Send + Sync {
    fn client_id(&self) -> ClientId;
    /// False once the connection started closing; no new subscriptions are recorded for it.
    fn is_connected(&self) -> bool;
    /// Drops the connection's own record of the subscription (called with the hub lock held).
    fn end_subscription(&self, kind: HubKind, entity: &EntityId);
}

/// Events for one connection: entity and event, in the order they happened.
pub type ClientEvents<C> = (Arc<C>, Vec<(EntityId, HubEvent)>);

/// Events waiting for the next flush, grouped by connection.
pub type PendingEvents<C> = Vec<ClientEvents<C>>;

/// One hub (`ServerSubscribers`): the server has one for queues and one for notifiers.
pub struct SubscriptionHub<C> {
    kind: HubKind,
    subscribers: Mutex<HashMap<EntityId, Arc<C>>>,
    pending: Mutex<HashMap<ClientId, ClientEvents<C>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent at every await-free step, so a panic elsewhere cannot corrupt them.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<C: Subscriber> SubscriptionHub<C> {
    pub fn new(kind: HubKind) -> Self {
        SubscriptionHub {
            kind,
            subscribers: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
        }
    }

    pub fn kind(&self) -> HubKind {
        self.kind
    }

    /// Makes `client` the subscriber of `entity`; a different connected previous subscriber loses
    /// its record and gets `END` at the next flush (`serverThread: updateSubConnected`). A client
    /// that is already disconnected is not recorded, but still ends the previous subscription
    /// (`updateSubDisconnected`).
    pub fn subscribe(&self, entity: &EntityId, client: &Arc<C>) {
        let mut subscribers = lock(&self.subscribers);
        let previous = if client.is_connected() {
            subscribers.insert(entity.clone(), Arc::clone(client))
        } else {
            subscribers.remove(entity)
        };
        if let Some(previous) = previous {
            self.end_other(previous, client.client_id(), entity, HubEvent::End);
        }
    }

    /// The entity was deleted by connection `by`: forget its subscriber; if that is another
    /// connected client it gets `DELD` (`serverThread: CSDeleted`).
    pub fn delete(&self, entity: &EntityId, by: ClientId) {
        let mut subscribers = lock(&self.subscribers);
        if let Some(previous) = subscribers.remove(entity) {
            self.end_other(previous, by, entity, HubEvent::Deleted);
        }
    }

    /// Removes `client`'s subscription to `entity` if it is still the subscriber (on disconnect,
    /// `Server/Env/STM.hs: deleteSubcribedClient`); no event is sent to anybody.
    pub fn unsubscribe(&self, entity: &EntityId, client: ClientId) {
        let mut subscribers = lock(&self.subscribers);
        if subscribers
            .get(entity)
            .is_some_and(|current| current.client_id() == client)
        {
            subscribers.remove(entity);
        }
    }

    /// The current subscriber of `entity`.
    pub fn subscriber(&self, entity: &EntityId) -> Option<Arc<C>> {
        lock(&self.subscribers).get(entity).cloned()
    }

    /// Number of subscribed entities.
    pub fn len(&self) -> usize {
        lock(&self.subscribers).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct connections holding subscriptions (`subClients`).
    pub fn client_count(&self) -> usize {
        self.client_ids().len()
    }

    /// The distinct connections holding subscriptions, in ascending order (`subClients`).
    pub fn client_ids(&self) -> Vec<ClientId> {
        let subscribers = lock(&self.subscribers);
        let mut clients: Vec<ClientId> = subscribers.values().map(|c| c.client_id()).collect();
        clients.sort_unstable();
        clients.dedup();
        clients
    }

    /// Takes every pending event (`sendPendingEvtsThread: sendPending`); the caller sends them
    /// to the connections that are still connected.
    pub fn take_pending(&self) -> PendingEvents<C> {
        let pending = std::mem::take(&mut *lock(&self.pending));
        pending
            .into_values()
            .filter(|(client, _)| client.is_connected())
            .collect()
    }

    fn end_other(&self, previous: Arc<C>, by: ClientId, entity: &EntityId, event: HubEvent) {
        // No event to the connection that caused the change, nor to one that is closing.
        if previous.client_id() == by || !previous.is_connected() {
            return;
        }
        previous.end_subscription(self.kind, entity);
        let mut pending = lock(&self.pending);
        pending
            .entry(previous.client_id())
            .or_insert_with(|| (Arc::clone(&previous), Vec::new()))
            .1
            .push((entity.clone(), event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    struct FakeClient {
        id: ClientId,
        connected: AtomicBool,
        ended: Mutex<Vec<(HubKind, EntityId)>>,
    }

    impl FakeClient {
        fn new(id: ClientId) -> Arc<Self> {
            Arc::new(FakeClient {
                id,
                connected: AtomicBool::new(true),
                ended: Mutex::new(Vec::new()),
            })
        }
    }

    impl Subscriber for FakeClient {
        fn client_id(&self) -> ClientId {
            self.id
        }
        fn is_connected(&self) -> bool {
            self.connected.load(Ordering::SeqCst)
        }
        fn end_subscription(&self, kind: HubKind, entity: &EntityId) {
            self.ended.lock().unwrap().push((kind, entity.clone()));
        }
    }

    fn queue(byte: u8) -> EntityId {
        EntityId::from([byte; 24])
    }

    #[test]
    fn takeover_ends_previous_subscriber_at_flush() {
        let hub = SubscriptionHub::new(HubKind::Queues);
        let (a, b) = (FakeClient::new(1), FakeClient::new(2));
        hub.subscribe(&queue(1), &a);
        hub.subscribe(&queue(1), &a); // resubscribing in the same connection: no event
        assert!(hub.take_pending().is_empty());
        hub.subscribe(&queue(1), &b);
        assert_eq!(hub.subscriber(&queue(1)).map(|c| c.id), Some(2));
        assert_eq!(*a.ended.lock().unwrap(), [(HubKind::Queues, queue(1))]);
        let pending = hub.take_pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].0.id, 1);
        assert_eq!(pending[0].1, [(queue(1), HubEvent::End)]);
        assert!(hub.take_pending().is_empty());
    }

    #[test]
    fn deletion_by_another_connection_sends_deleted() {
        let hub = SubscriptionHub::new(HubKind::Notifiers);
        let (a, b) = (FakeClient::new(1), FakeClient::new(2));
        hub.subscribe(&queue(1), &a);
        hub.delete(&queue(1), b.id);
        assert!(hub.subscriber(&queue(1)).is_none());
        let pending = hub.take_pending();
        assert_eq!(pending[0].1, [(queue(1), HubEvent::Deleted)]);
        assert_eq!(*a.ended.lock().unwrap(), [(HubKind::Notifiers, queue(1))]);
        // deleted by the subscriber itself: silently
        hub.subscribe(&queue(2), &a);
        hub.delete(&queue(2), a.id);
        assert!(hub.take_pending().is_empty());
    }

    #[test]
    fn disconnected_clients_get_no_events_and_are_not_recorded() {
        let hub = SubscriptionHub::new(HubKind::Queues);
        let (a, b) = (FakeClient::new(1), FakeClient::new(2));
        hub.subscribe(&queue(1), &a);
        a.connected.store(false, Ordering::SeqCst);
        hub.subscribe(&queue(1), &b);
        assert!(hub.take_pending().is_empty());
        b.connected.store(false, Ordering::SeqCst);
        hub.subscribe(&queue(3), &b);
        assert!(hub.subscriber(&queue(3)).is_none());
    }

    #[test]
    fn pending_events_of_a_client_that_closed_are_dropped() {
        let hub = SubscriptionHub::new(HubKind::Queues);
        let (a, b) = (FakeClient::new(1), FakeClient::new(2));
        hub.subscribe(&queue(1), &a);
        hub.subscribe(&queue(1), &b);
        a.connected.store(false, Ordering::SeqCst);
        assert!(hub.take_pending().is_empty());
    }

    #[test]
    fn unsubscribe_only_removes_own_record() {
        let hub = SubscriptionHub::new(HubKind::Queues);
        let (a, b) = (FakeClient::new(1), FakeClient::new(2));
        hub.subscribe(&queue(1), &a);
        hub.subscribe(&queue(1), &b);
        hub.unsubscribe(&queue(1), a.id);
        assert_eq!(hub.subscriber(&queue(1)).map(|c| c.id), Some(2));
        hub.unsubscribe(&queue(1), b.id);
        assert!(hub.is_empty());
    }
}
