//! The metrics text against a golden file expanded mechanically from the string template of
//! `Prometheus.prometheusMetrics` (6.5.5), with every `mshow` value numbered in template order
//! (101…194 for statistics, 201…215 for live figures) at time 1700000000.123 s.

use super::*;
use crate::stats::{ProxyStatsData, ServerCountersData, ServiceStatsData};
use std::collections::BTreeMap;

const GOLDEN: &str = include_str!("metrics_golden.txt");

fn proxy(
    requests: i64,
    own_requests: i64,
    successes: i64,
    own_successes: i64,
    errors: i64,
) -> [ProxyStatsData; 2] {
    [
        ProxyStatsData {
            requests,
            successes,
            errors_connect: errors,
            errors_compat: errors + 1,
            errors_other: errors + 2,
        },
        ProxyStatsData {
            requests: own_requests,
            successes: own_successes,
            errors_connect: errors + 3,
            errors_compat: errors + 4,
            errors_other: errors + 5,
        },
    ]
}

fn numbered_metrics() -> ServerMetrics {
    let counters = ServerCountersData {
        q_created: 101,
        q_secured: 102,
        q_deleted_all: 103,
        q_deleted_new: 104,
        q_deleted_secured: 105,
        q_blocked: 106,
        q_deleted_all_b: 107,
        q_count: 108,
        q_sub: 116,
        q_sub_all_b: 117,
        q_sub_end: 118,
        q_sub_end_b: 119,
        q_sub_auth: 120,
        q_sub_duplicate: 121,
        q_sub_prohibited: 122,
        msg_sent: 123,
        msg_sent_auth: 124,
        msg_sent_quota: 125,
        msg_sent_large: 126,
        msg_sent_block: 127,
        msg_recv: 128,
        msg_expired: 129,
        msg_count: 130,
        msg_sent_ntf: 131,
        msg_recv_ntf: 132,
        msg_get: 133,
        msg_recv_get: 134,
        msg_get_no_msg: 135,
        msg_get_auth: 136,
        msg_get_duplicate: 137,
        msg_get_prohibited: 138,
        ntf_created: 139,
        ntf_new_created: 140,
        ntf_deleted: 141,
        ntf_deleted_b: 142,
        ntf_count: 143,
        msg_ntfs: 145,
        msg_ntfs_b: 146,
        msg_ntf_no_sub: 147,
        msg_ntf_lost: 148,
        msg_ntf_expired: 149,
        ntf_sub: 150,
        ntf_sub_b: 151,
        ntf_sub_auth: 152,
        ntf_sub_duplicate: 153,
        p_msg_fwds_recv: 174,
    };
    let [p_relays, p_relays_own] = proxy(154, 155, 156, 157, 158);
    let [p_msg_fwds, p_msg_fwds_own] = proxy(164, 165, 166, 167, 168);
    ServerMetrics {
        data: ServerStatsData {
            from_time: Duration::from_secs(1_698_796_800),
            counters,
            p_relays,
            p_relays_own,
            p_msg_fwds,
            p_msg_fwds_own,
            rcv_services: ServiceStatsData::numbered(179),
            ntf_services: ServiceStatsData::numbered(187),
        },
        active_queues: (110, 111, 112),
        active_queues_ntf: (113, 114, 115),
        entity_counts: EntityCounts {
            queue_count: 109,
            notifier_count: 144,
            rcv_service_count: 175,
            rcv_service_queues_count: 176,
            ntf_service_count: 177,
            ntf_service_queues_count: 178,
        },
        ack_times: TimeBuckets {
            sum_time: 300,
            max_time: 0,
            buckets: BTreeMap::from([(0, 5), (5, 61), (120, 1), (600, 400), (4000, 2)]),
        },
        rts_options: "set SMP_RTS_OPTIONS".to_owned(),
    }
}

fn numbered_live() -> RealTimeMetrics {
    let socket = |first: i64| SocketStats {
        accepted: first,
        closed: first + 1,
        active: first + 2,
        leaked: first + 3,
    };
    let subscribers = |first: i64| SubscriberMetrics {
        subs_count: first,
        sub_clients_count: first + 1,
        sub_services_count: first + 2,
    };
    RealTimeMetrics {
        socket_stats: vec![
            ("5223".to_owned(), socket(1)),
            ("443".to_owned(), socket(5)),
        ],
        threads_count: 201,
        clients_count: 202,
        delivered_subs: SubscriberMetrics {
            subs_count: 203,
            sub_clients_count: 204,
            sub_services_count: 0,
        },
        delivered_times: TimeBuckets {
            sum_time: 0,
            max_time: 250,
            buckets: BTreeMap::from([(3, 2), (10, 70), (240, 1)]),
        },
        smp_subs: subscribers(205),
        ntf_subs: subscribers(208),
        loaded_counts: LoadedQueueCounts {
            loaded_queue_count: 211,
            loaded_notifier_count: 212,
            open_journal_count: 213,
            queue_lock_count: 214,
            notifier_lock_count: 215,
        },
    }
}

#[test]
fn golden_metrics_text() {
    let text = prometheus_metrics(
        &numbered_metrics(),
        &numbered_live(),
        Duration::from_millis(1_700_000_000_123),
    );
    for (number, (actual, expected)) in text.lines().zip(GOLDEN.lines()).enumerate() {
        assert_eq!(actual, expected, "line {}", number + 1);
    }
    assert_eq!(text, GOLDEN);
}

#[test]
fn empty_histograms_and_no_sockets() {
    let metrics = ServerMetrics {
        rts_options: "+RTS -N -RTS".to_owned(),
        ..ServerMetrics::default()
    };
    let text = prometheus_metrics(
        &metrics,
        &RealTimeMetrics::default(),
        Duration::from_secs(1),
    );
    assert!(text.starts_with(
        "# Recorded at: 1970-01-01T00:00:01Z\n# Stats from: 1970-01-01T00:00:00Z\n\n"
    ));
    assert!(text.contains("simplex_smp_info{version=\"6.5.5.0\",rts_options=\"+RTS -N -RTS\"} 1\n"));
    assert!(text.contains(
        "# TYPE simplex_smp_sockets_accepted gauge\n\n# HELP simplex_smp_sockets_closed"
    ));
    assert!(text.contains(
        "simplex_smp_delivery_ack_confirmed_time_count 0 1000\n\
         simplex_smp_delivery_ack_confirmed_time_bucket{le=\"+Inf\"} 0 1000\n\n"
    ));
    assert!(text.ends_with("# loadedCounts.notifierLockCount\n"));
}
