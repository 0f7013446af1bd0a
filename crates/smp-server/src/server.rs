//! Running the whole server (`Server.hs: smpServer`): the listener with the command handler, the
//! periodic event tasks (pending `END`/`DELD`, `NMSG`, notification expiry) and message expiry
//! (at start and every check interval; `expireMessagesThread`).

use crate::listener::{self, ListenerSettings};
use crate::session::{CommandHandler, WireEvents};
use crate::state::ServerState;
use crate::stats::metrics::RealTimeMetrics;
use crate::stats::tasks::StatsSource;
use crate::stats::EntityCounts;
use crate::store::backend::StoreBackend;
use crate::supervise::CriticalTasks;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Serves until `shutdown` is cancelled.
pub async fn run(
    state: Arc<ServerState>,
    settings: ListenerSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let bound = listener::bind(&settings).await?;
    run_bound(state, bound, shutdown).await
}

/// Serves already bound listeners (tests learn the port first).
pub async fn run_bound(
    state: Arc<ServerState>,
    bound: listener::BoundListeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    state.set_socket_counters(bound.socket_counters());
    // A panic in one of these stops the server with an error instead of silently ending
    // event delivery or expiry (`smpServer` races its threads).
    let mut tasks = CriticalTasks::new(shutdown.clone());
    tasks.spawn(
        "subscription events",
        Arc::clone(&state).run_event_tasks(Arc::new(WireEvents), shutdown.clone()),
    );
    tasks.spawn(
        "message expiry",
        expire_messages(Arc::clone(&state), shutdown.clone()),
    );
    let handler = Arc::new(CommandHandler {
        state: Arc::clone(&state),
    });
    let served = bound.serve(handler, shutdown.clone()).await;
    shutdown.cancel();
    let tasks_ended = tasks.join().await;
    served.and(tasks_ended)
}

/// Deletes expired messages every check interval, the first time one interval after start
/// (`expireMessagesThread`; at start expiry happens while restoring saved messages).
pub async fn expire_messages(state: Arc<ServerState>, shutdown: CancellationToken) {
    let Some(expiration) = state.settings.message_expiration else {
        return;
    };
    let ttl = i64::try_from(expiration.ttl.as_secs()).unwrap_or(i64::MAX);
    let mut timer = tokio::time::interval(expiration.check_interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick of an interval is immediate.
    timer.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = timer.tick() => {
                let before = state.clock.seconds().saturating_sub(ttl);
                let totals = state.store.expire_all_messages(before);
                let counters = &state.stats.counters;
                counters.msg_expired.add(i64::try_from(totals.expired).unwrap_or(0));
                counters.msg_count.set(i64::try_from(totals.stored).unwrap_or(0));
                if totals.expired > 0 {
                    tracing::info!(expired = totals.expired, "expired messages");
                }
            }
        }
    }
}

/// What the statistics tasks read from the running server.
pub struct ServerStatsSource {
    pub state: Arc<ServerState>,
    pub backend: Arc<StoreBackend>,
}

impl StatsSource for ServerStatsSource {
    fn entity_counts(&self) -> EntityCounts {
        let counts = self.backend.queues.counts();
        let count = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
        EntityCounts {
            queue_count: count(counts.queues),
            notifier_count: count(counts.notifiers),
            rcv_service_count: count(counts.recipient_services),
            ntf_service_count: count(counts.notifier_services),
            rcv_service_queues_count: count(counts.recipient_service_queues),
            ntf_service_queues_count: count(counts.notifier_service_queues),
        }
    }

    fn real_time_metrics(&self) -> RealTimeMetrics {
        self.state.real_time_metrics()
    }
}
