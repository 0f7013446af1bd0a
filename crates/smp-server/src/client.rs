//! Per-connection state shared with the rest of the server (`Server/Env/STM.hs: Client`): the
//! connection's subscriptions with their "delivered" slots, its notifier subscriptions, and the
//! bounded channel to its writer.
//!
//! Everything that goes to the writer is an already encoded transmission (the producer knows the
//! connection's version), so pushes from other connections, pending `END`/`DELD` events and `NMSG`
//! batches all travel through the same [`SendJob`] channel as command responses.

use crate::subscriptions::{ClientId, HubKind, Subscriber};
use smp_proto::ids::{EntityId, MsgId};
use smp_proto::transmission::TransmissionParams;
use smp_proto::version::Version;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc;

/// One encoded server transmission (`authorization = 00`, corrId, entityId, message).
pub type EncodedTransmission = Vec<u8>;

/// One unit of work for the writer (`Server.hs: sndQ` item): transmissions to send together, and
/// messages that follow them (`MSG` events caused by SUB commands of the same group).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendJob {
    pub transmissions: Vec<EncodedTransmission>,
    pub deliveries: Vec<EncodedTransmission>,
}

impl SendJob {
    /// A job of transmissions only.
    pub fn of(transmissions: Vec<EncodedTransmission>) -> Self {
        SendJob {
            transmissions,
            deliveries: Vec::new(),
        }
    }
}

/// Subscription record of one queue in one connection (`Server/Env/STM.hs: Sub`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sub {
    pub mode: SubMode,
    /// The message delivered and not yet acknowledged, with the time it was delivered.
    pub delivered: Option<Delivered>,
}

impl Sub {
    pub fn subscribed() -> Self {
        Sub {
            mode: SubMode::Subscribed {
                push_pending: false,
            },
            delivered: None,
        }
    }

    pub fn get_only() -> Self {
        Sub {
            mode: SubMode::GetOnly,
            delivered: None,
        }
    }
}

/// How the connection uses the queue (`ServerSub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubMode {
    /// SUB (or NEW with subscribe mode); `push_pending` while a push waits for room in the
    /// connection's send queue (`SubPending` / `SubThread`).
    Subscribed { push_pending: bool },
    /// GET was used: no pushes, SUB prohibited (`ProhibitSub`).
    GetOnly,
}

/// A delivered, unacknowledged message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub msg_id: MsgId,
    /// Seconds since the epoch.
    pub at: i64,
}

/// When a connection started and last received and sent a block, in epoch seconds
/// (`Client.createdAt`, `rcvActiveAt`, `sndActiveAt`; the control port's `clients` report and
/// the inactive-client check read them).
#[derive(Debug, Default)]
pub struct ClientActivity {
    pub created_at: AtomicI64,
    pub last_received: Arc<AtomicI64>,
    pub last_sent: Arc<AtomicI64>,
}

impl ClientActivity {
    /// Sets all three times to `now` (when the connection is established).
    pub fn start(&self, now: i64) {
        for time in [&self.created_at, &*self.last_received, &*self.last_sent] {
            time.store(now, Ordering::Relaxed);
        }
    }
}

/// The shared half of a connection.
#[derive(Debug)]
pub struct ClientHandle {
    id: ClientId,
    params: TransmissionParams,
    connected: AtomicBool,
    subscriptions: Mutex<HashMap<EntityId, Sub>>,
    ntf_subscriptions: Mutex<HashSet<EntityId>>,
    send_jobs: mpsc::Sender<SendJob>,
    activity: ClientActivity,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Critical sections do single map operations, so a poisoned lock still holds a valid map.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ClientHandle {
    /// A connected client with negotiated `version`, whose writer reads `send_jobs`.
    pub fn new(id: ClientId, version: u16, send_jobs: mpsc::Sender<SendJob>) -> Self {
        ClientHandle::for_connection(
            id,
            TransmissionParams::new(Version(version), Vec::new()),
            send_jobs,
        )
    }

    /// A connected client with the transmission parameters of its connection (version and
    /// session id decide how events to it are encoded).
    pub fn for_connection(
        id: ClientId,
        params: TransmissionParams,
        send_jobs: mpsc::Sender<SendJob>,
    ) -> Self {
        ClientHandle {
            id,
            params,
            connected: AtomicBool::new(true),
            subscriptions: Mutex::new(HashMap::new()),
            ntf_subscriptions: Mutex::new(HashSet::new()),
            send_jobs,
            activity: ClientActivity::default(),
        }
    }

    pub fn id(&self) -> ClientId {
        self.id
    }

    /// Negotiated SMP version of the connection.
    pub fn version(&self) -> u16 {
        self.params.version.0
    }

    /// How transmissions to this connection are encoded.
    pub fn params(&self) -> &TransmissionParams {
        &self.params
    }

    /// Whether the connection holds any subscription that keeps it from being dropped as
    /// inactive (SUB or NSUB; GET-only records do not count — `Server.hs: noSubscriptions`).
    pub fn has_subscriptions(&self) -> bool {
        let subscribed = lock(&self.subscriptions)
            .values()
            .any(|sub| matches!(sub.mode, SubMode::Subscribed { .. }));
        subscribed || !lock(&self.ntf_subscriptions).is_empty()
    }

    /// Marks the connection closed: the hubs stop recording subscriptions for it and no events
    /// are queued to it any more.
    pub fn disconnect(&self) {
        self.connected.store(false, Ordering::SeqCst);
    }

    /// The connection's subscription records (lock; keep the critical section short).
    pub fn subscriptions(&self) -> MutexGuard<'_, HashMap<EntityId, Sub>> {
        lock(&self.subscriptions)
    }

    /// The connection's notifier subscriptions.
    pub fn ntf_subscriptions(&self) -> MutexGuard<'_, HashSet<EntityId>> {
        lock(&self.ntf_subscriptions)
    }

    /// Removes and returns all subscriptions (on disconnect).
    pub fn take_subscriptions(&self) -> (Vec<EntityId>, Vec<EntityId>) {
        let queues = std::mem::take(&mut *lock(&self.subscriptions));
        let notifiers = std::mem::take(&mut *lock(&self.ntf_subscriptions));
        (
            queues.into_keys().collect(),
            notifiers.into_iter().collect(),
        )
    }

    /// Connection and traffic times.
    pub fn activity(&self) -> &ClientActivity {
        &self.activity
    }

    /// The writer's job channel.
    pub fn send_jobs(&self) -> &mpsc::Sender<SendJob> {
        &self.send_jobs
    }
}

impl Subscriber for ClientHandle {
    fn client_id(&self) -> ClientId {
        self.id
    }

    fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    fn end_subscription(&self, kind: HubKind, entity: &EntityId) {
        match kind {
            HubKind::Queues => {
                lock(&self.subscriptions).remove(entity);
            }
            HubKind::Notifiers => {
                lock(&self.ntf_subscriptions).remove(entity);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ending_a_subscription_removes_the_record() {
        let (sender, _receiver) = mpsc::channel(1);
        let client = ClientHandle::new(7, 18, sender);
        let queue = EntityId::from([1; 24]);
        client
            .subscriptions()
            .insert(queue.clone(), Sub::subscribed());
        client.ntf_subscriptions().insert(queue.clone());
        client.end_subscription(HubKind::Queues, &queue);
        assert!(client.subscriptions().is_empty());
        assert_eq!(client.ntf_subscriptions().len(), 1);
        client.end_subscription(HubKind::Notifiers, &queue);
        assert!(client.ntf_subscriptions().is_empty());
        assert!(client.is_connected());
        client.disconnect();
        assert!(!client.is_connected());
    }
}
