//! Read-only reports of the control port (`Server.hs: runCPClient` — `CPStats`, `CPSockets`,
//! `CPServerInfo`, `CPStatsRTS`, `CPThreads`, `CPSocketThreads`): the reference's line texts,
//! with this server's figures.
//!
//! Where the reference shows Haskell runtime internals (`stats-rts`, the thread lists) this
//! server shows the tokio runtime's equivalents; see each function.

use super::{show, ControlContext, Role};
use crate::client::{ClientHandle, SubMode};
use crate::stats::ProxyStatsData;
use crate::subscriptions::SubscriptionHub;
use std::fmt::Write as _;
use std::sync::Arc;

/// `stats`: the counters, store totals and proxy figures; `ntfCount 2` for admins only.
pub fn stats(context: &ControlContext, role: Role) -> String {
    let stats = &context.state.stats;
    let c = stats.counters.data();
    let counts = context.backend.queues.counts();
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("fromTime: {}", show::utc_time(stats.from_time())));
    for (label, value) in [
        ("qCreated", c.q_created),
        ("qSecured", c.q_secured),
        ("qDeletedAll", c.q_deleted_all),
        ("qDeletedAllB", c.q_deleted_all_b),
        ("qDeletedNew", c.q_deleted_new),
        ("qDeletedSecured", c.q_deleted_secured),
    ] {
        line(format!("{label}: {value}"));
    }
    line(format!(
        "daily active queues: {}",
        stats.active_queues.counts().0
    ));
    for (label, value) in [
        ("qSub", c.q_sub),
        ("qSubAllB", c.q_sub_all_b),
        ("qSubEnd", c.q_sub_end),
        ("qSubEndB", c.q_sub_end_b),
    ] {
        line(format!("{label}: {value}"));
    }
    line(format!(
        "other SUB events (auth, duplicate, prohibited): ({},{},{})",
        c.q_sub_auth, c.q_sub_duplicate, c.q_sub_prohibited
    ));
    for (label, value) in [
        ("msgSent", c.msg_sent),
        ("msgRecv", c.msg_recv),
        ("msgRecvGet", c.msg_recv_get),
        ("msgGet", c.msg_get),
        ("msgGetNoMsg", c.msg_get_no_msg),
    ] {
        line(format!("{label}: {value}"));
    }
    line(format!(
        "other GET events (auth, duplicate, prohibited): ({},{},{})",
        c.msg_get_auth, c.msg_get_duplicate, c.msg_get_prohibited
    ));
    for (label, value) in [
        ("msgSentNtf", c.msg_sent_ntf),
        ("msgRecvNtf", c.msg_recv_ntf),
        ("msgNtfs", c.msg_ntfs),
        ("msgNtfsB", c.msg_ntfs_b),
        ("msgNtfExpired", c.msg_ntf_expired),
        ("qCount", c.q_count),
    ] {
        line(format!("{label}: {value}"));
    }
    line(format!("qCount 2: {}", counts.queues));
    line(format!("notifiers: {}", counts.notifiers));
    line(format!("msgCount: {}", c.msg_count));
    line(format!("ntfCount: {}", c.ntf_count));
    if role == Role::Admin {
        line(format!("ntfCount 2: {}", context.state.notifications.len()));
    }
    for (label, data) in [
        ("pRelays", stats.p_relays.data()),
        ("pRelaysOwn", stats.p_relays_own.data()),
        ("pMsgFwds", stats.p_msg_fwds.data()),
        ("pMsgFwdsOwn", stats.p_msg_fwds_own.data()),
    ] {
        line(proxy_stat(label, &data));
    }
    line(format!("pMsgFwdsRecv: {}", c.p_msg_fwds_recv));
    line(format!("rcvServiceCount: {}", counts.recipient_services));
    line(format!("ntfServiceCount: {}", counts.notifier_services));
    line(format!(
        "rcvServiceQueuesCount: {}",
        counts.recipient_service_queues
    ));
    line(format!(
        "ntfServiceQueuesCount: {}",
        counts.notifier_service_queues
    ));
    out
}

fn proxy_stat(label: &str, data: &ProxyStatsData) -> String {
    format!(
        "{label}: requests={}, successes={}, errorsConnect={}, errorsCompat={}, errorsOther={}",
        data.requests, data.successes, data.errors_connect, data.errors_compat, data.errors_other
    )
}

/// `sockets`: accepted, closed, active and leaked sockets of each listening port.
pub fn sockets(context: &ControlContext) -> String {
    let mut out = String::new();
    for (port, stats) in context.state.socket_stats() {
        let _ = writeln!(out, "Sockets for port {port}:");
        let _ = writeln!(out, "accepted: {}", stats.accepted);
        let _ = writeln!(out, "closed: {}", stats.closed);
        let _ = writeln!(out, "active: {}", stats.active);
        let _ = writeln!(out, "leaked: {}", stats.leaked);
    }
    out
}

/// Live tokio tasks: the counterpart of the reference's Haskell threads.
fn task_count() -> usize {
    tokio::runtime::Handle::try_current().map_or(0, |runtime| runtime.metrics().num_alive_tasks())
}

/// `threads`: the reference lists every Haskell thread with its label; tokio tasks carry no
/// labels, so this prints the count line only.
pub fn threads() -> String {
    format!("Threads: {}\n", task_count())
}

/// `socket-threads`: the reference lists the thread of every client socket; tokio tasks have
/// no thread ids or labels to show.
pub fn socket_threads() -> String {
    "socket-threads: not available in this server (no thread ids in the tokio runtime)\n".to_owned()
}

/// `stats-rts`: the reference prints GHC's `RTSStats` record; this prints the tokio runtime's
/// figures and the process's resident memory in a record of the same style.
pub fn runtime_stats() -> String {
    let (workers, global_queue) = tokio::runtime::Handle::try_current().map_or((0, 0), |rt| {
        let metrics = rt.metrics();
        (metrics.num_workers(), metrics.global_queue_depth())
    });
    let resident = resident_memory().map_or("Nothing".to_owned(), |bytes| format!("Just {bytes}"));
    format!(
        "RuntimeStats {{runtime = \"tokio\", workers = {workers}, aliveTasks = {}, \
         globalQueueDepth = {global_queue}, residentBytes = {resident}}}\n",
        task_count()
    )
}

/// Resident set size from `/proc/self/status` (`VmRSS`, Linux).
fn resident_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kilobytes.checked_mul(1024)
}

/// Lengths of a connection's queues as the reference counts them: (rcvQ, sndQ, msgQ). Here the
/// writer's job channel is `sndQ`; commands and deliveries do not wait in per-client queues of
/// their own, so the other two are 0.
fn queue_lengths(client: &ClientHandle) -> (usize, usize, usize) {
    let jobs = client.send_jobs();
    (0, jobs.max_capacity() - jobs.capacity(), 0)
}

/// `show` of a triple: `(a,b,c)`.
fn triple((first, second, third): (usize, usize, usize)) -> String {
    format!("({first},{second},{third})")
}

fn add_lengths(total: &mut (usize, usize, usize), client: &ClientHandle) {
    let (rcv, snd, msg) = queue_lengths(client);
    total.0 += rcv;
    total.1 += snd;
    total.2 += msg;
}

/// `server-info` (user or admin; the per-connection figures for admins only).
pub fn server_info(context: &ControlContext, role: Role) -> String {
    let clients = context.state.clients();
    let mut out = String::new();
    let _ = writeln!(out, "Threads: {}", task_count());
    let _ = writeln!(out, "Clients: {}", clients.len());
    if role == Role::Admin {
        admin_server_info(&mut out, &clients);
    }
    hub_info(&mut out, "SMP", &context.state.subscribers, false);
    hub_info(&mut out, "Ntf", &context.state.ntf_subscribers, true);
    out
}

fn admin_server_info(out: &mut String, clients: &[Arc<ClientHandle>]) {
    let mut all = (0, 0, 0);
    for client in clients {
        add_lengths(&mut all, client);
    }
    let _ = writeln!(out, "Client queues (rcvQ, sndQ, msgQ): {}", triple(all));
    // (NoSub, SubPending, SubThread, ProhibitSub); pushes never wait in a thread of their own.
    let (mut subs, mut groups, mut subscribed, mut lengths) = (0, [0usize; 4], 0, (0, 0, 0));
    let (mut ntf_subs, mut ntf_subscribed, mut ntf_lengths) = (0, 0, (0, 0, 0));
    for client in clients {
        let count = {
            let records = client.subscriptions();
            for sub in records.values() {
                let group = match sub.mode {
                    SubMode::Subscribed {
                        push_pending: false,
                    } => 0,
                    SubMode::Subscribed { push_pending: true } => 1,
                    SubMode::GetOnly => 3,
                };
                groups[group] += 1;
            }
            records.len()
        };
        if count > 0 {
            subs += count;
            subscribed += 1;
            add_lengths(&mut lengths, client);
        }
        let ntf_count = client.ntf_subscriptions().len();
        if ntf_count > 0 {
            ntf_subs += ntf_count;
            ntf_subscribed += 1;
            add_lengths(&mut ntf_lengths, client);
        }
    }
    let [no_sub, pending, thread, prohibited] = groups;
    let _ = writeln!(out, "SMP subscriptions (via clients): {subs}");
    let _ = writeln!(
        out,
        "SMP subscriptions (by group: NoSub, SubPending, SubThread, ProhibitSub): \
         ({no_sub},{pending},{thread},{prohibited})"
    );
    let _ = writeln!(out, "SMP subscribed clients (via clients): {subscribed}");
    let _ = writeln!(
        out,
        "SMP subscribed clients queues (via clients, rcvQ, sndQ, msgQ): {}",
        triple(lengths)
    );
    let _ = writeln!(out, "Ntf subscriptions (via clients): {ntf_subs}");
    let _ = writeln!(
        out,
        "Ntf subscribed clients (via clients): {ntf_subscribed}"
    );
    let _ = writeln!(
        out,
        "Ntf subscribed clients queues (via clients, rcvQ, sndQ, msgQ): {}",
        triple(ntf_lengths)
    );
}

/// `putSubscribersInfo`: subscriptions and subscribed connections of one hub, with the
/// connection numbers when `show_ids` (as a list, then as `fromList [...]`).
fn hub_info(out: &mut String, name: &str, hub: &SubscriptionHub<ClientHandle>, show_ids: bool) {
    let ids = hub.client_ids();
    let list = format!(
        "[{}]",
        ids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let _ = writeln!(out, "{name} subscriptions: {}", hub.len());
    let (first, second) = if show_ids {
        (format!(" {list}"), format!(" fromList {list}"))
    } else {
        (String::new(), String::new())
    };
    let _ = writeln!(out, "{name} subscribed clients: {}{first}", ids.len());
    let _ = writeln!(
        out,
        "{name} subscribed clients count 2: {}{second}",
        ids.len()
    );
}
