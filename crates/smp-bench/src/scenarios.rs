//! The other measurements: connection handshakes per second, subscriptions per second with the
//! server memory per idle queue, memory per idle connection, and store-log replay time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smp_client::{ClientOptions, NewQueue, RecipientQueue, SmpClient};
use smp_proto::address::ServerAddress;
use tokio::task::JoinSet;

use crate::procfs::{open_files_limit, ProcSample};
use crate::server::{write_store_log, ServerProcess};

fn options() -> ClientOptions {
    ClientOptions {
        response_timeout: Duration::from_secs(120),
        ..ClientOptions::default()
    }
}

fn rss(pid: Option<u32>) -> Option<u64> {
    pid.and_then(ProcSample::read)
        .map(|sample| sample.rss_bytes)
}

fn cpu(pid: Option<u32>) -> Option<f64> {
    pid.and_then(ProcSample::read)
        .map(|sample| sample.cpu_seconds)
}

/// Handshakes completed in a run.
#[derive(Debug)]
pub struct HandshakeResult {
    pub completed: u64,
    pub failed: u64,
    pub seconds: f64,
    pub server_cpu_seconds: Option<f64>,
}

impl HandshakeResult {
    pub fn per_second(&self) -> f64 {
        self.completed as f64 / self.seconds.max(1e-9)
    }
}

/// `concurrency` tasks connect (TCP + TLS + SMP handshake) and close, again and again.
pub async fn handshakes(
    address: &ServerAddress,
    concurrency: usize,
    duration: Duration,
    server_pid: Option<u32>,
) -> HandshakeResult {
    let stop = Arc::new(AtomicBool::new(false));
    let completed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu(server_pid);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (address, stop) = (address.clone(), stop.clone());
        let (completed, failed) = (completed.clone(), failed.clone());
        tasks.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match SmpClient::connect(&address, options()).await {
                    Ok(client) => {
                        completed.fetch_add(1, Ordering::Relaxed);
                        client.close().await;
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let count = completed.load(Ordering::Relaxed);
    let cpu_after = cpu(server_pid);
    while tasks.join_next().await.is_some() {}
    HandshakeResult {
        completed: count,
        failed: failed.load(Ordering::Relaxed),
        seconds,
        server_cpu_seconds: cpu_before.zip(cpu_after).map(|(b, a)| a - b),
    }
}

/// Queue creation and re-subscription.
#[derive(Debug)]
pub struct SubscriptionResult {
    pub queues: usize,
    pub create_seconds: f64,
    pub subscribed: usize,
    pub sub_errors: usize,
    pub subscribe_seconds: f64,
    pub rss_before: Option<u64>,
    /// After creating the queues and closing the creating connections.
    pub rss_idle_queues: Option<u64>,
    /// After the subscriptions.
    pub rss_subscribed: Option<u64>,
    pub subscribe_cpu_seconds: Option<f64>,
}

impl SubscriptionResult {
    pub fn per_second(&self) -> f64 {
        self.subscribed as f64 / self.subscribe_seconds.max(1e-9)
    }

    pub fn bytes_per_idle_queue(&self) -> Option<f64> {
        let (before, after) = self.rss_before.zip(self.rss_idle_queues)?;
        Some(after.saturating_sub(before) as f64 / self.queues.max(1) as f64)
    }
}

/// Creates `queues` queues (not subscribed) over `connections` connections, closes them, then
/// one new connection subscribes them all with `SUB` in batches of `batch`, `parallel` batches
/// in flight.
pub async fn subscriptions(
    address: &ServerAddress,
    queues: usize,
    connections: usize,
    batch: usize,
    parallel: usize,
    server_pid: Option<u32>,
) -> anyhow::Result<SubscriptionResult> {
    let rss_before = rss(server_pid);
    let started = Instant::now();
    let mut creators = JoinSet::new();
    let connections = connections.max(1);
    for index in 0..connections {
        let address = address.clone();
        let count = queues / connections + usize::from(index < queues % connections);
        creators.spawn(async move {
            let client = Arc::new(SmpClient::connect(&address, options()).await?);
            let mut made = Vec::with_capacity(count);
            let mut tasks = JoinSet::new();
            let mut remaining = count;
            while remaining > 0 || !tasks.is_empty() {
                while remaining > 0 && tasks.len() < 64 {
                    remaining -= 1;
                    let client = client.clone();
                    tasks.spawn(async move {
                        client
                            .create_queue(NewQueue {
                                subscribe: false,
                                ..NewQueue::default()
                            })
                            .await
                    });
                }
                if let Some(joined) = tasks.join_next().await {
                    made.push(joined??);
                }
            }
            if let Ok(client) = Arc::try_unwrap(client) {
                client.close().await;
            }
            anyhow::Ok(made)
        });
    }
    let mut all: Vec<RecipientQueue> = Vec::with_capacity(queues);
    while let Some(joined) = creators.join_next().await {
        all.extend(joined??);
    }
    let create_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle_queues = rss(server_pid);
    let all = Arc::new(all);
    let client = Arc::new(SmpClient::connect(address, options()).await?);
    let cpu_before = cpu(server_pid);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let batch = batch.max(1);
    let mut next = 0;
    let (mut subscribed, mut sub_errors) = (0usize, 0usize);
    while next < all.len() || !tasks.is_empty() {
        while next < all.len() && tasks.len() < parallel.max(1) {
            let range = next..(next + batch).min(all.len());
            next = range.end;
            let (client, all) = (client.clone(), all.clone());
            tasks.spawn(async move {
                let refs: Vec<&RecipientQueue> = all[range].iter().collect();
                let results = client.subscribe_batch(&refs).await;
                let ok = results.iter().filter(|result| result.is_ok()).count();
                (ok, results.len() - ok)
            });
        }
        if let Some(joined) = tasks.join_next().await {
            let (ok, failed) = joined?;
            subscribed += ok;
            sub_errors += failed;
        }
    }
    let subscribe_seconds = started.elapsed().as_secs_f64();
    let cpu_after = cpu(server_pid);
    let rss_subscribed = rss(server_pid);
    if let Ok(client) = Arc::try_unwrap(client) {
        client.close().await;
    }
    Ok(SubscriptionResult {
        queues: all.len(),
        create_seconds,
        subscribed,
        sub_errors,
        subscribe_seconds,
        rss_before,
        rss_idle_queues,
        rss_subscribed,
        subscribe_cpu_seconds: cpu_before.zip(cpu_after).map(|(b, a)| a - b),
    })
}

/// Memory of idle connections.
#[derive(Debug)]
pub struct IdleConnectionResult {
    pub requested: usize,
    pub opened: usize,
    pub failed: usize,
    pub seconds: f64,
    pub fd_limit_note: String,
    pub rss_before: Option<u64>,
    pub rss_after: Option<u64>,
    pub client_rss_delta: Option<u64>,
}

impl IdleConnectionResult {
    pub fn bytes_per_connection(&self) -> Option<f64> {
        let (before, after) = self.rss_before.zip(self.rss_after)?;
        Some(after.saturating_sub(before) as f64 / self.opened.max(1) as f64)
    }
}

/// Opens up to `count` connections (handshake complete, nothing else) and holds them while the
/// server's RSS is read; the count is capped by the open-files limits of both processes.
pub async fn idle_connections(
    address: &ServerAddress,
    count: usize,
    concurrency: usize,
    server_pid: Option<u32>,
) -> IdleConnectionResult {
    let (own_soft, _) = open_files_limit(std::process::id());
    let server_soft = server_pid.and_then(|pid| open_files_limit(pid).0);
    let cap = [own_soft, server_soft]
        .into_iter()
        .flatten()
        .map(|limit| usize::try_from(limit.saturating_sub(64)).unwrap_or(usize::MAX))
        .min()
        .unwrap_or(usize::MAX);
    let target = count.min(cap);
    let fd_limit_note = format!(
        "open-files soft limit: bench {}, server {}{}",
        own_soft.map_or("unlimited".into(), |l| l.to_string()),
        server_soft.map_or("unknown".into(), |l| l.to_string()),
        if target < count {
            format!(" → capped at {target} connections (raise `ulimit -n` to run {count})")
        } else {
            String::new()
        }
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss(server_pid);
    let own_before = ProcSample::own().map(|sample| sample.rss_bytes);
    let started = Instant::now();
    let mut clients = Vec::with_capacity(target);
    let mut failed = 0;
    let mut tasks = JoinSet::new();
    let mut remaining = target;
    while remaining > 0 || !tasks.is_empty() {
        while remaining > 0 && tasks.len() < concurrency.max(1) {
            remaining -= 1;
            let address = address.clone();
            tasks.spawn(async move { SmpClient::connect(&address, options()).await });
        }
        match tasks.join_next().await {
            Some(Ok(Ok(client))) => clients.push(client),
            Some(_) => failed += 1,
            None => break,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss(server_pid);
    let own_after = ProcSample::own().map(|sample| sample.rss_bytes);
    let opened = clients.len();
    for client in clients {
        client.close().await;
    }
    IdleConnectionResult {
        requested: count,
        opened,
        failed,
        seconds,
        fd_limit_note,
        rss_before,
        rss_after,
        client_rss_delta: own_before.zip(own_after).map(|(b, a)| a.saturating_sub(b)),
    }
}

/// Store-log replay.
#[derive(Debug)]
pub struct ReplayResult {
    pub queues: usize,
    pub log_bytes: u64,
    pub empty_start: Duration,
    pub empty_rss: Option<u64>,
    pub replay_start: Duration,
    pub replay_rss: Option<u64>,
    pub second_start: Duration,
}

impl ReplayResult {
    pub fn bytes_per_queue(&self) -> Option<f64> {
        let (empty, full) = self.empty_rss.zip(self.replay_rss)?;
        Some(full.saturating_sub(empty) as f64 / self.queues.max(1) as f64)
    }
}

fn settled_rss(server: &ServerProcess) -> Option<u64> {
    std::thread::sleep(Duration::from_millis(500));
    rss(server.pid())
}

/// Starts an empty server (baseline RSS), then restarts it with a store log of `queues`
/// queues and times until the port accepts; restarts once more (the log as the server rewrote
/// it).
pub fn replay(server: &mut ServerProcess, queues: usize) -> anyhow::Result<ReplayResult> {
    let empty_start = server.start()?;
    let empty_rss = settled_rss(server);
    server.stop();
    let log_bytes = write_store_log(&server.store_log(), queues)?;
    let replay_start = server.start()?;
    let replay_rss = settled_rss(server);
    server.stop();
    let second_start = server.start()?;
    server.stop();
    Ok(ReplayResult {
        queues,
        log_bytes,
        empty_start,
        empty_rss,
        replay_start,
        replay_rss,
        second_start,
    })
}
