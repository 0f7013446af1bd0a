//! The Prometheus text file `smp-server-metrics.txt` (`Prometheus.prometheusMetrics`).
//!
//! Byte-for-byte the reference's layout: section comment headers, `# HELP`/`# TYPE` lines (help
//! texts and metric names, including their misspellings, are part of the interface), every
//! sample followed by a millisecond timestamp and most by a `# <internal name>` comment line.

use super::time::iso8601;
use super::{EntityCounts, ProxyStatsData, ServerStatsData, ServiceStatsData, TimeBuckets};
use std::fmt::Write as _;
use std::time::Duration;

/// The version reported in `simplex_smp_info` (`simplexMQVersion` of the reference release this
/// server replaces).
pub const REPORTED_VERSION: &str = "6.5.5.0";

/// Environment variable whose value is reported as `rts_options` (`rtsOptionsEnv`).
pub const RTS_OPTIONS_ENV: &str = "SMP_RTS_OPTIONS";

/// The `rts_options` label: the variable's value, or `set SMP_RTS_OPTIONS` when unset.
pub fn rts_options_label() -> String {
    std::env::var(RTS_OPTIONS_ENV).unwrap_or_else(|_| format!("set {RTS_OPTIONS_ENV}"))
}

/// Statistics part of the metrics (`Prometheus.ServerMetrics`), all read in O(1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerMetrics {
    pub data: ServerStatsData,
    /// Sizes of the day/week/month active-queue sets.
    pub active_queues: (i64, i64, i64),
    pub active_queues_ntf: (i64, i64, i64),
    pub entity_counts: EntityCounts,
    /// Confirmed delivery times (`msgRecvAckTimes`).
    pub ack_times: TimeBuckets,
    pub rts_options: String,
}

/// Listener socket counters of one port (`Transport.Server.SocketStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketStats {
    pub accepted: i64,
    pub closed: i64,
    pub active: i64,
    pub leaked: i64,
}

/// Subscription totals (`Prometheus.RTSubscriberMetrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriberMetrics {
    pub subs_count: i64,
    pub sub_clients_count: i64,
    pub sub_services_count: i64,
}

/// Store cache sizes (`MsgStore.Types.LoadedQueueCounts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadedQueueCounts {
    pub loaded_queue_count: i64,
    pub loaded_notifier_count: i64,
    pub open_journal_count: i64,
    pub queue_lock_count: i64,
    pub notifier_lock_count: i64,
}

/// Live figures the server provides at each write (`Prometheus.RealTimeMetrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealTimeMetrics {
    /// Per listening port, in the reference's order (last started first).
    pub socket_stats: Vec<(String, SocketStats)>,
    /// Runtime worker threads or tasks (`listThreads` in the reference).
    pub threads_count: i64,
    pub clients_count: i64,
    /// Subscriptions with a delivered, unacknowledged message, and their clients.
    pub delivered_subs: SubscriberMetrics,
    /// Ages of those unacknowledged deliveries.
    pub delivered_times: TimeBuckets,
    pub smp_subs: SubscriberMetrics,
    pub ntf_subs: SubscriberMetrics,
    pub loaded_counts: LoadedQueueCounts,
}

/// Picks one figure of a port's socket counters.
type SocketField = fn(&SocketStats) -> i64;

/// A metric with one sample: name, help text, value and the internal name written as a comment.
type Single<'a> = (&'a str, &'a str, i64, &'a str);

/// Text writer carrying the sample timestamp.
struct Exposition {
    out: String,
    timestamp: String,
}

impl Exposition {
    fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn header(&mut self, name: &str, help: &str, kind: &str) {
        // Writing to a String cannot fail.
        let _ = write!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    /// `name{labels} value timestamp`, then `# comment` when given.
    fn sample(&mut self, name: &str, value: impl std::fmt::Display, comment: Option<&str>) {
        let _ = writeln!(self.out, "{name} {value} {}", self.timestamp);
        if let Some(comment) = comment {
            let _ = writeln!(self.out, "# {comment}");
        }
    }

    /// A metric whose samples (labels, value, comment) each have a comment, followed by a blank
    /// line.
    fn metric<L: AsRef<str>, C: AsRef<str>>(
        &mut self,
        name: &str,
        help: &str,
        kind: &str,
        samples: &[(L, i64, C)],
    ) {
        self.header(name, help, kind);
        for (labels, value, comment) in samples {
            let labels = labels.as_ref();
            self.sample(&format!("{name}{labels}"), value, Some(comment.as_ref()));
        }
        self.raw("\n");
    }

    fn counter(&mut self, name: &str, help: &str, value: i64, comment: &str) {
        self.metric(name, help, "counter", &[("", value, comment)]);
    }

    fn gauge(&mut self, name: &str, help: &str, value: i64, comment: &str) {
        self.metric(name, help, "gauge", &[("", value, comment)]);
    }

    /// A counter with one sample per `type` label value (rows: type, value, comment).
    fn counter_by_type(&mut self, name: &str, help: &str, samples: &[(&str, i64, &str)]) {
        let samples: Vec<(String, i64, &str)> = samples
            .iter()
            .map(|&(kind, value, comment)| (format!("{{type=\"{kind}\"}}"), value, comment))
            .collect();
        self.metric(name, help, "counter", &samples);
    }

    /// Single-sample counters, in order (one row each: name, help, value, comment).
    fn counters(&mut self, rows: &[Single]) {
        for &(name, help, value, comment) in rows {
            self.counter(name, help, value, comment);
        }
    }

    /// Single-sample gauges, in order (one row each: name, help, value, comment).
    fn gauges(&mut self, rows: &[Single]) {
        for &(name, help, value, comment) in rows {
            self.gauge(name, help, value, comment);
        }
    }
}

/// The whole file at time `now` (`Prometheus.prometheusMetrics`).
pub fn prometheus_metrics(
    metrics: &ServerMetrics,
    live: &RealTimeMetrics,
    now: Duration,
) -> String {
    let millis = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
    let mut text = Exposition {
        out: String::with_capacity(24 * 1024),
        timestamp: millis.to_string(),
    };
    let data = &metrics.data;
    let _ = write!(
        text.out,
        "# Recorded at: {}\n# Stats from: {}\n\n",
        iso8601(now),
        iso8601(data.from_time)
    );
    queues(&mut text, metrics);
    subscriptions(&mut text, data);
    messages(&mut text, data, &metrics.entity_counts);
    notifications(&mut text, data);
    relays(&mut text, data);
    services(&mut text, data, &metrics.entity_counts);
    info::info(&mut text, metrics, live);
    text.out
}

fn queues(text: &mut Exposition, metrics: &ServerMetrics) {
    let c = &metrics.data.counters;
    let (day, week, month) = metrics.active_queues;
    let (ntf_day, ntf_week, ntf_month) = metrics.active_queues_ntf;
    text.raw("# Queues\n# ------\n\n");
    #[rustfmt::skip]
    text.counters(&[
        ("simplex_smp_queues_created", "Created queues", c.q_created, "qCreated"),
        ("simplex_smp_queues_secured", "Secured queues", c.q_secured, "qSecured"),
    ]);
    text.counter_by_type(
        "simplex_smp_queues_deleted",
        "Deleted queues",
        &[
            ("all", c.q_deleted_all, "qDeleted"),
            ("new", c.q_deleted_new, "qDeletedNew"),
            ("secured", c.q_deleted_secured, "qDeletedSecured"),
        ],
    );
    #[rustfmt::skip]
    text.counters(&[
        ("simplex_smp_queues_blocked", "Deleted queues", c.q_blocked, "qBlocked"),
        ("simplex_smp_queues_deleted_batch", "Batched requests to delete queues", c.q_deleted_all_b, "qDeletedAllB"),
    ]);
    #[rustfmt::skip]
    text.gauges(&[
        ("simplex_smp_queues_total1", "Total number of stored queues (first type of count).", c.q_count, "qCount"),
        ("simplex_smp_queues_total2", "Total number of stored queues (second type of count).", metrics.entity_counts.queue_count, "qCount2"),
        ("simplex_smp_queues_daily", "Daily active queues.", day, "dayMsgQueues"),
        ("simplex_smp_queues_weekly", "Weekly active queues.", week, "weekMsgQueues"),
        ("simplex_smp_queues_monthly", "Monthly active queues.", month, "monthMsgQueues"),
        ("simplex_smp_queues_notify_daily", "Daily active queues with notifications.", ntf_day, "dayCountNtf"),
        ("simplex_smp_queues_notify_weekly", "Weekly active queues with notifications.", ntf_week, "weekCountNtf"),
        ("simplex_smp_queues_notify_monthly", "Monthly active queues with notifications.", ntf_month, "monthCountNtf"),
    ]);
}

fn subscriptions(text: &mut Exposition, data: &ServerStatsData) {
    let c = &data.counters;
    text.raw("# Subscriptions\n# -------------\n\n");
    #[rustfmt::skip]
    text.counters(&[
        ("simplex_smp_subscribtion_successes", "Successful subscriptions.", c.q_sub, "qSub"),
        ("simplex_smp_subscribtion_successes_batch", "Batched successful subscriptions.", c.q_sub_all_b, "qSubAllB"),
        ("simplex_smp_subscribtion_end", "Ended subscriptions.", c.q_sub_end, "qSubEnd"),
        ("simplex_smp_subscribtion_end_batch", "Batched ended subscriptions.", c.q_sub_end_b, "qSubEndB"),
    ]);
    text.counter_by_type(
        "simplex_smp_subscribtion_errors",
        "Subscription errors.",
        &[
            ("auth", c.q_sub_auth, "qSubAuth"),
            ("duplicate", c.q_sub_duplicate, "qSubDuplicate"),
            ("prohibited", c.q_sub_prohibited, "qSubProhibited"),
        ],
    );
}

fn messages(text: &mut Exposition, data: &ServerStatsData, entities: &EntityCounts) {
    let c = &data.counters;
    text.raw("# Messages\n# --------\n\n");
    text.counter(
        "simplex_smp_messages_sent",
        "Sent messages.",
        c.msg_sent,
        "msgSent",
    );
    text.counter_by_type(
        "simplex_smp_messages_sent_errors",
        "Total number of messages errors by type.",
        &[
            ("auth", c.msg_sent_auth, "msgSentAuth"),
            ("quota", c.msg_sent_quota, "msgSentQuota"),
            ("large", c.msg_sent_large, "msgSentLarge"),
            ("block", c.msg_sent_block, "msgSentBlock"),
        ],
    );
    #[rustfmt::skip]
    text.counters(&[
        ("simplex_smp_messages_received", "Received messages.", c.msg_recv, "msgRecv"),
        ("simplex_smp_messages_expired", "Expired messages.", c.msg_expired, "msgExpired"),
    ]);
    text.gauge(
        "simplex_smp_messages_total",
        "Total number of messages stored.",
        c.msg_count,
        "msgCount",
    );

    text.raw("# Notification messages (client)\n# ------------------------------\n\n");
    #[rustfmt::skip]
    text.counters(&[
        ("simplex_smp_messages_notify_sent", "Sent messages with notification flag (cleint).", c.msg_sent_ntf, "msgSentNtf"),
        ("simplex_smp_messages_notify_received", "Received messages with notification flag (client).", c.msg_recv_ntf, "msgRecvNtf"),
        ("simplex_smp_messages_notify_get_sent", "Requests to get messages with notification flag (client).", c.msg_get, "msgGet"),
        ("simplex_smp_messages_notify_get_received", "Succesfully received get requests messages with notification flag (client).", c.msg_recv_get, "msgRecvGet"),
    ]);
    text.counter_by_type(
        "simplex_smp_messages_notify_get_errors",
        "Error events with messages with notification flag (client). ",
        &[
            ("nomsg", c.msg_get_no_msg, "msgGetNoMsg"),
            ("auth", c.msg_get_auth, "msgGetAuth"),
            ("duplicate", c.msg_get_duplicate, "msgGetDuplicate"),
            ("prohibited", c.msg_get_prohibited, "msgGetProhibited"),
        ],
    );
    #[rustfmt::skip]
    text.counters(&[
        ("simplex_smp_queues_notify_created", "Created queue notification credentials.", c.ntf_created, "ntfCreated"),
        ("simplex_smp_queues_notify_new_created", "Created new queues with notification credentials.", c.ntf_new_created, "ntfNewCreated"),
        ("simplex_smp_queues_notify_deleted", "Deleted queue notification credentials.", c.ntf_deleted, "ntfDeleted"),
        ("simplex_smp_queues_notify_deleted_batch", "Deleted batched queue notification credentials.", c.ntf_deleted_b, "ntfDeletedB"),
    ]);
    #[rustfmt::skip]
    text.gauges(&[
        ("simplex_smp_queues_notify_total1", "Total number of stored queues with notification flag (first type of count).", c.ntf_count, "ntfCount1"),
        ("simplex_smp_queues_notify_total2", "Total number of stored queues with notification flag (second type of count).", entities.notifier_count, "ntfCount2"),
    ]);
}

fn notifications(text: &mut Exposition, data: &ServerStatsData) {
    let c = &data.counters;
    text.raw("# Notifications (server)\n# ----------------------\n\n");
    #[rustfmt::skip]
    text.counters(&[
        ("simplex_smp_messages_ntf_successes", "Successful events with notification messages (to ntf server). ", c.msg_ntfs, "msgNtfs"),
        ("simplex_smp_messages_ntf_successes_batch", "Successful batched events with notification messages (to ntf server). ", c.msg_ntfs_b, "msgNtfsB"),
    ]);
    text.counter_by_type(
        "simplex_smp_messages_ntf_errors",
        "Error events with notification messages (to ntf server). ",
        &[
            ("nosub", c.msg_ntf_no_sub, "msgNtfNoSub"),
            ("lost", c.msg_ntf_lost, "msgNtfLost"),
            ("expired", c.msg_ntf_expired, "msgNtfExpired"),
        ],
    );
    #[rustfmt::skip]
    text.counters(&[
        ("simplex_smp_subscription_ntf_requests", "Subscription requests with notification flag (from ntf server). ", c.ntf_sub, "ntfSub"),
        ("simplex_smp_subscription_ntf_requests_batch", "Batched subscription requests with notification flag (from ntf server). ", c.ntf_sub_b, "ntfSubB"),
    ]);
    text.counter_by_type(
        "simplex_smp_subscribtion_ntf_errors",
        "Subscription errors with notification flag (from ntf server). ",
        &[
            ("auth", c.ntf_sub_auth, "ntfSubAuth"),
            ("duplicate", c.ntf_sub_duplicate, "ntfSubDuplicate"),
        ],
    );
}

fn relays(text: &mut Exposition, data: &ServerStatsData) {
    text.raw("# Relays\n# ------\n\n");
    let relays = [
        (
            "sessions",
            [
                (&data.p_relays, "pRelays"),
                (&data.p_relays_own, "pRelaysOwn"),
            ],
            [
                "Session requests through relay.",
                "Successful session events through relay.",
                "Error session events through relay.",
            ],
        ),
        (
            "messages",
            [
                (&data.p_msg_fwds, "pMsgFwds"),
                (&data.p_msg_fwds_own, "pMsgFwdsOwn"),
            ],
            [
                "Message requests sent through relay.",
                "Successful messages sent through relay.",
                "Error events with messages sent through relay.",
            ],
        ),
    ];
    for (kind, sources, [requests_help, successes_help, errors_help]) in relays {
        let by_source = |pick: fn(&ProxyStatsData) -> i64, field: &str| {
            sources
                .iter()
                .zip(["all", "own"])
                .map(|((stats, name), source)| {
                    (
                        format!("{{source=\"{source}\"}}"),
                        pick(stats),
                        format!("{name}_{field}"),
                    )
                })
                .collect::<Vec<_>>()
        };
        let name = format!("simplex_smp_relay_{kind}_requests");
        text.metric(
            &name,
            requests_help,
            "counter",
            &by_source(|p| p.requests, "pRequests"),
        );
        let name = format!("simplex_smp_relay_{kind}_successes");
        text.metric(
            &name,
            successes_help,
            "counter",
            &by_source(|p| p.successes, "pSuccesses"),
        );
        let mut errors = Vec::new();
        for ((stats, name), source) in sources.iter().zip(["all", "own"]) {
            for (error, value, field) in [
                ("connect", stats.errors_connect, "pErrorsConnect"),
                ("compat", stats.errors_compat, "pErrorsCompat"),
                ("other", stats.errors_other, "pErrorsOther"),
            ] {
                let labels = format!("{{source=\"{source}\",type=\"{error}\"}}");
                errors.push((labels, value, format!("{name}_{field}")));
            }
        }
        let name = format!("simplex_smp_relay_{kind}_errors");
        text.metric(&name, errors_help, "counter", &errors);
    }
    text.counter(
        "simplex_smp_relay_messages_received",
        "Relay messages statistics.",
        data.counters.p_msg_fwds_recv,
        "pMsgFwdsRecv",
    );
}

fn services(text: &mut Exposition, data: &ServerStatsData, entities: &EntityCounts) {
    text.raw("# Services\n# --------\n");
    #[rustfmt::skip]
    text.gauges(&[
        ("simplex_smp_rcv_services_count", "The count of receiving services.", entities.rcv_service_count, "rcvServiceCount"),
        ("simplex_smp_rcv_services_queues_count", "The count of queues associated with receiving services.", entities.rcv_service_queues_count, "rcv.rcvServiceQueuesCount"),
        ("simplex_smp_ntf_services_count", "The count of notification services.", entities.ntf_service_count, "ntfServiceCount"),
        ("simplex_smp_ntf_services_queues_count", "The count of queues associated with notification services.", entities.ntf_service_queues_count, "ntfServiceQueuesCount"),
    ]);
    service_metrics(text, &data.rcv_services, "rcv", "receiving");
    service_metrics(text, &data.ntf_services, "ntf", "notification");
}

fn service_metrics(text: &mut Exposition, stats: &ServiceStatsData, prefix: &str, name: &str) {
    for (suffix, help, kind, value, field) in [
        (
            "assoc_new",
            "New queue associations with",
            "counter",
            stats.assoc_new,
            "srvAssocNew",
        ),
        (
            "assoc_duplicate",
            "Duplicate queue associations with",
            "counter",
            stats.assoc_duplicate,
            "srvAssocDuplicate",
        ),
        (
            "assoc_updated",
            "Updated queue associations with",
            "counter",
            stats.assoc_updated,
            "srvAssocUpdated",
        ),
        (
            "assoc_removed",
            "Removed queue associations with",
            "counter",
            stats.assoc_removed,
            "srvAssocRemoved",
        ),
        (
            "sub_count",
            "Service subscriptions by",
            "counter",
            stats.sub_count,
            "srvSubCount",
        ),
        (
            "sub_duplicate",
            "Duplicate service subscriptions by",
            "counter",
            stats.sub_duplicate,
            "srvSubDuplicate",
        ),
        (
            "sub_queues",
            "Queues subscribed by",
            "gauge",
            stats.sub_queues,
            "srvSubQueues",
        ),
        (
            "sub_end",
            "Ended subscriptions with",
            "gauge",
            stats.sub_end,
            "srvSubEnd",
        ),
    ] {
        text.metric(
            &format!("simplex_smp_{prefix}_services_{suffix}"),
            &format!("{help} {name} services."),
            kind,
            &[("", value, &format!("{prefix}.{field}"))],
        );
    }
}

#[path = "metrics_info.rs"]
mod info;

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
