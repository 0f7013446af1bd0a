//! Store log files: a hand-written log in the reference's syntax (every record type, old and new
//! line forms) loads into the expected state and compacts to the expected lines; torn and
//! damaged lines; `.start` recovery and backup pruning (`StoreLog.hs: readWriteStoreLog`,
//! `removeStoreLogBackups`); replay == compaction + replay over random operations.

use super::*;
use crate::compaction::CompactionOutcome;
use crate::log_record::tests::{DH1, DH4, ED1, ED2, X3};
use crate::record::{NotifierCreds, QueueParty, QueueRecord, ServiceParty};
use crate::text::put_base64;
use proptest::prelude::*;
use smp_proto::command::QueueLinkData;
use smp_proto::crypto::DhSecret;
use smp_proto::error::{BlockingInfo, BlockingReason};
use smp_proto::ids::EntityId;
use smp_proto::keys::AuthKey;
use std::time::{Duration, UNIX_EPOCH};

fn b64(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    put_base64(&mut out, bytes);
    String::from_utf8(out).unwrap()
}

fn i(n: u8) -> String {
    b64(&[n; 24])
}

fn hand_written_log() -> String {
    let (id1, id2, id3, id4, id5, id6, id7, id8, id9, id10) =
        (i(1), i(2), i(3), i(4), i(5), i(6), i(7), i(8), i(9), i(10));
    let fixed = b64(b"fixed data");
    let user = b64(b"user data");
    let user2 = b64(b"user data 2");
    [
        format!("NEW_SERVICE service_id={id3} role=N cert=MIJjZXJ0 cert_hash=aGFzaA== created_at=1749945600"),
        // 2023 form: one key, no mode, no time.
        format!("CREATE rid={id1} rk={ED1} rdh={DH1} sid={id2} sk="),
        // sndSecure era with a notifier.
        format!("CREATE rid={id4} rk={ED1} rdh={DH1} sid={id5} sk={ED2} sndSecure=T notifier={id6} {X3} {DH4} updated_at=1749945600"),
        format!("CREATE rid={id7} rk={ED1} rdh={DH1} sid={id8} sk= queue_mode=C updated_at=1749945600"),
        format!("SECURE {id1} {ED2}"),
        format!("KEYS {id7} {ED1},{X3}"),
        format!("LINK {id7} {id9} {fixed} {user}"),
        format!("LINK {id7} {id9} {fixed} {user2}"),
        format!("NOTIFIER {id1} {id10} {X3} {DH4}"),
        format!("QUEUE_SERVICE {id1} N {id3}"),
        format!("TIME {id1} 1750032000"),
        format!("SUSPEND {id4}"),
        format!("BLOCK {id7} reason=spam,notice={{\"ttl\":60}}"),
        format!("UNBLOCK {id7}"),
        format!("NDELETE {id4}"),
        format!("DELETE {id4}"),
        // A newer version's record: skipped.
        format!("RENAME {id1} {id2}"),
        // Changes to missing queues: reported and skipped.
        format!("DELETE {}", i(11)),
        format!("SECURE {id4} {ED1}"),
        format!("LDELETE {id1}"),
        format!("CREATE rid={id9} rk={ED1} rdh={DH1} sid={id2} sk="),
    ]
    .join("\n")
        + "\n"
}

fn expected_compacted() -> String {
    let (id1, id2, id3, id7, id8, id9, id10) = (i(1), i(2), i(3), i(7), i(8), i(9), i(10));
    let fixed = b64(b"fixed data");
    let user2 = b64(b"user data 2");
    [
        format!("NEW_SERVICE service_id={id3} role=N cert=MIJjZXJ0 cert_hash=aGFzaA== created_at=1749945600"),
        format!("CREATE rid={id1} rk={ED1} rdh={DH1} sid={id2} sk={ED2} notifier={id10} {X3} {DH4} nsrv={id3} updated_at=1750032000"),
        format!("CREATE rid={id7} rk={ED1},{X3} rdh={DH1} sid={id8} sk= queue_mode=C link_id={id9} queue_data={fixed} {user2} updated_at=1749945600"),
    ]
    .join("\n")
        + "\n"
}

pub(crate) fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_100_000)
}

/// Opens `path` at start as the server does, stopping at damage, without fsync.
fn open_strict(path: &Path, store: &QueueStore) -> StartReport {
    open_store_log(path, store, DamagePolicy::Strict, FsyncPolicy::Never, now()).unwrap()
}

fn check_expected_state(store: &QueueStore) {
    let (_, first) = store.queue(QueueParty::Sender, &[2; 24]).unwrap();
    assert_eq!(first.sender_key, Some(AuthKey::Ed25519([2; 32])));
    assert_eq!(first.queue_mode, None);
    assert_eq!(first.updated_at, Some(1_750_032_000));
    assert_eq!(
        first.notifier,
        Some(NotifierCreds {
            notifier_id: EntityId::from([10; 24]),
            notifier_key: AuthKey::X25519([3; 32]),
            rcv_ntf_dh_secret: DhSecret([4; 32]),
            service_id: Some(EntityId::from([3; 24])),
        })
    );
    let (_, contact) = store.queue(QueueParty::Link, &[9; 24]).unwrap();
    assert_eq!(
        contact.recipient_keys,
        vec![AuthKey::Ed25519([1; 32]), AuthKey::X25519([3; 32])]
    );
    assert_eq!(contact.link.unwrap().1.user, b"user data 2");
    assert_eq!(contact.status, crate::record::QueueStatus::Active);
    assert!(store.queue(QueueParty::Recipient, &[4; 24]).is_err());
    assert_eq!(store.counts().queues, 2);
    assert_eq!(
        store.service_queue_count(ServiceParty::Notifier, &EntityId::from([3; 24])),
        Ok(1)
    );
}

#[test]
fn hand_written_log_loads_and_compacts() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-store.log");
    std::fs::write(&path, hand_written_log()).unwrap();
    let store = QueueStore::new();
    let report = open_strict(&path, &store);
    check_expected_state(&store);
    let replay = report.replay.unwrap();
    assert_eq!(replay.lines, 21);
    assert_eq!(replay.skipped_lines.len(), 1);
    assert_eq!(replay.skipped_lines[0].line, 17);
    let failed: Vec<usize> = replay
        .failed_changes
        .iter()
        .map(|issue| issue.line)
        .collect();
    assert_eq!(failed, vec![18, 19, 21]);
    assert_eq!(replay.torn_tail, None);
    assert!(report.compacting_in_background);
    let Some(CompactionOutcome::Done(compaction)) = store.finish_compaction() else {
        panic!("not compacted");
    };
    assert_eq!(compaction.records, 3);
    assert_eq!(compaction.tail_bytes, 0);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        expected_compacted()
    );
    let backup = compaction.backup;
    assert_eq!(
        backup.file_name().unwrap().to_str().unwrap(),
        "smp-server-store.log.2025-06-16T18:53:20Z"
    );
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        hand_written_log()
    );
    assert!(!directory.path().join("smp-server-store.log.start").exists());
    assert!(!directory
        .path()
        .join("smp-server-store.log.compacting")
        .exists());

    // Appends go to the compacted file; a second start reads both back.
    store.suspend_queue(&EntityId::from([1; 24])).unwrap();
    let mut writer = store.take_store_log().unwrap();
    writer.sync().unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with(&expected_compacted()));
    let again = QueueStore::new();
    let later = now() + Duration::from_secs(1);
    open_store_log(
        &path,
        &again,
        DamagePolicy::Strict,
        FsyncPolicy::EveryRecord,
        later,
    )
    .unwrap();
    check_expected_state_after_suspend(&again);
}

#[test]
fn torn_last_line_is_compacted_before_appending() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-store.log");
    let mut text = hand_written_log();
    text.push_str(&format!("SECURE {} MCowBQYD", i(7)));
    std::fs::write(&path, &text).unwrap();
    let store = QueueStore::new();
    let report = open_strict(&path, &store);
    // Compacted before returning: nothing is ever appended to the fragment.
    assert!(!report.compacting_in_background);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        expected_compacted()
    );
    store.suspend_queue(&EntityId::from([1; 24])).unwrap();
    assert!(matches!(
        store.finish_compaction(),
        Some(CompactionOutcome::Done(_))
    ));
    drop(store.take_store_log());
    let again = QueueStore::new();
    let replay = replay_store_log(&path, &again, DamagePolicy::Strict).unwrap();
    assert_eq!(replay.torn_tail, None);
    check_expected_state_after_suspend(&again);
}

fn check_expected_state_after_suspend(store: &QueueStore) {
    let (_, first) = store.queue(QueueParty::Recipient, &[1; 24]).unwrap();
    assert_eq!(first.status, crate::record::QueueStatus::Off);
}

#[test]
fn missing_file_is_created_empty() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-store.log");
    let store = QueueStore::new();
    let report = open_strict(&path, &store);
    assert_eq!(report.replay, None);
    assert!(store.finish_compaction().is_none());
    assert_eq!(std::fs::read(&path).unwrap(), b"");
}

#[test]
fn torn_last_line_is_dropped() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-store.log");
    let mut text = hand_written_log();
    text.push_str(&format!("SECURE {} MCowBQYD", i(7)));
    std::fs::write(&path, &text).unwrap();
    let store = QueueStore::new();
    let report = replay_store_log(&path, &store, DamagePolicy::Strict).unwrap();
    assert_eq!(report.torn_tail.unwrap().line, 22);
    check_expected_state(&store);
    // A complete last line without `\n` is applied.
    std::fs::write(&path, format!("{}SUSPEND {}", hand_written_log(), i(1))).unwrap();
    let store = QueueStore::new();
    let report = replay_store_log(&path, &store, DamagePolicy::Strict).unwrap();
    assert_eq!(report.torn_tail, None);
    check_expected_state_after_suspend(&store);
}

#[test]
fn damaged_middle_line_names_file_and_line() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-store.log");
    let text = hand_written_log().replacen("SECURE", "SECURE !!", 1);
    std::fs::write(&path, &text).unwrap();
    let error = replay_store_log(&path, &QueueStore::new(), DamagePolicy::Strict).unwrap_err();
    match &error {
        StoreLogError::Damaged {
            path: damaged,
            line,
            ..
        } => {
            assert_eq!(damaged, &path);
            assert_eq!(*line, 5);
        }
        other => panic!("{other}"),
    }
    assert!(error.to_string().contains("smp-server-store.log, line 5"));
    // Lenient: skipped like the reference.
    let store = QueueStore::new();
    let report = replay_store_log(&path, &store, DamagePolicy::Lenient).unwrap();
    assert_eq!(report.skipped_lines.len(), 2);
    assert_eq!(
        store
            .queue(QueueParty::Recipient, &[1; 24])
            .unwrap()
            .1
            .sender_key,
        None
    );
    // Start refuses to compact a damaged file and leaves it in place.
    let failed = open_store_log(
        &path,
        &QueueStore::new(),
        DamagePolicy::Strict,
        FsyncPolicy::Never,
        now(),
    );
    assert!(failed.is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn failed_append_answers_store_error_and_keeps_the_change() {
    // `/dev/full` refuses every write with ENOSPC, for root too (`withLog'`: the change stays
    // in memory, the command gets `ERR STORE`).
    let Ok(writer) = StoreLogWriter::open_append(Path::new("/dev/full"), FsyncPolicy::Never) else {
        return;
    };
    let store = QueueStore::new();
    store.set_store_log(writer);
    let mut queue = crate::log_record::tests::plain_queue(2);
    queue.updated_at = None;
    let error = store.add_queue(EntityId::from([1; 24]), queue).unwrap_err();
    match &error {
        crate::StoreError::Log(text) => {
            assert!(text.starts_with("addStoreQueue, withLog, "), "{text}");
        }
        other => panic!("{other}"),
    }
    assert!(matches!(
        smp_proto::error::ErrorType::from(error),
        smp_proto::error::ErrorType::Store(_)
    ));
    assert!(store.queue(QueueParty::Recipient, &[1; 24]).is_ok());
    // The next change fails the same way, and the store keeps working.
    assert!(matches!(
        store.suspend_queue(&EntityId::from([1; 24])),
        Err(crate::StoreError::Log(_))
    ));
}

#[test]
fn interrupted_compaction_restores_start_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-store.log");
    std::fs::write(with_suffix(&path, ".start"), hand_written_log()).unwrap();
    std::fs::write(&path, "CREATE rid=partial").unwrap();
    let store = QueueStore::new();
    let report = open_strict(&path, &store);
    assert!(report.restored_from_start);
    assert!(matches!(
        store.finish_compaction(),
        Some(CompactionOutcome::Done(_))
    ));
    assert_eq!(
        std::fs::read_to_string(with_suffix(&path, ".bak")).unwrap(),
        "CREATE rid=partial"
    );
    check_expected_state(&store);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        expected_compacted()
    );
}

#[test]
fn backup_pruning_keeps_recent_and_three_old() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-store.log");
    let now_seconds = Timestamp::from_system(now()).seconds;
    let ages_in_days = [0.5, 2.0, 22.0, 23.0, 30.0, 40.0, 50.0];
    for age in ages_in_days {
        let time = Timestamp {
            seconds: now_seconds - (age * 86_400.0) as i64,
            nanos: 1_500,
        };
        std::fs::write(with_suffix(&path, &format!(".{}", time.to_iso8601())), "").unwrap();
    }
    std::fs::write(with_suffix(&path, ".bak"), "").unwrap();
    std::fs::write(directory.path().join("other.log.2020-01-01T00:00:00Z"), "").unwrap();
    let removed = remove_store_log_backups(&path, now()).unwrap();
    // Older than a day: 2, 22, 23, 30, 40, 50 days; the newest three (2, 22, 23) stay; of the
    // rest, those older than 21 days go.
    assert_eq!(removed.len(), 3);
    let left = std::fs::read_dir(directory.path()).unwrap().count();
    assert_eq!(left, 4 + 1 + 1);
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Create {
        recipient: u8,
        sender: u8,
        notifier: Option<u8>,
        link: Option<u8>,
    },
    Secure(u8, u8),
    Keys(u8, Vec<u8>),
    Link(u8, u8, u8, u8),
    DeleteLink(u8),
    Notifier(u8, u8),
    DeleteNotifier(u8),
    Suspend(u8),
    Block(u8, bool),
    Unblock(u8),
    Delete(u8),
    Time(u8, i64),
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    let small = 0u8..8;
    prop_oneof![
        3 => (small.clone(), small.clone(), proptest::option::of(small.clone()), proptest::option::of(small.clone()))
            .prop_map(|(recipient, sender, notifier, link)| Op::Create { recipient, sender, notifier, link }),
        1 => (small.clone(), 0u8..3).prop_map(|(r, k)| Op::Secure(r, k)),
        1 => (small.clone(), proptest::collection::vec(0u8..3, 1..3)).prop_map(|(r, k)| Op::Keys(r, k)),
        1 => (small.clone(), small.clone(), 0u8..2, 0u8..3).prop_map(|(r, l, f, u)| Op::Link(r, l, f, u)),
        1 => small.clone().prop_map(Op::DeleteLink),
        1 => (small.clone(), small.clone()).prop_map(|(r, n)| Op::Notifier(r, n)),
        1 => small.clone().prop_map(Op::DeleteNotifier),
        1 => small.clone().prop_map(Op::Suspend),
        1 => (small.clone(), any::<bool>()).prop_map(|(r, b)| Op::Block(r, b)),
        1 => small.clone().prop_map(Op::Unblock),
        1 => small.clone().prop_map(Op::Delete),
        1 => (small, 0i64..3).prop_map(|(r, d)| Op::Time(r, d * 86_400)),
    ]
}

fn key(n: u8) -> AuthKey {
    if n == 2 {
        AuthKey::Ed448([n; 57])
    } else {
        AuthKey::Ed25519([n; 32])
    }
}

fn rid(n: u8) -> EntityId {
    EntityId::from([n; 24])
}

/// Ids of different spaces never share bytes unless the test wants them to collide.
fn other_id(space: u8, n: u8) -> EntityId {
    let mut bytes = [n; 24];
    bytes[0] = space;
    EntityId::from(bytes)
}

pub(crate) fn run(store: &QueueStore, op: &Op) {
    let data = |f: u8, u: u8| QueueLinkData {
        fixed: vec![f; 3],
        user: vec![u; 2],
    };
    let _ = match op.clone() {
        Op::Create {
            recipient,
            sender,
            notifier,
            link,
        } => store
            .add_queue(
                rid(recipient),
                QueueRecord {
                    recipient_keys: vec![key(recipient % 3)],
                    rcv_dh_secret: DhSecret([recipient; 32]),
                    sender_id: other_id(100, sender),
                    sender_key: None,
                    queue_mode: None,
                    link: link.map(|l| (other_id(101, l), data(0, 0))),
                    notifier: notifier.map(|n| NotifierCreds {
                        notifier_id: other_id(102, n),
                        notifier_key: key(n % 3),
                        rcv_ntf_dh_secret: DhSecret([n; 32]),
                        service_id: None,
                    }),
                    status: crate::record::QueueStatus::Active,
                    updated_at: None,
                    rcv_service_id: None,
                },
            )
            .map(drop),
        Op::Secure(r, k) => store.secure_queue(&rid(r), key(k)),
        Op::Keys(r, keys) => {
            store.update_recipient_keys(&rid(r), keys.into_iter().map(key).collect())
        }
        Op::Link(r, l, f, u) => store.set_link_data(&rid(r), other_id(101, l), data(f, u)),
        Op::DeleteLink(r) => store.delete_link_data(&rid(r)),
        Op::Notifier(r, n) => store
            .add_notifier(
                &rid(r),
                NotifierCreds {
                    notifier_id: other_id(102, n),
                    notifier_key: key(n % 3),
                    rcv_ntf_dh_secret: DhSecret([n; 32]),
                    service_id: None,
                },
            )
            .map(drop),
        Op::DeleteNotifier(r) => store.delete_notifier(&rid(r)).map(drop),
        Op::Suspend(r) => store.suspend_queue(&rid(r)),
        Op::Block(r, spam) => store.block_queue(
            &rid(r),
            BlockingInfo {
                reason: if spam {
                    BlockingReason::Spam
                } else {
                    BlockingReason::Content
                },
                notice: None,
            },
        ),
        Op::Unblock(r) => store.unblock_queue(&rid(r)),
        Op::Delete(r) => store.delete_queue(&rid(r)).map(drop),
        Op::Time(r, t) => store.update_time(&rid(r), t).map(drop),
    };
}

pub(crate) fn state(store: &QueueStore) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    store.snapshot_records(|record| lines.push(record.to_line()));
    lines
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn replay_equals_compaction_then_replay(ops in proptest::collection::vec(op(), 0..60)) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("smp-server-store.log");
        let live = QueueStore::new();
        live.set_store_log(StoreLogWriter::open_append(&path, FsyncPolicy::Never).unwrap());
        for op in &ops {
            run(&live, op);
        }
        drop(live.take_store_log());
        let replayed = QueueStore::new();
        let report = replay_store_log(&path, &replayed, DamagePolicy::Strict).unwrap();
        prop_assert!(report.failed_changes.is_empty());
        prop_assert_eq!(state(&replayed), state(&live));
        let compacted = QueueStore::new();
        open_store_log(&path, &compacted, DamagePolicy::Strict, FsyncPolicy::Never, now()).unwrap();
        prop_assert!(matches!(compacted.finish_compaction(), Some(CompactionOutcome::Done(_))));
        let again = QueueStore::new();
        let report = replay_store_log(&path, &again, DamagePolicy::Strict).unwrap();
        prop_assert!(report.failed_changes.is_empty());
        prop_assert_eq!(state(&again), state(&live));
        prop_assert_eq!(again.counts(), live.counts());
    }
}

/// A `CREATE` line for queue `n` (ids from `n`'s bytes), with a notifier when asked.
fn create_line(n: u32, notifier: bool) -> String {
    let id = |space: u8| {
        let mut bytes = [space; 24];
        bytes[..4].copy_from_slice(&n.to_be_bytes());
        b64(&bytes)
    };
    let mut line = format!(
        "CREATE rid={} rk={ED1} rdh={DH1} sid={} sk= queue_mode=M",
        id(1),
        id(2)
    );
    if notifier {
        line.push_str(&format!(" notifier={} {X3} {DH4}", id(3)));
    }
    line.push_str(" updated_at=1749945600\n");
    line
}

#[test]
fn estimate_samples_the_whole_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-store.log");
    // The first fifth of the queues have notifiers (longer lines), then every third line is a
    // change rather than a queue.
    let mut text = String::new();
    for n in 0..6000u32 {
        text.push_str(&create_line(n, n < 1200));
        if n >= 1200 && n % 2 == 0 {
            text.push_str(&format!("DELETE {}\n", i(1)));
        }
    }
    std::fs::write(&path, &text).unwrap();
    let estimate = estimate_entities(&File::open(&path).unwrap());
    // Sampling error: a quarter either way at most, here.
    let near =
        |estimate: usize, truth: usize| estimate >= truth * 3 / 4 && estimate <= truth * 5 / 4;
    assert!(near(estimate.queues, 6000), "{estimate:?}");
    assert!(near(estimate.notifiers, 1200), "{estimate:?}");
    assert_eq!(estimate.links, 0);
    std::fs::write(&path, "").unwrap();
    assert_eq!(
        estimate_entities(&File::open(&path).unwrap()),
        Estimate::default()
    );
}

#[test]
fn failures_across_many_chunks_keep_their_line_numbers() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("smp-server-store.log");
    // Several chunks of lines; a duplicate queue, a change to a missing queue and an unknown
    // record far apart, and a torn last line.
    let mut text = String::new();
    let mut line = 0;
    let (mut duplicate_line, mut missing_line, mut unknown_line) = (0, 0, 0);
    for n in 0..8000u32 {
        text.push_str(&create_line(n, n % 10 == 0));
        line += 1;
        match n {
            3000 => {
                text.push_str(&create_line(17, false));
                line += 1;
                duplicate_line = line;
            }
            5000 => {
                text.push_str(&format!("SUSPEND {}\n", i(200)));
                line += 1;
                missing_line = line;
            }
            7000 => {
                text.push_str("RENAME x y\n");
                line += 1;
                unknown_line = line;
            }
            _ => {}
        }
    }
    text.push_str("CREATE rid=AAAA");
    std::fs::write(&path, &text).unwrap();
    assert!(text.len() > 3 << 19, "more than three chunks");
    let store = QueueStore::new();
    let report = replay_store_log(&path, &store, DamagePolicy::Strict).unwrap();
    assert_eq!(report.lines, line + 1);
    assert_eq!(report.torn_tail.unwrap().line, line + 1);
    let failed: Vec<usize> = report.failed_changes.iter().map(|f| f.line).collect();
    assert_eq!(failed, vec![duplicate_line, missing_line]);
    assert!(report.failed_changes[0].message.starts_with("CREATE: "));
    let skipped: Vec<usize> = report.skipped_lines.iter().map(|s| s.line).collect();
    assert_eq!(skipped, vec![unknown_line]);
    let counts = store.counts();
    assert_eq!((counts.queues, counts.notifiers), (8000, 800));
}
