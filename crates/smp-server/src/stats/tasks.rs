//! The background statistics work (`Server` bindings `serverStatsThread_`/`logServerStats`
//! and `prometheusMetricsThread_`/`savePrometheusMetrics`), plus an optional periodic save of
//! the counters file.
//!
//! Waiting uses tokio time and the wall clock comes from the injected [`Clock`], so tests run
//! on paused time. Differences from the reference, all on failure paths: a failed file write is
//! logged and retried at the next period (the reference's thread would fail and stop the whole
//! server), and the metrics file is replaced by rename so a collector never reads half a file.
//!
//! As in the reference the store totals of the daily CSV (queue and notifier counts, service
//! counts: columns 61, 67, 77–80) are read once, when the first row is due, and repeated on
//! every later row (spec quirk "copy").

use super::daily::{append_row, initial_delay, take_row};
use super::metrics::{prometheus_metrics, rts_options_label, RealTimeMetrics, ServerMetrics};
use super::{persist, EntityCounts, ServerStats};
use crate::clock::Clock;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the server provides to the statistics tasks. Both calls must be cheap: the server keeps
/// counters for them rather than scanning its stores.
pub trait StatsSource: Send + Sync {
    /// Store totals (`QueueStore.getEntityCounts`).
    fn entity_counts(&self) -> EntityCounts;
    /// Live figures for the metrics file (`Server` binding `getRealTimeMetrics`).
    fn real_time_metrics(&self) -> RealTimeMetrics;
}

/// File locations (`Server.Main`: `serverStatsLogFile`, `serverStatsBackupFile`,
/// `prometheusMetricsFile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsPaths {
    /// `smp-server-stats.daily.log`.
    pub daily_log: PathBuf,
    /// `smp-server-stats.log`.
    pub stats_log: PathBuf,
    /// `smp-server-metrics.txt`.
    pub metrics: PathBuf,
}

impl StatsPaths {
    /// The reference's names inside the log directory.
    pub fn in_log_dir(log_dir: &Path) -> Self {
        StatsPaths {
            daily_log: log_dir.join("smp-server-stats.daily.log"),
            stats_log: log_dir.join("smp-server-stats.log"),
            metrics: log_dir.join("smp-server-metrics.txt"),
        }
    }
}

/// Timing of the statistics work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsConfig {
    /// Daily CSV period (`logStatsInterval`: 86 400 s with `log_stats = on`, else none).
    pub log_interval: Option<Duration>,
    /// Time of day of the first CSV row, seconds after 00:00 UTC (`logStatsStartTime`, 0).
    pub log_start_time: i64,
    /// Metrics file period (`[STORE_LOG] prometheus_interval`).
    pub prometheus_interval: Option<Duration>,
    /// Save the counters file this often while running (not in the reference, which saves only
    /// at shutdown, so a SIGTERM or crash loses the counters). Needs `log_stats = on`.
    pub save_interval: Option<Duration>,
}

impl StatsConfig {
    /// The reference's settings for `log_stats` and `prometheus_interval`.
    pub fn from_settings(log_stats: bool, prometheus_interval_seconds: Option<u64>) -> Self {
        StatsConfig {
            log_interval: log_stats.then_some(Duration::from_secs(86_400)),
            log_start_time: 0,
            prometheus_interval: prometheus_interval_seconds.map(Duration::from_secs),
            save_interval: None,
        }
    }
}

/// Runs the enabled statistics tasks until `shutdown` is cancelled. The final save of the
/// counters file at shutdown is the caller's (`persist::save`, after this returns), in the
/// reference's order after messages and notifications are saved.
pub async fn run_stats_tasks(
    stats: Arc<ServerStats>,
    source: Arc<dyn StatsSource>,
    paths: StatsPaths,
    config: StatsConfig,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let daily = async {
        match config.log_interval {
            Some(interval) => {
                let start_time = config.log_start_time;
                log_daily(
                    &stats,
                    &*source,
                    &paths.daily_log,
                    start_time,
                    interval,
                    &*clock,
                )
                .await
            }
            None => std::future::pending().await,
        }
    };
    let metrics = async {
        match config.prometheus_interval {
            Some(interval) => {
                save_metrics(&stats, &*source, &paths.metrics, interval, &*clock).await
            }
            None => std::future::pending().await,
        }
    };
    let saves = async {
        match (config.log_interval, config.save_interval) {
            (Some(_), Some(interval)) => save_counters(&stats, &paths.stats_log, interval).await,
            _ => std::future::pending().await,
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => {}
        _ = async { tokio::join!(daily, metrics, saves) } => {}
    }
}

/// A line on stdout that, unlike `println!`, does not panic when stdout is closed or full
/// (a server task must not die because its operator's log pipe went away).
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// `logServerStats`: first row at the configured time of day, then one every `interval`.
async fn log_daily(
    stats: &ServerStats,
    source: &dyn StatsSource,
    path: &Path,
    start_time: i64,
    interval: Duration,
    clock: &dyn Clock,
) {
    let delay = initial_delay(start_time, clock.now());
    say(format_args!("server stats log enabled: {}", path.display()));
    tokio::time::sleep(delay).await;
    let entity_counts = source.entity_counts();
    loop {
        let row = take_row(stats, &entity_counts, clock.now());
        if let Err(error) = append_row(path, &row) {
            tracing::error!("cannot append to {}: {error}", path.display());
        }
        tokio::time::sleep(interval).await;
    }
}

/// `savePrometheusMetrics`: the file is first written one interval after start.
async fn save_metrics(
    stats: &ServerStats,
    source: &dyn StatsSource,
    path: &Path,
    interval: Duration,
    clock: &dyn Clock,
) {
    say(format_args!(
        "Prometheus metrics saved every {} seconds to {}",
        interval.as_secs(),
        path.display()
    ));
    let rts_options = rts_options_label();
    loop {
        tokio::time::sleep(interval).await;
        let metrics = server_metrics(stats, source, &rts_options);
        let text = prometheus_metrics(&metrics, &source.real_time_metrics(), clock.now());
        if let Err(error) = replace_file(path, text.as_bytes()) {
            tracing::error!("cannot write {}: {error}", path.display());
        }
    }
}

/// The statistics part of the metrics, read in O(1) (`Server` binding `getServerMetrics`).
pub fn server_metrics(
    stats: &ServerStats,
    source: &dyn StatsSource,
    rts_options: &str,
) -> ServerMetrics {
    ServerMetrics {
        data: stats.data(),
        active_queues: stats.active_queues.counts(),
        active_queues_ntf: stats.active_queues_ntf.counts(),
        entity_counts: source.entity_counts(),
        ack_times: stats.msg_recv_ack_times.snapshot(),
        rts_options: rts_options.to_owned(),
    }
}

async fn save_counters(stats: &ServerStats, path: &Path, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        if let Err(error) = persist::save(path, stats) {
            tracing::error!("cannot save server stats to {}: {error}", path.display());
        }
    }
}

/// Writes `bytes` to a sibling temporary file and renames it over `path`.
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
#[path = "tasks_tests.rs"]
mod tests;
