//! Server-wide shared state (`Server/Env/STM.hs: Env`, `Server`): settings, the two subscription
//! hubs, pending notifications, the connection counter, and the injected clock and random
//! source; and the periodic tasks that work on them.
//!
//! One `Arc<ServerState>` is shared by every connection. Locks inside are short and never held
//! across `.await`.

use crate::client::ClientHandle;
use crate::clock::{Clock, Random, SystemClock};
use crate::listener::SocketCounters;
use crate::notifications::{MsgNtf, NtfStore};
use crate::periodic::{deliver_notifications, flush_pending_events};
use crate::proxy::{ProxyAgent, ProxySettings};
use crate::stats::metrics::{LoadedQueueCounts, RealTimeMetrics, SubscriberMetrics};
use crate::stats::{ServerStats, TimeBuckets};
use crate::store::backend::StoreBackend;
use crate::store::Store;
use crate::subscriptions::{ClientId, HubEvent, HubKind, SubscriptionHub};
use smp_proto::ids::EntityId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Messages a queue holds before `ERR QUOTA` (`defaultMsgQueueQuota`).
pub const DEFAULT_QUOTA: usize = 128;

/// Time to live and check interval of an expiring store (`Server/Env/STM.hs: ExpirationConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiration {
    pub ttl: Duration,
    pub check_interval: Duration,
}

/// Behaviour settings of command processing (typed from the INI by the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// `[AUTH] new_queues` (`allowNewQueues`): when off every NEW gets `ERR AUTH`.
    pub allow_new_queues: bool,
    /// `[AUTH] create_password` (`newQueueBasicAuth`): NEW must carry exactly this password.
    pub create_password: Option<Vec<u8>>,
    /// How often pending `END`/`DELD` events are sent (`pendingENDInterval`, 15 s).
    pub pending_events_interval: Duration,
    /// How often `NMSG` notifications are delivered (`ntfDeliveryInterval`, 1.5 s).
    pub ntf_delivery_interval: Duration,
    /// Message expiry (`[STORE_LOG] expire_messages_days`; 21 days, checked every 2 h); `None`
    /// disables it.
    pub message_expiration: Option<Expiration>,
    /// Also expire a queue's old messages on every SEND (`expire_messages_on_send`).
    pub expire_messages_on_send: bool,
    /// Notification expiry (`defaultNtfExpiration`: 24 h, checked hourly).
    pub ntf_expiration: Expiration,
    /// Disconnect clients without subscriptions after this long without traffic
    /// (`[INACTIVE_CLIENTS]`); `None` keeps them.
    pub inactive_clients: Option<Expiration>,
    /// Whether this server acts as an SMP proxy for PRXY/PFWD (`allowSMPProxy`; `start` turns
    /// it on, as the reference always does). Off: PRXY is answered `ERR PROXY BASIC_AUTH`.
    pub allow_smp_proxy: bool,
    /// How the proxy role reaches destination relays (`[PROXY]`).
    pub proxy: ProxySettings,
    /// Capacity of each connection's channels, in jobs (`tbqSize`, 128).
    pub queue_size: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            allow_new_queues: true,
            create_password: None,
            pending_events_interval: Duration::from_secs(15),
            ntf_delivery_interval: Duration::from_millis(1500),
            message_expiration: Some(Expiration {
                ttl: Duration::from_secs(21 * 86_400),
                check_interval: Duration::from_secs(7_200),
            }),
            expire_messages_on_send: false,
            ntf_expiration: Expiration {
                ttl: Duration::from_secs(24 * 3_600),
                check_interval: Duration::from_secs(3_600),
            },
            inactive_clients: None,
            allow_smp_proxy: false,
            proxy: ProxySettings::default(),
            queue_size: 128,
        }
    }
}

/// Encodes the server events the periodic tasks send, for a given connection (its version and
/// session decide the bytes).
pub trait EventEncoder: Send + Sync + 'static {
    /// `END` or `DELD` (`END` before v10) with an empty correlation id.
    fn hub_event(&self, client: &ClientHandle, entity: &EntityId, event: HubEvent) -> Vec<u8>;
    /// `NMSG nonce encryptedMeta` with an empty correlation id, entity = notifier id.
    fn notification(&self, client: &ClientHandle, notifier_id: &EntityId, ntf: &MsgNtf) -> Vec<u8>;
}

/// The shared server state.
pub struct ServerState {
    pub settings: ServerSettings,
    /// Queues and messages.
    pub store: Arc<dyn Store>,
    /// Recipients subscribed with SUB (`subscribers`).
    pub subscribers: Arc<SubscriptionHub<ClientHandle>>,
    /// Notifiers subscribed with NSUB (`ntfSubscribers`).
    pub ntf_subscribers: Arc<SubscriptionHub<ClientHandle>>,
    pub notifications: NtfStore,
    /// Counters for the stats log and metrics (`serverStats`).
    pub stats: Arc<ServerStats>,
    pub clock: Arc<dyn Clock>,
    pub random: Random,
    /// Connections to destination relays of the proxy role (`proxyAgent`).
    pub proxy: Arc<ProxyAgent>,
    next_client_id: AtomicU64,
    /// Connections being served (`Server.clients`).
    clients: Mutex<HashMap<ClientId, Arc<ClientHandle>>>,
    /// Listening ports' socket counters (`Env.sockets`).
    sockets: Mutex<Vec<(String, Arc<SocketCounters>)>>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ServerState {
    /// Production state: system clock, OS-seeded random source.
    pub fn new(settings: ServerSettings) -> Self {
        ServerState::with(settings, Arc::new(SystemClock), Random::from_entropy())
    }

    /// State with an injected clock and random source (tests).
    pub fn with(settings: ServerSettings, clock: Arc<dyn Clock>, random: Random) -> Self {
        let store = Arc::new(StoreBackend::new(DEFAULT_QUOTA, Arc::clone(&clock)));
        let proxy = Arc::new(ProxyAgent::new(settings.proxy.clone()));
        ServerState {
            settings,
            store,
            subscribers: Arc::new(SubscriptionHub::new(HubKind::Queues)),
            ntf_subscribers: Arc::new(SubscriptionHub::new(HubKind::Notifiers)),
            notifications: NtfStore::new(),
            stats: Arc::new(ServerStats::new(clock.now())),
            clock,
            random,
            proxy,
            next_client_id: AtomicU64::new(0),
            clients: Mutex::new(HashMap::new()),
            sockets: Mutex::new(Vec::new()),
        }
    }

    /// Replaces the store (before serving).
    pub fn with_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// A fresh connection number (`clientSeq`).
    pub fn next_client_id(&self) -> ClientId {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Records a served connection until [`ServerState::client_disconnected`]
    /// (`insertServerClient`).
    pub fn register_client(&self, client: &Arc<ClientHandle>) {
        self.clients_map().insert(client.id(), Arc::clone(client));
    }

    /// Records the listeners' socket counters for the metrics.
    pub fn set_socket_counters(&self, sockets: Vec<(String, Arc<SocketCounters>)>) {
        *self.sockets.lock().unwrap_or_else(PoisonError::into_inner) = sockets;
    }

    /// The connections being served, by connection number (`getServerClients`).
    pub fn clients(&self) -> Vec<Arc<ClientHandle>> {
        let mut clients: Vec<Arc<ClientHandle>> = self.clients_map().values().cloned().collect();
        clients.sort_by_key(|client| client.id());
        clients
    }

    /// Socket counters of each listening port (`Env.sockets`, `getSocketStats`).
    pub fn socket_stats(&self) -> Vec<(String, crate::stats::metrics::SocketStats)> {
        self.sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(port, counters)| (port.clone(), counters.snapshot()))
            .collect()
    }

    fn clients_map(&self) -> MutexGuard<'_, HashMap<ClientId, Arc<ClientHandle>>> {
        // Single map operations: a poisoned lock still holds a valid map.
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Live figures for the metrics file (`Server.hs: getRealTimeMetrics`): connections,
    /// subscriptions with an unacknowledged delivery and their ages, subscribers of both hubs.
    pub fn real_time_metrics(&self) -> RealTimeMetrics {
        let clients: Vec<Arc<ClientHandle>> = self.clients_map().values().cloned().collect();
        let now = self.clock.seconds();
        let mut delivered_subs = SubscriberMetrics::default();
        let mut delivered_times = TimeBuckets::default();
        for client in &clients {
            let mut count = 0;
            for sub in client.subscriptions().values() {
                if let Some(delivered) = &sub.delivered {
                    count += 1;
                    delivered_times.add(delivered.at, now);
                }
            }
            if count > 0 {
                delivered_subs.subs_count += count;
                delivered_subs.sub_clients_count += 1;
            }
        }
        let hub_metrics = |hub: &SubscriptionHub<ClientHandle>| SubscriberMetrics {
            subs_count: i64::try_from(hub.len()).unwrap_or(i64::MAX),
            sub_clients_count: i64::try_from(hub.client_count()).unwrap_or(i64::MAX),
            sub_services_count: 0,
        };
        let threads_count = tokio::runtime::Handle::try_current()
            .map_or(0, |runtime| runtime.metrics().num_workers());
        RealTimeMetrics {
            socket_stats: self.socket_stats(),
            threads_count: i64::try_from(threads_count).unwrap_or(0),
            clients_count: i64::try_from(clients.len()).unwrap_or(i64::MAX),
            delivered_subs,
            delivered_times,
            smp_subs: hub_metrics(&self.subscribers),
            ntf_subs: hub_metrics(&self.ntf_subscribers),
            loaded_counts: LoadedQueueCounts::default(),
        }
    }

    /// Forgets a closed connection's subscriptions without any event to anybody
    /// (`Server.hs: clientDisconnected`).
    pub fn client_disconnected(&self, client: &ClientHandle) {
        client.disconnect();
        self.clients_map().remove(&client.id());
        let (queues, notifiers) = client.take_subscriptions();
        for queue in &queues {
            self.subscribers.unsubscribe(queue, client.id());
        }
        for notifier in &notifiers {
            self.ntf_subscribers.unsubscribe(notifier, client.id());
        }
    }

    /// Runs the periodic event tasks until `shutdown`: pending `END`/`DELD` flush, `NMSG`
    /// delivery, and notification expiry.
    pub async fn run_event_tasks(
        self: Arc<Self>,
        encoder: Arc<dyn EventEncoder>,
        shutdown: CancellationToken,
    ) {
        let mut pending = tokio::time::interval(self.settings.pending_events_interval);
        let mut ntfs = tokio::time::interval(self.settings.ntf_delivery_interval);
        let mut ntf_expiry = tokio::time::interval(self.settings.ntf_expiration.check_interval);
        for timer in [&mut pending, &mut ntfs, &mut ntf_expiry] {
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        // The first tick of an interval is immediate; every task first waits one interval
        // (`sendPendingEvtsThread`, `deliverNtfsThread`, `expireNtfsThread`).
        pending.tick().await;
        ntfs.tick().await;
        ntf_expiry.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = pending.tick() => {
                    for hub in [&self.subscribers, &self.ntf_subscribers] {
                        let count = flush_pending_events(hub, &self.stats, |client, entity, event| {
                            encoder.hub_event(client, entity, event)
                        });
                        if count > 0 {
                            tracing::debug!(count, "sent pending subscription events");
                        }
                    }
                }
                _ = ntfs.tick() => {
                    deliver_notifications(&self.notifications, &self.ntf_subscribers, &self.stats, |client, id, ntf| {
                        encoder.notification(client, id, ntf)
                    });
                }
                _ = ntf_expiry.tick() => {
                    let ttl = i64::try_from(self.settings.ntf_expiration.ttl.as_secs()).unwrap_or(i64::MAX);
                    let expired = self.notifications.delete_expired(self.clock.seconds().saturating_sub(ttl));
                    let counted = i64::try_from(expired).unwrap_or(i64::MAX);
                    self.stats.counters.msg_ntf_expired.add(counted);
                    self.stats.counters.ntf_count.sub(counted);
                    if expired > 0 {
                        tracing::debug!(expired, "expired notifications");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::SendJob;
    use crate::clock::ManualClock;
    use smp_proto::ids::MsgId;
    use tokio::sync::mpsc;

    struct TextEncoder;

    impl EventEncoder for TextEncoder {
        fn hub_event(&self, _: &ClientHandle, _: &EntityId, event: HubEvent) -> Vec<u8> {
            format!("{event:?}").into_bytes()
        }
        fn notification(&self, _: &ClientHandle, _: &EntityId, _: &MsgNtf) -> Vec<u8> {
            b"NMSG".to_vec()
        }
    }

    fn test_state() -> Arc<ServerState> {
        let settings = ServerSettings {
            pending_events_interval: Duration::from_millis(20),
            ntf_delivery_interval: Duration::from_millis(20),
            ..ServerSettings::default()
        };
        Arc::new(ServerState::with(
            settings,
            Arc::new(ManualClock::at_seconds(100_000)),
            Random::from_seed(0),
        ))
    }

    fn client(state: &ServerState) -> (Arc<ClientHandle>, mpsc::Receiver<SendJob>) {
        let (sender, receiver) = mpsc::channel(4);
        let id = state.next_client_id();
        (Arc::new(ClientHandle::new(id, 18, sender)), receiver)
    }

    #[tokio::test]
    async fn periodic_tasks_flush_events_and_notifications() {
        let state = test_state();
        let (first, mut first_rx) = client(&state);
        let (second, mut second_rx) = client(&state);
        let queue = EntityId::from([1; 24]);
        state.subscribers.subscribe(&queue, &first);
        state.subscribers.subscribe(&queue, &second);
        state.ntf_subscribers.subscribe(&queue, &second);
        state.notifications.store(
            &queue,
            MsgNtf {
                msg_id: MsgId::from([2; 24]),
                timestamp: 100_000,
                nonce: [0; 24],
                encrypted_meta: Vec::new(),
            },
        );
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(
            Arc::clone(&state).run_event_tasks(Arc::new(TextEncoder), shutdown.clone()),
        );
        let job = first_rx.recv().await.unwrap();
        assert_eq!(job.transmissions, [b"End".to_vec()]);
        let job = second_rx.recv().await.unwrap();
        assert_eq!(job.transmissions, [b"NMSG".to_vec()]);
        assert!(state.notifications.is_empty());
        shutdown.cancel();
        task.await.unwrap();
    }

    #[test]
    fn disconnect_forgets_subscriptions_silently() {
        let state = test_state();
        let (first, _rx) = client(&state);
        let queue = EntityId::from([1; 24]);
        first
            .subscriptions()
            .insert(queue.clone(), crate::client::Sub::subscribed());
        state.subscribers.subscribe(&queue, &first);
        state.client_disconnected(&first);
        assert!(state.subscribers.is_empty());
        assert!(first.subscriptions().is_empty());
        assert!(state.subscribers.take_pending().is_empty());
    }
}
