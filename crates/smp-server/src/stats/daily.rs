//! The daily CSV `smp-server-stats.daily.log` (`Server` binding `logServerStats`): one row of
//! 96 comma-separated fields per period, appended, no header.
//!
//! Taking a row resets the period counters to 0 (`atomicSwapIORef`); the gauges `qCount`,
//! `msgCount`, `ntfCount` are read only, and so — as in the reference — are the service
//! counters, which therefore stay cumulative. `qBlocked` is reset but not written. The week
//! and month active-queue fields are written (and their sets reset) only on Mondays and on the
//! 1st; on other days they are empty.

use super::time::{epoch_day, iso8601_date};
use super::{EntityCounts, ProxyStatsData, ServerStats, ServiceStatsData};
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

/// Seconds to wait before the first row (`logServerStats`, binding `initialDelay`): until
/// `start_at` seconds after 00:00 UTC today, or that time tomorrow if it has passed (0 when it
/// is exactly now).
pub fn initial_delay(start_at: i64, now: Duration) -> Duration {
    let delay = start_at - super::time::seconds_of_day(now);
    let delay = if delay < 0 { delay + 86_400 } else { delay };
    Duration::from_secs(u64::try_from(delay).unwrap_or(0))
}

/// Builds the row for the period ending `now` and resets the period counters; `entity` are the
/// store totals (read by the caller once, when the logging task starts — see the module docs
/// of [`super::tasks`]). Returns the fields joined by commas, without a line end.
pub fn take_row(stats: &ServerStats, entity: &EntityCounts, now: Duration) -> String {
    let from_time = stats.swap_from_time(now);
    let c = &stats.counters;
    let day = epoch_day(now);
    let active = stats.active_queues.take_counts(day);
    let active_ntf = stats.active_queues_ntf.take_counts(day);
    c.q_blocked.take(); // reset, not written
    let p_relays = stats.p_relays.take_data();
    let p_relays_own = stats.p_relays_own.take_data();
    let p_msg_fwds = stats.p_msg_fwds.take_data();
    let p_msg_fwds_own = stats.p_msg_fwds_own.take_data();
    let rcv_services = stats.rcv_services.data();
    let ntf_services = stats.ntf_services.data();

    let number = |value: i64| value.to_string();
    let optional = |count: Option<i64>| count.map(number).unwrap_or_default();
    let mut fields: Vec<String> = Vec::with_capacity(96);
    fields.push(iso8601_date(from_time));
    fields.extend(
        [
            c.q_created.take(),
            c.q_secured.take(),
            c.q_deleted_all.take(),
        ]
        .into_iter()
        .chain([c.msg_sent.take(), c.msg_recv.take()])
        .map(number),
    );
    fields.extend([active.day, active.week, active.month].map(optional));
    fields.extend([c.msg_sent_ntf.take(), c.msg_recv_ntf.take()].map(number));
    fields.extend([active_ntf.day, active_ntf.week, active_ntf.month].map(optional));
    let values = [
        c.q_count.get(),
        c.msg_count.get(),
        c.msg_expired.take(),
        c.q_deleted_new.take(),
        c.q_deleted_secured.take(),
    ]
    .into_iter()
    .chain(proxy_values(&p_relays))
    .chain(proxy_values(&p_relays_own))
    .chain(proxy_values(&p_msg_fwds))
    .chain(proxy_values(&p_msg_fwds_own))
    .chain([
        c.p_msg_fwds_recv.take(),
        c.q_sub.take(),
        c.q_sub_auth.take(),
        c.q_sub_duplicate.take(),
        c.q_sub_prohibited.take(),
        c.msg_sent_auth.take(),
        c.msg_sent_quota.take(),
        c.msg_sent_large.take(),
        c.msg_ntfs.take(),
        c.msg_ntf_no_sub.take(),
        c.msg_ntf_lost.take(),
        0, // former qSubNoMsg
        c.msg_recv_get.take(),
        c.msg_get.take(),
        c.msg_get_no_msg.take(),
        c.msg_get_auth.take(),
        c.msg_get_duplicate.take(),
        c.msg_get_prohibited.take(),
        0, // former subscribed queues: day, week, month
        0,
        0,
        entity.queue_count,
        c.ntf_created.take(),
        c.ntf_deleted.take(),
        c.ntf_sub.take(),
        c.ntf_sub_auth.take(),
        c.ntf_sub_duplicate.take(),
        entity.notifier_count,
        c.q_deleted_all_b.take(),
        c.q_sub_all_b.take(),
        c.q_sub_end.take(),
        c.q_sub_end_b.take(),
        c.ntf_deleted_b.take(),
        c.ntf_sub_b.take(),
        c.msg_ntfs_b.take(),
        c.msg_ntf_expired.take(),
        c.ntf_count.get(),
        entity.rcv_service_count,
        entity.ntf_service_count,
        entity.rcv_service_queues_count,
        entity.ntf_service_queues_count,
    ])
    .chain(service_values(&rcv_services))
    .chain(service_values(&ntf_services));
    fields.extend(values.map(number));
    fields.join(",")
}

fn proxy_values(p: &ProxyStatsData) -> [i64; 5] {
    [
        p.requests,
        p.successes,
        p.errors_connect,
        p.errors_compat,
        p.errors_other,
    ]
}

fn service_values(s: &ServiceStatsData) -> [i64; 8] {
    [
        s.assoc_new,
        s.assoc_duplicate,
        s.assoc_updated,
        s.assoc_removed,
        s.sub_count,
        s.sub_duplicate,
        s.sub_queues,
        s.sub_end,
    ]
}

/// Appends one row and its line end to the daily log (opened in append mode for each row).
pub fn append_row(path: &Path, row: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut line = String::with_capacity(row.len() + 1);
    line.push_str(row);
    line.push('\n');
    file.write_all(line.as_bytes())
}

#[cfg(test)]
#[path = "daily_tests.rs"]
mod tests;
