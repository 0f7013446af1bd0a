//! The throughput and latency run: N recipient connections with M subscribed queues each, and N
//! sender connections sending to those queues (each queue secured by its sender with `SKEY`).
//!
//! Every message carries its send time (nanoseconds since the run's start) in its first 8
//! bytes; the recipient decrypts it, records the end-to-end latency in a histogram, and
//! acknowledges it. A queue has at most `window` messages sent and not yet received (the
//! server's quota is 128), so an unlimited run is closed-loop; with a rate, sends are paced
//! evenly over the queues (open loop, bounded by the window).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use smp_client::{
    decrypt_message, AuthAlgorithm, AuthKeyPair, ClientOptions, EventKind, NewQueue, RcvMsgBody,
    RecipientQueue, SmpClient,
};
use smp_proto::address::ServerAddress;
use smp_proto::ids::{EntityId, MsgId};
use smp_proto::response::Response;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::procfs::ProcSample;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub connections: usize,
    pub queues_per_connection: usize,
    pub message_size: usize,
    /// Messages per second over all queues; 0 for as fast as possible.
    pub rate: f64,
    pub duration: Duration,
    pub warmup: Duration,
    pub window: usize,
}

/// What was measured.
#[derive(Debug)]
pub struct LoadResult {
    pub delivered: u64,
    pub seconds: f64,
    /// Microseconds.
    pub latency: Histogram<u64>,
    pub send_errors: u64,
    pub ack_errors: u64,
    pub server_cpu_seconds: Option<f64>,
    pub server_rss_bytes: Option<u64>,
    pub client_cpu_seconds: Option<f64>,
}

impl LoadResult {
    pub fn messages_per_second(&self) -> f64 {
        self.delivered as f64 / self.seconds.max(1e-9)
    }

    pub fn server_cpu_per_1000(&self) -> Option<f64> {
        self.server_cpu_seconds
            .map(|cpu| cpu * 1000.0 / self.delivered.max(1) as f64)
    }
}

struct QueueState {
    queue: RecipientQueue,
    window: Semaphore,
}

/// Shared counters of one run.
struct Shared {
    base: Instant,
    measure_from: Instant,
    measure_to: Instant,
    stop: AtomicBool,
    delivered: AtomicU64,
    send_errors: AtomicU64,
    ack_errors: AtomicU64,
    latency: Mutex<Histogram<u64>>,
}

impl Shared {
    fn record(&self, state: &QueueState, body: &RcvMsgBody) {
        state.window.add_permits(1);
        let now = Instant::now();
        if now < self.measure_from || now > self.measure_to {
            return;
        }
        let RcvMsgBody::Message { body, .. } = body else {
            return;
        };
        let Some(stamp) = body.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
            return;
        };
        let sent = self.base + Duration::from_nanos(u64::from_le_bytes(stamp));
        let micros = now.saturating_duration_since(sent).as_micros();
        self.delivered.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut histogram) = self.latency.lock() {
            let _ = histogram.record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
        }
    }
}

fn client_options() -> ClientOptions {
    ClientOptions {
        response_timeout: Duration::from_secs(60),
        ..ClientOptions::default()
    }
}

/// One recipient connection, its sender connection and their queues.
struct Pair {
    recipient: Arc<SmpClient>,
    sender: Arc<SmpClient>,
    queues: Vec<(Arc<QueueState>, Arc<AuthKeyPair>)>,
}

async fn set_up_pair(
    address: &ServerAddress,
    queues: usize,
    window: usize,
) -> anyhow::Result<Pair> {
    let recipient = Arc::new(SmpClient::connect(address, client_options()).await?);
    let sender = Arc::new(SmpClient::connect(address, client_options()).await?);
    let mut tasks = JoinSet::new();
    for _ in 0..queues {
        let (recipient, sender) = (recipient.clone(), sender.clone());
        tasks.spawn(async move {
            let queue = recipient.create_queue(NewQueue::default()).await?;
            let key = AuthKeyPair::generate(AuthAlgorithm::Ed25519)?;
            sender.secure_by_sender(&queue.sender_id, &key).await?;
            anyhow::Ok((
                Arc::new(QueueState {
                    queue,
                    window: Semaphore::new(window),
                }),
                Arc::new(key),
            ))
        });
    }
    let mut made = Vec::with_capacity(queues);
    while let Some(joined) = tasks.join_next().await {
        made.push(joined??);
    }
    Ok(Pair {
        recipient,
        sender,
        queues: made,
    })
}

/// Runs the load against `address`, sampling `server_pid` from /proc when given.
pub async fn run(
    address: &ServerAddress,
    config: &LoadConfig,
    server_pid: Option<u32>,
) -> anyhow::Result<LoadResult> {
    let mut pairs = Vec::with_capacity(config.connections);
    let mut setups = JoinSet::new();
    for _ in 0..config.connections {
        let address = address.clone();
        let (queues, window) = (config.queues_per_connection, config.window.max(1));
        setups.spawn(async move { set_up_pair(&address, queues, window).await });
    }
    while let Some(joined) = setups.join_next().await {
        pairs.push(joined??);
    }
    let base = Instant::now();
    let measure_from = base + config.warmup;
    let shared = Arc::new(Shared {
        base,
        measure_from,
        measure_to: measure_from + config.duration,
        stop: AtomicBool::new(false),
        delivered: AtomicU64::new(0),
        send_errors: AtomicU64::new(0),
        ack_errors: AtomicU64::new(0),
        latency: Mutex::new(Histogram::new_with_bounds(1, 120_000_000, 3)?),
    });
    let total_queues = (config.connections * config.queues_per_connection).max(1);
    let interval =
        (config.rate > 0.0).then(|| Duration::from_secs_f64(total_queues as f64 / config.rate));
    let mut tasks = JoinSet::new();
    for (index, pair) in pairs.iter().enumerate() {
        let states: HashMap<EntityId, Arc<QueueState>> = pair
            .queues
            .iter()
            .map(|(state, _)| (state.queue.recipient_id.clone(), state.clone()))
            .collect();
        tasks.spawn(dispatch(pair.recipient.clone(), states, shared.clone()));
        for (position, (state, key)) in pair.queues.iter().enumerate() {
            // Spread the first sends of paced queues over one interval.
            let offset = interval.map(|interval| {
                interval.mul_f64(
                    (index * config.queues_per_connection + position) as f64 / total_queues as f64,
                )
            });
            tasks.spawn(send_loop(
                pair.sender.clone(),
                state.clone(),
                key.clone(),
                shared.clone(),
                config.message_size.max(8),
                interval,
                offset.unwrap_or_default(),
            ));
        }
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let server_before = server_pid.and_then(ProcSample::read);
    let own_before = ProcSample::own();
    tokio::time::sleep_until(shared.measure_to.into()).await;
    let server_after = server_pid.and_then(ProcSample::read);
    let own_after = ProcSample::own();
    shared.stop.store(true, Ordering::Relaxed);
    let drain = tokio::time::sleep(Duration::from_secs(3));
    tokio::pin!(drain);
    loop {
        tokio::select! {
            _ = &mut drain => break,
            joined = tasks.join_next() => if joined.is_none() { break },
        }
    }
    tasks.abort_all();
    let latency = shared
        .latency
        .lock()
        .map(|histogram| histogram.clone())
        .map_err(|_| anyhow::anyhow!("latency histogram lock poisoned"))?;
    for pair in pairs {
        drop(pair.queues);
        if let Ok(client) = Arc::try_unwrap(pair.recipient) {
            client.close().await;
        }
        if let Ok(client) = Arc::try_unwrap(pair.sender) {
            client.close().await;
        }
    }
    Ok(LoadResult {
        delivered: shared.delivered.load(Ordering::Relaxed),
        seconds: config.duration.as_secs_f64(),
        latency,
        send_errors: shared.send_errors.load(Ordering::Relaxed),
        ack_errors: shared.ack_errors.load(Ordering::Relaxed),
        server_cpu_seconds: server_before
            .zip(server_after)
            .map(|(before, after)| after.cpu_seconds - before.cpu_seconds),
        server_rss_bytes: server_after.map(|sample| sample.rss_bytes),
        client_cpu_seconds: own_before
            .zip(own_after)
            .map(|(before, after)| after.cpu_seconds - before.cpu_seconds),
    })
}

async fn send_loop(
    sender: Arc<SmpClient>,
    state: Arc<QueueState>,
    key: Arc<AuthKeyPair>,
    shared: Arc<Shared>,
    size: usize,
    interval: Option<Duration>,
    offset: Duration,
) {
    let mut body = vec![0x5au8; size];
    let mut next = tokio::time::Instant::now() + offset;
    while !shared.stop.load(Ordering::Relaxed) {
        if let Some(interval) = interval {
            tokio::time::sleep_until(next).await;
            next += interval;
            let now = tokio::time::Instant::now();
            if next + Duration::from_secs(1) < now {
                next = now;
            }
        }
        match state.window.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => return,
        }
        let stamp = shared.base.elapsed().as_nanos() as u64;
        body[..8].copy_from_slice(&stamp.to_le_bytes());
        let sent = sender
            .send(&state.queue.sender_id, Some(&key), false, &body)
            .await;
        if sent.is_err() {
            shared.send_errors.fetch_add(1, Ordering::Relaxed);
            state.window.add_permits(1);
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn dispatch(
    recipient: Arc<SmpClient>,
    states: HashMap<EntityId, Arc<QueueState>>,
    shared: Arc<Shared>,
) {
    while !shared.stop.load(Ordering::Relaxed) {
        let event = match recipient
            .next_event_within(Duration::from_millis(200))
            .await
        {
            Ok(event) => event,
            Err(smp_client::ClientError::Timeout(_)) => continue,
            Err(_) => return,
        };
        if event.kind != EventKind::Message {
            continue;
        }
        let Some(state) = states.get(&event.entity_id).cloned() else {
            continue;
        };
        let Ok(Response::Msg {
            msg_id,
            encrypted_body,
        }) = event.response
        else {
            continue;
        };
        let Ok(body) = decrypt_message(&state.queue.shared_secret, &msg_id, &encrypted_body) else {
            shared.ack_errors.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        shared.record(&state, &body);
        tokio::spawn(acknowledge(
            recipient.clone(),
            state,
            msg_id,
            shared.clone(),
        ));
    }
}

/// ACKs a message; when the server answers with the next message, records and ACKs that too.
async fn acknowledge(
    recipient: Arc<SmpClient>,
    state: Arc<QueueState>,
    mut msg_id: MsgId,
    shared: Arc<Shared>,
) {
    loop {
        match recipient.ack(&state.queue, &msg_id).await {
            Ok(None) => return,
            Ok(Some(next)) => {
                shared.record(&state, &next.body);
                msg_id = next.msg_id;
            }
            Err(_) => {
                shared.ack_errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}
