//! Golden texts for `smp-server-stats.log`, hand-written in the syntax of the reference's
//! `StrEncoding ServerStatsData` (Stats.hs), and the restore rules of `restoreServerStats`.

use super::*;
use crate::stats::activity::queue_hash;
use std::time::Duration;

/// Every line in the reference order; each counter has a distinct value.
const GOLDEN: &str = "fromTime=2025-06-01T12:34:56.8071455Z
qCreated=1
qSecured=2
qDeletedAll=3
qDeletedNew=4
qDeletedSecured=5
qDeletedAllB=6
qBlocked=7
qCount=8
qSub=9
qSubAllB=10
qSubAuth=11
qSubDuplicate=12
qSubProhibited=13
qSubEnd=14
qSubEndB=15
ntfCreated=16
ntfNewCreated=17
ntfDeleted=18
ntfDeletedB=19
ntfSub=20
ntfSubB=21
ntfSubAuth=22
ntfSubDuplicate=23
msgSent=24
msgSentAuth=25
msgSentQuota=26
msgSentLarge=27
msgSentBlock=28
msgRecv=29
msgRecvGet=30
msgGet=31
msgGetNoMsg=32
msgGetAuth=33
msgGetDuplicate=34
msgGetProhibited=35
msgExpired=36
msgSentNtf=37
msgRecvNtf=38
msgNtfs=39
msgNtfsB=40
msgNtfNoSub=41
msgNtfLost=42
msgNtfExpired=43
activeQueues:
dayHashes=-9000000000000000000,5
weekHashes=-9000000000000000000,5,77
monthHashes=-9000000000000000000,5,77,123456789
activeQueuesNtf:
dayHashes=
weekHashes=
monthHashes=5
pRelays:
requests=44
successes=45
errorsConnect=46
errorsCompat=47
errorsOther=48
pRelaysOwn:
requests=49
successes=50
errorsConnect=51
errorsCompat=52
errorsOther=53
pMsgFwds:
requests=54
successes=55
errorsConnect=56
errorsCompat=57
errorsOther=58
pMsgFwdsOwn:
requests=59
successes=60
errorsConnect=61
errorsCompat=62
errorsOther=63
pMsgFwdsRecv=64
rcvServices:
assocNew=65
assocDuplicate=66
assocUpdatedt=67
assocRemoved=68
subCount=69
subDuplicate=70
subQueues=71
subEnd=72
ntfServices:
assocNew=73
assocDuplicate=74
assocUpdatedt=75
assocRemoved=76
subCount=77
subDuplicate=78
subQueues=79
subEnd=80
";

/// A seed-era (2023) file: `qDeleted=`, `qSubNoMsg=`, `dayMsgQueues=` lines, nothing newer.
const SEED_ERA: &str = "fromTime=2023-05-01T00:00:00Z
qCreated=10
qSecured=9
qDeleted=3
qSub=100
qSubNoMsg=55
msgSent=200
msgRecv=190
dayMsgQueues=1,2
weekMsgQueues=1,2,3
monthMsgQueues=1,2,3,4
";

#[test]
fn golden_round_trip() {
    let (data, sets) = decode(GOLDEN).unwrap();
    assert_eq!(data.from_time, Duration::new(1_748_781_296, 807_145_500));
    assert_eq!(data.counters.q_created, 1);
    assert_eq!(data.counters.msg_ntf_expired, 43);
    assert_eq!(data.counters.p_msg_fwds_recv, 64);
    assert_eq!(data.counters.q_count, 8);
    assert_eq!((data.counters.msg_count, data.counters.ntf_count), (0, 0));
    assert_eq!(data.p_relays_own.errors_other, 53);
    assert_eq!(data.rcv_services.assoc_updated, 67);
    assert_eq!(data.ntf_services.sub_end, 80);
    assert_eq!(sets.active_queues.month.len(), 4);
    assert!(sets.active_queues.day.contains(&-9_000_000_000_000_000_000));
    assert_eq!(sets.active_queues_ntf.month, [5].into());
    assert_eq!(GOLDEN.lines().count(), 95);
    assert_eq!(encode(&data, &sets), GOLDEN);
}

#[test]
fn through_server_stats_and_back() {
    let (data, sets) = decode(GOLDEN).unwrap();
    let stats = ServerStats::default();
    stats.set(&data, &sets);
    assert_eq!(encode(&stats.data(), &stats.period_sets()), GOLDEN);
}

#[test]
fn seed_era_file_is_read() {
    let (data, sets) = decode(SEED_ERA).unwrap();
    let c = &data.counters;
    assert_eq!((c.q_created, c.q_secured, c.q_deleted_all), (10, 9, 3));
    assert_eq!((c.q_deleted_new, c.q_deleted_secured, c.q_sub), (0, 0, 100));
    assert_eq!((c.msg_sent, c.msg_recv, c.msg_expired), (200, 190, 0));
    assert_eq!(sets.active_queues.week, [1, 2, 3].into());
    assert_eq!(data.p_relays, ProxyStatsData::default());
}

#[test]
fn old_id_sets_and_subscribed_block_are_read() {
    let text = "fromTime=2024-01-01T00:00:00Z\nqCreated=1\nqSecured=1\nqDeleted=0\n\
                msgSent=0\nmsgRecv=0\nactiveQueues:\nday=YWJj,ZGVm\nweek=YWJj\nmonth=\n\
                subscribedQueues:\ndayHashes=1\nweekHashes=\nmonthHashes=\n";
    let (_, sets) = decode(text).unwrap();
    assert_eq!(
        sets.active_queues.day,
        [queue_hash(b"abc"), queue_hash(b"def")].into()
    );
    assert_eq!(sets.active_queues.week, [queue_hash(b"abc")].into());
    assert!(sets.active_queues.month.is_empty());
    assert_eq!(sets.active_queues_ntf, PeriodSets::default());
}

#[test]
fn crlf_and_missing_final_newline_are_accepted() {
    let crlf = GOLDEN.replace('\n', "\r\n");
    assert_eq!(decode(&crlf).unwrap(), decode(GOLDEN).unwrap());
    assert_eq!(decode(GOLDEN.trim_end()).unwrap(), decode(GOLDEN).unwrap());
}

#[test]
fn malformed_files_are_rejected() {
    let cases = [
        ("", 1, "fromTime=<ISO-8601 time>"),
        ("fromTime=yesterday\n", 1, "fromTime=<ISO-8601 time>"),
        ("fromTime=2024-01-01T00:00:00Z\nqSecured=1\n", 2, "qCreated="),
        (
            "fromTime=2024-01-01T00:00:00Z\nqCreated=1\nqSecured=1\nqDeleted=0\nmsgSent=0\nmsgRecv=0\n",
            7,
            "activeQueues:",
        ),
    ];
    for (text, line, expected) in cases {
        assert_eq!(
            decode(text),
            Err(StatsParseError { line, expected }),
            "{text}"
        );
    }
    // A bad number in an optional line leaves the line unconsumed; it is then unexpected.
    let bad = GOLDEN.replace("qSubAuth=11", "qSubAuth=x");
    assert!(decode(&bad).is_err());
    let trailing = format!("{GOLDEN}extra=1\n");
    assert_eq!(
        decode(&trailing),
        Err(StatsParseError {
            line: 96,
            expected: "end of file"
        })
    );
    let incomplete_block = GOLDEN.replace("errorsOther=48\n", "");
    assert!(decode(&incomplete_block).is_err());
}

#[test]
fn restore_replaces_gauges_and_renames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smp-server-stats.log");
    std::fs::write(&path, GOLDEN).unwrap();
    let stats = ServerStats::default();
    let totals = RestoredTotals {
        queue_count: 100,
        messages: Some(RestoredMessages {
            stored: 7,
            expired: 4,
        }),
        notifications: RestoredMessages {
            stored: 3,
            expired: 2,
        },
    };
    assert!(restore(&path, &stats, totals).unwrap());
    let c = stats.counters.data();
    assert_eq!((c.q_count, c.msg_count, c.ntf_count), (100, 7, 3));
    assert_eq!((c.msg_expired, c.msg_ntf_expired), (40, 45));
    assert!(!path.exists());
    assert!(dir.path().join("smp-server-stats.log.bak").exists());
    // No file: nothing to do.
    assert!(!restore(&path, &stats, totals).unwrap());
}

#[test]
fn restore_reports_parse_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smp-server-stats.log");
    std::fs::write(&path, "garbage\n").unwrap();
    let result = restore(&path, &ServerStats::default(), RestoredTotals::default());
    assert!(matches!(result, Err(RestoreError::Parse(_))));
    assert!(path.exists());
}

#[test]
fn save_writes_the_encoded_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smp-server-stats.log");
    let (data, sets) = decode(GOLDEN).unwrap();
    let stats = ServerStats::default();
    stats.set(&data, &sets);
    save(&path, &stats).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), GOLDEN);
    // Saved again over the old file.
    stats.counters.q_created.inc();
    save(&path, &stats).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("\nqCreated=2\n"));
}
