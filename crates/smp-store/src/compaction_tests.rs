//! The background compaction: records appended while it runs end up in the new file once, in
//! order; a crash after each step leaves a log that replays to the last state; failures and
//! abandons keep the old log; random changes interleaved with a compaction thread replay to the
//! live state.

use super::*;
use crate::store_log::tests::{now, op, run, state, Op};
use crate::store_log::{open_store_log, replay_store_log, DamagePolicy, FsyncPolicy};
use crate::StoreLogWriter;
use proptest::prelude::*;
use std::time::Duration;

fn log_path(directory: &tempfile::TempDir) -> PathBuf {
    directory.path().join("smp-server-store.log")
}

/// Queues 0..8 with notifiers and links, a suspended and a deleted one.
fn before() -> Vec<Op> {
    let mut ops: Vec<Op> = (0..8)
        .map(|n| Op::Create {
            recipient: n,
            sender: n,
            notifier: (n % 2 == 0).then_some(n),
            link: (n % 3 == 0).then_some(n),
        })
        .collect();
    ops.extend([Op::Suspend(1), Op::Delete(2), Op::Secure(3, 1)]);
    ops
}

/// Changes made while the snapshot is being written.
fn during() -> Vec<Op> {
    vec![
        Op::Delete(0),
        Op::Time(3, 86_400),
        Op::Notifier(5, 7),
        Op::Block(4, true),
        Op::Create {
            recipient: 9,
            sender: 9,
            notifier: None,
            link: None,
        },
        Op::Keys(6, vec![0, 1]),
    ]
}

/// A store logging to `path` with `ops` applied.
fn live_store(path: &Path, ops: &[Op]) -> QueueStore {
    let store = QueueStore::new();
    store.set_store_log(StoreLogWriter::open_append(path, FsyncPolicy::Never).unwrap());
    for op in ops {
        run(&store, op);
    }
    store
}

fn encoded(snapshot: &StoreSnapshot) -> Vec<u8> {
    let mut out = Vec::new();
    snapshot
        .write_lines::<()>(1, |bytes| {
            out.extend_from_slice(bytes);
            Ok(())
        })
        .unwrap();
    out
}

fn replayed_state(path: &Path) -> Vec<Vec<u8>> {
    let store = QueueStore::new();
    let report = replay_store_log(path, &store, DamagePolicy::Strict).unwrap();
    assert!(report.failed_changes.is_empty(), "{report:?}");
    assert_eq!(report.torn_tail, None);
    state(&store)
}

#[test]
fn appends_during_compaction_are_copied_once_in_order() {
    let directory = tempfile::tempdir().unwrap();
    let path = log_path(&directory);
    let live = live_store(&path, &before());
    let job = Job::new(&path, &live, now()).unwrap();
    let snapshot_lines = encoded(&job.snapshot);
    let old_length = std::fs::metadata(&path).unwrap().len();
    assert_eq!(job.mark.length, old_length);
    for op in during() {
        run(&live, &op);
    }
    let old_log = std::fs::read(&path).unwrap();
    let tail = old_log[old_length as usize..].to_vec();
    assert_eq!(String::from_utf8_lossy(&tail).lines().count(), 6);

    let CompactionOutcome::Done(report) = job.run(None) else {
        panic!("not compacted");
    };
    assert_eq!(report.tail_bytes, tail.len() as u64);
    // The new file: the snapshot, then exactly the records appended meanwhile.
    let mut expected = snapshot_lines;
    expected.extend_from_slice(&tail);
    assert_eq!(std::fs::read(&path).unwrap(), expected);
    // The old file, whole, is the backup.
    assert_eq!(std::fs::read(&report.backup).unwrap(), old_log);
    assert!(!with_suffix(&path, COMPACTING_SUFFIX).exists());
    assert_eq!(replayed_state(&path), state(&live));

    // Later changes go to the new file.
    run(&live, &Op::Suspend(7));
    let new_log = std::fs::read(&path).unwrap();
    assert!(new_log.starts_with(&expected) && new_log.len() > expected.len());
    assert_eq!(std::fs::read(&report.backup).unwrap(), old_log);
    drop(live.take_store_log());
    assert_eq!(replayed_state(&path), state(&live));
}

#[test]
fn a_crash_after_any_step_leaves_a_log_with_the_last_state() {
    for step in [
        Step::SnapshotWritten,
        Step::TailCopied,
        Step::BackupKept,
        Step::Renamed,
    ] {
        let directory = tempfile::tempdir().unwrap();
        let path = log_path(&directory);
        let live = live_store(&path, &before());
        let job = Job::new(&path, &live, now()).unwrap();
        for op in during() {
            run(&live, &op);
        }
        assert!(matches!(job.run(Some(step)), CompactionOutcome::Abandoned));
        let expected = state(&live);
        // The crash: nothing more is written by this process.
        drop(live);
        assert_eq!(replayed_state(&path), expected, "{step:?}");

        let restarted = QueueStore::new();
        let later = now() + Duration::from_secs(1);
        let report = open_store_log(
            &path,
            &restarted,
            DamagePolicy::Strict,
            FsyncPolicy::Never,
            later,
        )
        .unwrap();
        assert_eq!(
            report.removed_interrupted_compaction,
            step != Step::Renamed,
            "{step:?}"
        );
        assert_eq!(state(&restarted), expected, "{step:?}");
        assert!(matches!(
            restarted.finish_compaction(),
            Some(CompactionOutcome::Done(_))
        ));
        run(&restarted, &Op::Suspend(5));
        let expected = state(&restarted);
        drop(restarted.take_store_log());
        assert!(!with_suffix(&path, COMPACTING_SUFFIX).exists());
        assert_eq!(replayed_state(&path), expected, "{step:?}");
    }
}

#[test]
fn a_failed_compaction_keeps_the_old_log() {
    let directory = tempfile::tempdir().unwrap();
    let path = log_path(&directory);
    let live = live_store(&path, &before());
    // A directory where the temporary file goes: it cannot be replaced.
    std::fs::create_dir(with_suffix(&path, COMPACTING_SUFFIX)).unwrap();
    let job = Job::new(&path, &live, now()).unwrap();
    assert!(matches!(job.run(None), CompactionOutcome::Failed(_)));
    for op in during() {
        run(&live, &op);
    }
    drop(live.take_store_log());
    assert_eq!(replayed_state(&path), state(&live));
    let backups = std::fs::read_dir(directory.path()).unwrap().count();
    assert_eq!(backups, 2, "the log and the directory, no backup");
}

#[test]
fn a_replaced_writer_or_a_cancel_abandons_it() {
    let directory = tempfile::tempdir().unwrap();
    let path = log_path(&directory);
    let live = live_store(&path, &before());
    let job = Job::new(&path, &live, now()).unwrap();
    let old = live.take_store_log().unwrap();
    live.set_store_log(StoreLogWriter::open_append(&path, FsyncPolicy::Never).unwrap());
    drop(old);
    assert!(matches!(job.run(None), CompactionOutcome::Abandoned));
    assert!(!with_suffix(&path, COMPACTING_SUFFIX).exists());

    let job = Job::new(&path, &live, now()).unwrap();
    job.cancel.store(true, Ordering::Relaxed);
    assert!(matches!(job.run(None), CompactionOutcome::Abandoned));
    assert!(!with_suffix(&path, COMPACTING_SUFFIX).exists());
    drop(live.take_store_log());
    assert_eq!(replayed_state(&path), state(&live));
    assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn changes_during_a_background_compaction_replay_to_the_live_state(
        first in proptest::collection::vec(op(), 0..40),
        meanwhile in proptest::collection::vec(op(), 0..40),
        after in proptest::collection::vec(op(), 0..20),
        abandon in any::<bool>(),
    ) {
        let directory = tempfile::tempdir().unwrap();
        let path = log_path(&directory);
        let live = live_store(&path, &first);
        let compaction = Compaction::start(&path, &live, now()).unwrap();
        for op in &meanwhile {
            run(&live, op);
        }
        let outcome = if abandon { compaction.abandon() } else { compaction.wait() };
        match outcome {
            CompactionOutcome::Done(_) => {}
            CompactionOutcome::Abandoned => prop_assert!(abandon),
            CompactionOutcome::Failed(error) => panic!("{error}"),
        }
        for op in &after {
            run(&live, op);
        }
        drop(live.take_store_log());
        prop_assert!(!with_suffix(&path, COMPACTING_SUFFIX).exists());
        prop_assert_eq!(replayed_state(&path), state(&live));
    }
}
