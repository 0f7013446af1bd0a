//! Rows of the daily CSV as `logServerStats` (Server.hs) writes them.

use super::*;
use crate::stats::{ProxyStatsData, ServerCountersData, ServerStatsData, ServiceStatsData};

const DAY: u64 = 86_400;
/// 2024-01-03 00:00 UTC, a Wednesday.
const WEDNESDAY: u64 = 19_725 * DAY;
/// 2024-01-01 00:00 UTC, a Monday and the 1st.
const MONDAY_FIRST: u64 = 19_723 * DAY;

/// Counters whose value is their CSV column number.
fn numbered_stats(from_time: Duration) -> ServerStats {
    let counters = ServerCountersData {
        q_created: 2,
        q_secured: 3,
        q_deleted_all: 4,
        msg_sent: 5,
        msg_recv: 6,
        msg_sent_ntf: 10,
        msg_recv_ntf: 11,
        q_count: 15,
        msg_count: 16,
        msg_expired: 17,
        q_deleted_new: 18,
        q_deleted_secured: 19,
        p_msg_fwds_recv: 40,
        q_sub: 41,
        q_sub_auth: 42,
        q_sub_duplicate: 43,
        q_sub_prohibited: 44,
        msg_sent_auth: 45,
        msg_sent_quota: 46,
        msg_sent_large: 47,
        msg_ntfs: 48,
        msg_ntf_no_sub: 49,
        msg_ntf_lost: 50,
        msg_recv_get: 52,
        msg_get: 53,
        msg_get_no_msg: 54,
        msg_get_auth: 55,
        msg_get_duplicate: 56,
        msg_get_prohibited: 57,
        ntf_created: 62,
        ntf_deleted: 63,
        ntf_sub: 64,
        ntf_sub_auth: 65,
        ntf_sub_duplicate: 66,
        q_deleted_all_b: 68,
        q_sub_all_b: 69,
        q_sub_end: 70,
        q_sub_end_b: 71,
        ntf_deleted_b: 72,
        ntf_sub_b: 73,
        msg_ntfs_b: 74,
        msg_ntf_expired: 75,
        ntf_count: 76,
        // Not in the CSV.
        q_blocked: 1000,
        ntf_new_created: 1001,
        msg_sent_block: 1002,
    };
    let data = ServerStatsData {
        from_time,
        counters,
        p_relays: ProxyStatsData::numbered(20),
        p_relays_own: ProxyStatsData::numbered(25),
        p_msg_fwds: ProxyStatsData::numbered(30),
        p_msg_fwds_own: ProxyStatsData::numbered(35),
        rcv_services: ServiceStatsData::numbered(81),
        ntf_services: ServiceStatsData::numbered(89),
    };
    let stats = ServerStats::default();
    stats.set(&data, &Default::default());
    stats
}

fn numbered_entities() -> EntityCounts {
    EntityCounts {
        queue_count: 61,
        notifier_count: 67,
        rcv_service_count: 77,
        ntf_service_count: 78,
        rcv_service_queues_count: 79,
        ntf_service_queues_count: 80,
    }
}

/// The row `numbered_stats` gives: column n holds n, with the given period fields.
fn expected_row(date: &str, active: [&str; 3], active_ntf: [&str; 3]) -> String {
    let mut fields = vec![date.to_owned()];
    for column in 2..=96 {
        fields.push(match column {
            7..=9 => active[column - 7].to_owned(),
            12..=14 => active_ntf[column - 12].to_owned(),
            51 | 58..=60 => "0".to_owned(),
            _ => column.to_string(),
        });
    }
    fields.join(",")
}

#[test]
fn row_columns_in_reference_order() {
    let stats = numbered_stats(Duration::from_secs(WEDNESDAY - DAY + 5));
    stats.active_queues.record(b"queue-1");
    stats.active_queues.record(b"queue-2");
    stats.active_queues_ntf.record(b"queue-1");
    let row = take_row(&stats, &numbered_entities(), Duration::from_secs(WEDNESDAY));
    assert_eq!(row.split(',').count(), 96);
    assert_eq!(
        row,
        expected_row("2024-01-02", ["2", "", ""], ["1", "", ""])
    );
    assert_eq!(stats.from_time(), Duration::from_secs(WEDNESDAY));
}

#[test]
fn row_resets_period_counters_only() {
    let stats = numbered_stats(Duration::from_secs(WEDNESDAY - DAY));
    take_row(&stats, &numbered_entities(), Duration::from_secs(WEDNESDAY));
    let c = stats.counters.data();
    // Gauges and counters outside the CSV stay; q_blocked is reset.
    assert_eq!((c.q_count, c.msg_count, c.ntf_count), (15, 16, 76));
    assert_eq!(
        (c.q_blocked, c.ntf_new_created, c.msg_sent_block),
        (0, 1001, 1002)
    );
    assert_eq!(stats.rcv_services.data(), ServiceStatsData::numbered(81));
    assert_eq!(stats.p_relays.data(), ProxyStatsData::default());
    let zeroed = ServerCountersData {
        q_count: 15,
        msg_count: 16,
        ntf_count: 76,
        ntf_new_created: 1001,
        msg_sent_block: 1002,
        ..ServerCountersData::default()
    };
    assert_eq!(c, zeroed);
}

#[test]
fn week_and_month_fields_on_monday_the_first() {
    let stats = ServerStats::new(Duration::from_secs(MONDAY_FIRST - DAY));
    stats.active_queues.record(b"a");
    let row = take_row(
        &stats,
        &EntityCounts::default(),
        Duration::from_secs(MONDAY_FIRST),
    );
    let fields: Vec<&str> = row.split(',').collect();
    assert_eq!(fields[0], "2023-12-31");
    assert_eq!(&fields[6..9], ["1", "1", "1"]);
    assert_eq!(&fields[11..14], ["0", "0", "0"]);
    assert_eq!(stats.active_queues.counts(), (0, 0, 0));
}

#[test]
fn empty_period_row() {
    let stats = ServerStats::new(Duration::from_secs(WEDNESDAY - DAY));
    let row = take_row(
        &stats,
        &EntityCounts::default(),
        Duration::from_secs(WEDNESDAY),
    );
    // Columns 2..6 zero, 7 day count 0, 8-9 empty, then 10.. zero with 13-14 empty.
    let mut expected = vec!["2024-01-02".to_owned()];
    for column in 2..=96 {
        expected.push(if matches!(column, 8 | 9 | 13 | 14) {
            String::new()
        } else {
            "0".to_owned()
        });
    }
    assert_eq!(row, expected.join(","));
}

#[test]
fn initial_delay_until_start_time() {
    let midnight = Duration::from_secs(WEDNESDAY);
    assert_eq!(initial_delay(0, midnight), Duration::ZERO);
    assert_eq!(
        initial_delay(0, midnight + Duration::from_secs(1)),
        Duration::from_secs(86_399)
    );
    assert_eq!(
        initial_delay(3_600, midnight + Duration::from_secs(600)),
        Duration::from_secs(3_000)
    );
    // Sub-second parts of "now" are dropped, as the reference uses whole seconds.
    assert_eq!(
        initial_delay(0, midnight + Duration::from_millis(999)),
        Duration::ZERO
    );
}

#[test]
fn rows_are_appended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smp-server-stats.daily.log");
    append_row(&path, "a,1").unwrap();
    append_row(&path, "b,2").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,1\nb,2\n");
}
