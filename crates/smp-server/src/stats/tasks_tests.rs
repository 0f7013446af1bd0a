//! Timing of the statistics tasks on paused tokio time.

use super::*;
use crate::stats::metrics::RealTimeMetrics;
use tokio::time::Instant;

/// Wall clock that follows tokio's (paused) time from a fixed start.
struct TokioClock {
    base: Duration,
    start: Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.base + self.start.elapsed()
    }
}

struct FixedSource;

impl StatsSource for FixedSource {
    fn entity_counts(&self) -> EntityCounts {
        EntityCounts {
            queue_count: 42,
            notifier_count: 7,
            ..EntityCounts::default()
        }
    }

    fn real_time_metrics(&self) -> RealTimeMetrics {
        RealTimeMetrics {
            clients_count: 3,
            ..RealTimeMetrics::default()
        }
    }
}

/// 2024-01-02 23:00:00 UTC (a Tuesday).
const START: Duration = Duration::from_secs(19_724 * 86_400 + 23 * 3_600);

struct Running {
    stats: Arc<ServerStats>,
    paths: StatsPaths,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

fn start(config: StatsConfig) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let paths = StatsPaths::in_log_dir(dir.path());
    let clock = Arc::new(TokioClock {
        base: START,
        start: Instant::now(),
    });
    let stats = Arc::new(ServerStats::new(START));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_stats_tasks(
        stats.clone(),
        Arc::new(FixedSource),
        paths.clone(),
        config,
        clock,
        shutdown.clone(),
    ));
    Running {
        stats,
        paths,
        shutdown,
        task,
        _dir: dir,
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

async fn sleep_seconds(seconds: u64) {
    tokio::time::sleep(Duration::from_secs(seconds)).await;
}

#[tokio::test(start_paused = true)]
async fn daily_rows_at_midnight_then_every_day() {
    let running = start(StatsConfig::from_settings(true, None));
    running.stats.counters.msg_sent.add(5);
    running.stats.active_queues.record(b"queue");
    sleep_seconds(3_599).await;
    assert_eq!(read(&running.paths.daily_log), None);
    sleep_seconds(2).await;
    let text = read(&running.paths.daily_log).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 1);
    let fields: Vec<&str> = rows[0].split(',').collect();
    assert_eq!(fields.len(), 96);
    // Period start date, msgSent, day count; the week/month fields are empty on a Wednesday.
    assert_eq!(
        (fields[0], fields[4], fields[6], fields[7]),
        ("2024-01-02", "5", "1", "")
    );
    // Store totals, read when the first row was due.
    assert_eq!((fields[60], fields[66]), ("42", "7"));
    assert_eq!(running.stats.counters.msg_sent.get(), 0);

    running.stats.counters.msg_sent.inc();
    sleep_seconds(86_400).await;
    let text = read(&running.paths.daily_log).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[1].starts_with("2024-01-03,0,0,0,1,0,0,,,"),
        "{}",
        rows[1]
    );
    running.shutdown.cancel();
    running.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn metrics_file_after_each_interval() {
    let running = start(StatsConfig::from_settings(false, Some(60)));
    running.stats.counters.q_created.add(9);
    sleep_seconds(59).await;
    assert_eq!(read(&running.paths.metrics), None);
    sleep_seconds(2).await;
    let text = read(&running.paths.metrics).unwrap();
    assert!(text
        .starts_with("# Recorded at: 2024-01-02T23:01:00Z\n# Stats from: 2024-01-02T23:00:00Z\n"));
    assert!(text.contains("\nsimplex_smp_queues_created 9 1704236460000\n"));
    assert!(text.contains("\nsimplex_smp_queues_total2 42 "));
    assert!(text.contains("\nsimplex_smp_clients_total 3 "));
    running.stats.counters.q_created.inc();
    sleep_seconds(60).await;
    let text = read(&running.paths.metrics).unwrap();
    assert!(text.contains("\nsimplex_smp_queues_created 10 1704236520000\n"));
    // Without log_stats there is no daily log, and the counters are not reset.
    assert_eq!(read(&running.paths.daily_log), None);
    running.shutdown.cancel();
    running.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn periodic_save_only_when_configured() {
    let config = StatsConfig {
        save_interval: Some(Duration::from_secs(300)),
        ..StatsConfig::from_settings(true, None)
    };
    let running = start(config);
    running.stats.counters.q_secured.add(4);
    sleep_seconds(299).await;
    assert_eq!(read(&running.paths.stats_log), None);
    sleep_seconds(2).await;
    let text = read(&running.paths.stats_log).unwrap();
    assert!(text.contains("\nqSecured=4\n"));
    running.shutdown.cancel();
    running.task.await.unwrap();

    let running = start(StatsConfig::from_settings(true, None));
    sleep_seconds(3_000).await;
    assert_eq!(read(&running.paths.stats_log), None);
    running.shutdown.cancel();
    running.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn nothing_enabled_waits_for_shutdown() {
    let running = start(StatsConfig::from_settings(false, None));
    sleep_seconds(200_000).await;
    assert!(!running.task.is_finished());
    running.shutdown.cancel();
    running.task.await.unwrap();
    assert_eq!(read(&running.paths.daily_log), None);
    assert_eq!(read(&running.paths.metrics), None);
}
