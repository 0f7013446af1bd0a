//! The live-figures part of the metrics file (`Prometheus.prometheusMetrics`, binding `info`):
//! the info metric, sockets, clients, the delivery-time histogram and its period sums,
//! subscription totals and store cache sizes.

use super::{
    Exposition, RealTimeMetrics, ServerMetrics, SocketField, TimeBuckets, REPORTED_VERSION,
    RTS_OPTIONS_ENV,
};
use std::fmt::Write as _;

pub(super) fn info(text: &mut Exposition, metrics: &ServerMetrics, live: &RealTimeMetrics) {
    let c = &metrics.data.counters;
    let _ = write!(
        text.out,
        "# Info\n# ----\n\n\
         # HELP simplex_smp_info Server information. RTS options have to be passed via {RTS_OPTIONS_ENV} env var\n\
         # TYPE simplex_smp_info gauge\n\
         simplex_smp_info{{version=\"{REPORTED_VERSION}\",rts_options=\"{}\"}} 1\n\n",
        metrics.rts_options
    );
    let sockets: [(&str, &str, SocketField); 4] = [
        ("simplex_smp_sockets_accepted", "Accepted sockets", |s| {
            s.accepted
        }),
        ("simplex_smp_sockets_closed", "Closed sockets", |s| s.closed),
        ("simplex_smp_sockets_active", "Active sockets", |s| s.active),
        ("simplex_smp_sockets_leaked", "Leaked sockets", |s| s.leaked),
    ];
    for (name, help, pick) in sockets {
        text.header(name, help, "gauge");
        for (port, stats) in &live.socket_stats {
            text.sample(&format!("{name}{{port=\"{port}\"}}"), pick(stats), None);
        }
        text.raw("\n");
    }
    // Gauges without a comment line.
    for (name, help, value) in [
        ("simplex_smp_threads_total", "Threads", live.threads_count),
        ("simplex_smp_clients_total", "Clients", live.clients_count),
    ] {
        text.header(name, help, "gauge");
        text.sample(name, value, None);
        text.raw("\n");
    }
    #[rustfmt::skip]
    text.gauges(&[
        ("simplex_smp_delivered_total", "Total SMP subscriptions with delivered messages", live.delivered_subs.subs_count, "delivered.subsCount"),
        ("simplex_smp_delivered_clients_total", "Subscribed clients", live.delivered_subs.sub_clients_count, "delivered.subClientsCount"),
    ]);
    let histogram = "simplex_smp_delivery_ack_confirmed_time";
    let confirmed = c.msg_recv + c.msg_recv_get;
    text.header(
        histogram,
        "Times to confirm message delivery, only confirmed deliveries",
        "histogram",
    );
    text.sample(
        &format!("{histogram}_sum"),
        metrics.ack_times.sum_time,
        None,
    );
    text.sample(&format!("{histogram}_count"), confirmed, None);
    time_buckets(text, histogram, &metrics.ack_times);
    text.sample(
        &format!("{histogram}_bucket{{le=\"+Inf\"}}"),
        confirmed,
        None,
    );
    text.raw("\n");
    bucket_sums(
        text,
        "simplex_smp_delivery_ack_confirmed_count",
        "Counts for confirmed deliveries",
        "counter",
        &metrics.ack_times,
    );
    bucket_sums(
        text,
        "simplex_smp_delivery_ack_pending_count",
        "Counts for pending delivery",
        "gauge",
        &live.delivered_times,
    );
    #[rustfmt::skip]
    text.gauges(&[
        ("simplex_smp_delivery_ack_time_max", "Max time to confirm message delivery", live.delivered_times.max_time, "delivered.maxTime"),
        ("simplex_smp_subscribtion_total", "Total SMP subscriptions", live.smp_subs.subs_count, "smp.subsCount"),
        ("simplex_smp_subscribtion_clients_total", "Subscribed clients", live.smp_subs.sub_clients_count, "smp.subClientsCount"),
        ("simplex_smp_subscribtion_services_total", "Subscribed services, first counting method", live.smp_subs.sub_services_count, "smp.subServicesCount"),
        ("simplex_smp_subscription_ntf_total", "Total notification subscripbtions (from ntf server)", live.ntf_subs.subs_count, "ntf.subsCount"),
        ("simplex_smp_subscription_ntf_clients_total", "Total subscribed NTF servers", live.ntf_subs.sub_clients_count, "ntf.subClientsCount"),
        ("simplex_smp_subscribtion_nts_services_total", "Subscribed NTF services, first counting method", live.ntf_subs.sub_services_count, "ntf.subServicesCount"),
        ("simplex_smp_loaded_queues_queue_count", "Total loaded queues count (all queues for memory/journal storage)", live.loaded_counts.loaded_queue_count, "loadedCounts.loadedQueueCount"),
        ("simplex_smp_loaded_queues_ntf_count", "Total loaded ntf credential references (all ntf credentials for memory/journal storage)", live.loaded_counts.loaded_notifier_count, "loadedCounts.loadedNotifierCount"),
        ("simplex_smp_loaded_queues_open_journal_count", "Total opened queue journals (0 for memory storage)", live.loaded_counts.open_journal_count, "loadedCounts.openJournalCount"),
        ("simplex_smp_loaded_queues_queue_lock_count", "Total queue locks (0 for memory storage)", live.loaded_counts.queue_lock_count, "loadedCounts.queueLockCount"),
        ("simplex_smp_loaded_queues_ntf_lock_count", "Total notifier locks (0 for memory/journal storage)", live.loaded_counts.notifier_lock_count, "loadedCounts.notifierLockCount"),
    ]);
    // The file ends without the blank line that follows every other metric.
    if text.out.ends_with("\n\n") {
        text.out.pop();
    }
}

/// Cumulative `_bucket{le="…"}` lines (`Prometheus` binding `showTimeBuckets`): when a bucket
/// is more than 60 s above the previous one, a line at `bucket - 60` repeats the running total.
fn time_buckets(text: &mut Exposition, metric: &str, times: &TimeBuckets) {
    let (mut previous, mut total) = (0i64, 0i64);
    for (seconds, count) in &times.buckets {
        if seconds - 60 > previous {
            text.sample(
                &format!("{metric}_bucket{{le=\"{}\"}}", seconds - 60),
                total,
                None,
            );
        }
        total += count;
        text.sample(&format!("{metric}_bucket{{le=\"{seconds}\"}}"), total, None);
        previous = *seconds;
    }
}

/// A metric of sums per period label (`Prometheus` binding
/// `showBucketSums`), followed by a blank line. Quirk kept for identical output: the reference
/// selects buckets whose **count** (not time) lies in the period.
fn bucket_sums(text: &mut Exposition, metric: &str, help: &str, kind: &str, times: &TimeBuckets) {
    text.header(metric, help, kind);
    for (min, max) in [
        (0, 60),
        (60, 300),
        (300, 1200),
        (1200, 3600),
        (3600, i64::MAX),
    ] {
        let sum: i64 = times
            .buckets
            .values()
            .filter(|count| min <= **count && **count < max)
            .sum();
        let period = if max <= 3600 {
            format!("{min}-{max}")
        } else {
            format!("{min}+")
        };
        text.sample(&format!("{metric}{{period=\"{period}\"}}"), sum, None);
    }
    text.raw("\n");
}
