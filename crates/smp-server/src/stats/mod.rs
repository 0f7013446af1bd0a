//! Server statistics (`Simplex.Messaging.Server.Stats`): lock-free counters incremented on the
//! hot path, distinct-active-queue sets, the acknowledgement time histogram, and the files built
//! from them — the persisted counters `smp-server-stats.log` ([`persist`]), the daily CSV
//! `smp-server-stats.daily.log` ([`daily`]) and the Prometheus text file
//! `smp-server-metrics.txt` ([`metrics`]), written by [`tasks::run_stats_tasks`].
//!
//! Counters are signed 64-bit like Haskell's `Int` (gauges such as `qCount` are decremented).

pub mod activity;
pub mod buckets;
pub mod daily;
pub mod metrics;
pub mod persist;
pub mod tasks;
pub mod time;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub use activity::{PeriodCounts, PeriodSets, PeriodStats};
pub use buckets::{AckTimes, TimeBuckets};

/// One counter (`IORef Int` changed with `atomicModifyIORef'`). Relaxed ordering: each counter
/// is independent and only ever read for reporting.
#[derive(Debug, Default)]
pub struct Counter(AtomicI64);

impl Counter {
    /// `incStat`.
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub fn add(&self, amount: i64) {
        self.0.fetch_add(amount, Ordering::Relaxed);
    }

    #[inline]
    pub fn sub(&self, amount: i64) {
        self.0.fetch_sub(amount, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// Reads and resets to 0 in one step (`atomicSwapIORef ref 0`).
    pub fn take(&self) -> i64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

/// Declares a group of counters and its plain-value twin with read/reset/restore methods.
macro_rules! counter_group {
    (
        $(#[$meta:meta])* $name:ident, $data:ident {
            $( $(#[$field_meta:meta])* $field:ident, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: Counter, )*
        }

        /// Values of the counters of the same name.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $data {
            $( pub $field: i64, )*
        }

        impl $name {
            /// Reads every counter.
            pub fn data(&self) -> $data {
                $data { $( $field: self.$field.get(), )* }
            }

            /// Reads and resets every counter.
            pub fn take_data(&self) -> $data {
                $data { $( $field: self.$field.take(), )* }
            }

            /// Sets every counter (used at start, when restoring).
            pub fn set(&self, data: &$data) {
                $( self.$field.set(data.$field); )*
            }
        }

        #[cfg(test)]
        impl $data {
            /// Test values: the fields numbered `first`, `first + 1`, … in declaration order.
            pub fn numbered(first: i64) -> $data {
                let mut next = first;
                $data {
                    $( $field: {
                        next += 1;
                        next - 1
                    }, )*
                }
            }
        }
    };
}

counter_group! {
    /// Forwarding-proxy outcomes (`Stats.ProxyStats`): one instance for all destination relays
    /// and one for relays of the same operator ("own").
    ProxyStats, ProxyStatsData {
        /// `pRequests`.
        requests,
        /// `pSuccesses` (includes destination error responses forwarded to the client).
        successes,
        /// `pErrorsConnect`.
        errors_connect,
        /// `pErrorsCompat`.
        errors_compat,
        /// `pErrorsOther`.
        errors_other,
    }
}

counter_group! {
    /// Queue associations and subscriptions of client services (`Stats.ServiceStats`).
    ServiceStats, ServiceStatsData {
        /// `srvAssocNew`.
        assoc_new,
        /// `srvAssocDuplicate`.
        assoc_duplicate,
        /// `srvAssocUpdated` (written `assocUpdatedt=` in the stats file).
        assoc_updated,
        /// `srvAssocRemoved`.
        assoc_removed,
        /// `srvSubCount`.
        sub_count,
        /// `srvSubDuplicate`.
        sub_duplicate,
        /// `srvSubQueues`.
        sub_queues,
        /// `srvSubEnd`.
        sub_end,
    }
}

counter_group! {
    /// The scalar counters of `Stats.ServerStats`, named after the reference fields.
    ServerCounters, ServerCountersData {
        q_created, q_secured, q_deleted_all, q_deleted_all_b, q_deleted_new, q_deleted_secured,
        /// Queues blocked through the control port today (drives the daily block quota).
        q_blocked,
        /// Subscriptions that delivered a pending message.
        q_sub,
        /// Subscription batches.
        q_sub_all_b,
        q_sub_auth, q_sub_duplicate, q_sub_prohibited,
        /// `END`/`DELD` events sent, and their batches.
        q_sub_end, q_sub_end_b,
        ntf_created,
        /// Notifier credentials created together with the queue (NEW).
        ntf_new_created,
        ntf_deleted, ntf_deleted_b, ntf_sub, ntf_sub_b, ntf_sub_auth, ntf_sub_duplicate,
        msg_sent, msg_sent_auth, msg_sent_quota, msg_sent_large, msg_sent_block,
        msg_recv, msg_recv_get, msg_get, msg_get_no_msg, msg_get_auth, msg_get_duplicate,
        msg_get_prohibited, msg_expired,
        /// Messages sent and received with the notification flag.
        msg_sent_ntf, msg_recv_ntf,
        /// `NMSG` delivered to notification servers, and their batches.
        msg_ntfs, msg_ntfs_b,
        msg_ntf_no_sub, msg_ntf_lost, msg_ntf_expired,
        /// Forwarded transmissions received from proxies (`pMsgFwdsRecv`).
        p_msg_fwds_recv,
        /// Gauges: stored queues, stored messages, pending notifications.
        q_count, msg_count, ntf_count,
    }
}

/// Every statistic of the server (`Stats.ServerStats`), shared by all connections.
#[derive(Debug, Default)]
pub struct ServerStats {
    from_time: Mutex<Duration>,
    pub counters: ServerCounters,
    /// Queues that sent or received a message (`activeQueues`).
    pub active_queues: PeriodStats,
    /// The same for messages with the notification flag (`activeQueuesNtf`).
    pub active_queues_ntf: PeriodStats,
    /// Delivery-to-ACK times (`msgRecvAckTimes`).
    pub msg_recv_ack_times: AckTimes,
    /// `PRXY` sessions requested through this server (`pRelays`, `pRelaysOwn`).
    pub p_relays: ProxyStats,
    pub p_relays_own: ProxyStats,
    /// `PFWD` messages forwarded (`pMsgFwds`, `pMsgFwdsOwn`).
    pub p_msg_fwds: ProxyStats,
    pub p_msg_fwds_own: ProxyStats,
    pub rcv_services: ServiceStats,
    pub ntf_services: ServiceStats,
}

/// A snapshot of the counters (`Stats.ServerStatsData` without the period sets, which are
/// only read when saving: see [`ServerStats::period_sets`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStatsData {
    /// Start of the counting period, time since the Unix epoch.
    pub from_time: Duration,
    pub counters: ServerCountersData,
    pub p_relays: ProxyStatsData,
    pub p_relays_own: ProxyStatsData,
    pub p_msg_fwds: ProxyStatsData,
    pub p_msg_fwds_own: ProxyStatsData,
    pub rcv_services: ServiceStatsData,
    pub ntf_services: ServiceStatsData,
}

/// The two period sets (`_activeQueues`, `_activeQueuesNtf`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActiveQueueSets {
    pub active_queues: PeriodSets,
    pub active_queues_ntf: PeriodSets,
}

impl ServerStats {
    /// Fresh counters counting from `now` (`Stats.newServerStats`).
    pub fn new(now: Duration) -> Self {
        ServerStats {
            from_time: Mutex::new(now),
            ..ServerStats::default()
        }
    }

    pub fn from_time(&self) -> Duration {
        *self
            .from_time
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the period start, returning the previous one (`atomicSwapIORef fromTime`).
    pub fn swap_from_time(&self, now: Duration) -> Duration {
        let mut from_time = self
            .from_time
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *from_time, now)
    }

    /// Reads every counter (`Stats.getServerStatsData`, without the period sets). O(1).
    pub fn data(&self) -> ServerStatsData {
        ServerStatsData {
            from_time: self.from_time(),
            counters: self.counters.data(),
            p_relays: self.p_relays.data(),
            p_relays_own: self.p_relays_own.data(),
            p_msg_fwds: self.p_msg_fwds.data(),
            p_msg_fwds_own: self.p_msg_fwds_own.data(),
            rcv_services: self.rcv_services.data(),
            ntf_services: self.ntf_services.data(),
        }
    }

    /// The active-queue sets, for saving (walks them).
    pub fn period_sets(&self) -> ActiveQueueSets {
        ActiveQueueSets {
            active_queues: self.active_queues.sets(),
            active_queues_ntf: self.active_queues_ntf.sets(),
        }
    }

    /// Restores saved values (`Stats.setServerStats`; used at start, before serving).
    pub fn set(&self, data: &ServerStatsData, sets: &ActiveQueueSets) {
        *self
            .from_time
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = data.from_time;
        self.counters.set(&data.counters);
        self.p_relays.set(&data.p_relays);
        self.p_relays_own.set(&data.p_relays_own);
        self.p_msg_fwds.set(&data.p_msg_fwds);
        self.p_msg_fwds_own.set(&data.p_msg_fwds_own);
        self.rcv_services.set(&data.rcv_services);
        self.ntf_services.set(&data.ntf_services);
        self.active_queues.set(&sets.active_queues);
        self.active_queues_ntf.set(&sets.active_queues_ntf);
    }

    /// Counts a proxy outcome in `all` and, for a relay of the same operator, in `own` too
    /// (`Server` binding `mkIncProxyStats`).
    pub fn inc_proxy(
        all: &ProxyStats,
        own: &ProxyStats,
        is_own: bool,
        pick: fn(&ProxyStats) -> &Counter,
    ) {
        pick(all).inc();
        if is_own {
            pick(own).inc();
        }
    }
}

/// Store-side totals the statistics report (`QueueStore.Types.EntityCounts`); the server keeps
/// them as counters so reading is O(1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntityCounts {
    pub queue_count: i64,
    pub notifier_count: i64,
    pub rcv_service_count: i64,
    pub ntf_service_count: i64,
    pub rcv_service_queues_count: i64,
    pub ntf_service_queues_count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_increment_take_and_restore() {
        let stats = ServerStats::new(Duration::from_secs(10));
        stats.counters.msg_sent.inc();
        stats.counters.msg_sent.add(2);
        stats.counters.q_count.sub(1);
        ServerStats::inc_proxy(&stats.p_relays, &stats.p_relays_own, true, |p| &p.requests);
        ServerStats::inc_proxy(&stats.p_relays, &stats.p_relays_own, false, |p| &p.requests);
        let data = stats.data();
        assert_eq!(data.counters.msg_sent, 3);
        assert_eq!(data.counters.q_count, -1);
        assert_eq!((data.p_relays.requests, data.p_relays_own.requests), (2, 1));
        assert_eq!(stats.counters.msg_sent.take(), 3);
        assert_eq!(stats.counters.msg_sent.get(), 0);
        assert_eq!(
            stats.swap_from_time(Duration::from_secs(20)),
            Duration::from_secs(10)
        );

        let restored = ServerStats::default();
        restored.set(&data, &ActiveQueueSets::default());
        assert_eq!(restored.data(), data);
    }
}
