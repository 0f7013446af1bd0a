//! The compaction of the store log, off the start's critical path. The reference
//! (`readWriteStoreLog`) renames the log to `.start`, writes the state to a new file and renames
//! `.start` to a timestamped backup before serving; here the server serves as soon as the log is
//! replayed, appending to the replayed file (which is complete), while a thread:
//!
//! 1. writes a frozen [`StoreSnapshot`], taken together with the log's length at that instant,
//!    to `<file>.compacting` and fsyncs it (no lock held: the store goes on changing);
//! 2. holding the log writer's lock (appends wait, for a copy of what was appended meanwhile):
//!    copies the records appended since the snapshot into the new file and fsyncs it, keeps the
//!    old file as `<file>.<ISO-8601 time>` (a hard link: no copy), renames the new file over
//!    `<file>` (atomic), fsyncs the directory, and switches the writer to the new file;
//! 3. prunes old backups.
//!
//! At every instant `<file>` is a complete log (the old or the new one), so a crash at any step
//! restarts from a log that replays to the last state; a stale `<file>.compacting` is removed at
//! the next start. A crash between the hard link and the rename (under the lock, no append in
//! between) leaves the backup sharing the live file until the next compaction renames over it.
//! A failure (a full disk) is logged and the server goes on with the old file; the temporary
//! file is removed. Neither the reference nor the backup pruning look at `.compacting` files.

use crate::queue_store::{QueueStore, SharedLog};
use crate::snapshot::StoreSnapshot;
use crate::store_log::{
    io_error, remove_store_log_backups, sync_directory, with_suffix, write_snapshot_to, LogMark,
    StoreLogError,
};
use crate::time::Timestamp;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

/// The suffix of the file a compaction writes before renaming it over the store log.
pub const COMPACTING_SUFFIX: &str = ".compacting";

/// What a finished compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionReport {
    /// Records written from the snapshot.
    pub records: usize,
    /// Bytes appended to the old file while the snapshot was written, copied after it.
    pub tail_bytes: u64,
    /// Where the old file was kept (`original state preserved as ...`).
    pub backup: PathBuf,
    /// Old backups removed (`Removed <n> backups`).
    pub removed_backups: Vec<PathBuf>,
}

/// How a compaction ended.
#[derive(Debug)]
pub enum CompactionOutcome {
    /// The store log is the compacted file now.
    Done(CompactionReport),
    /// Given up before the switch (the store was closed, or the log writer replaced): the old
    /// file stays the store log and the temporary file was removed.
    Abandoned,
    /// Failed: the old file stays the store log.
    Failed(StoreLogError),
}

/// A compaction running in the background (or finished). Dropping it abandons a running one
/// (waiting for the thread to notice, at most one part of the snapshot later).
#[derive(Debug)]
pub struct Compaction {
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<CompactionOutcome>>,
    finished: Option<CompactionOutcome>,
}

/// The steps of a compaction, for tests that stop after one of them as a crash would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    SnapshotWritten,
    TailCopied,
    BackupKept,
    Renamed,
}

/// One compaction's inputs.
pub(crate) struct Job {
    path: PathBuf,
    snapshot: StoreSnapshot,
    mark: LogMark,
    log: SharedLog,
    now: SystemTime,
    cancel: Arc<AtomicBool>,
}

impl Compaction {
    /// Snapshots `store` with the end of its log (O(slab chunks)) and compacts `path` on a new
    /// thread (here, when no thread can be had). `None` when the store has no log.
    pub(crate) fn start(path: &Path, store: &QueueStore, now: SystemTime) -> Option<Compaction> {
        let job = Job::new(path, store, now)?;
        let cancel = Arc::clone(&job.cancel);
        let spawned = std::thread::Builder::new()
            .name("smp-compaction".into())
            .spawn(move || job.run(None));
        Some(match spawned {
            Ok(thread) => Compaction {
                cancel,
                thread: Some(thread),
                finished: None,
            },
            Err(error) => {
                tracing::warn!("no thread for the store log compaction ({error}): compacting now");
                // The job went with the closure: take the snapshot again (nothing changed).
                Compaction::finished(
                    Job::new(path, store, now)
                        .map_or(CompactionOutcome::Abandoned, |job| job.run(None)),
                )
            }
        })
    }

    /// A compaction that already ended with `outcome`.
    pub(crate) fn finished(outcome: CompactionOutcome) -> Compaction {
        Compaction {
            cancel: Arc::new(AtomicBool::new(false)),
            thread: None,
            finished: Some(outcome),
        }
    }

    /// Whether it has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the end.
    pub fn wait(mut self) -> CompactionOutcome {
        self.join()
    }

    /// Gives up (removing the temporary file) unless it is already switching files, and waits.
    pub fn abandon(mut self) -> CompactionOutcome {
        self.cancel.store(true, Ordering::Relaxed);
        self.join()
    }

    fn join(&mut self) -> CompactionOutcome {
        if let Some(thread) = self.thread.take() {
            return thread.join().unwrap_or_else(|_| {
                CompactionOutcome::Failed(StoreLogError::Io {
                    path: PathBuf::new(),
                    source: io::Error::other("the store log compaction thread panicked"),
                })
            });
        }
        self.finished.take().unwrap_or(CompactionOutcome::Abandoned)
    }
}

impl Drop for Compaction {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.cancel.store(true, Ordering::Relaxed);
            let _ = self.join();
        }
    }
}

impl Job {
    /// `None` when the store has no log.
    pub(crate) fn new(path: &Path, store: &QueueStore, now: SystemTime) -> Option<Job> {
        let (snapshot, mark) = store.snapshot_at_log_end()?;
        Some(Job {
            path: path.to_path_buf(),
            snapshot,
            mark,
            log: store.shared_log(),
            now,
            cancel: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Compacts, logging the outcome; with `stop_after` (tests) it returns `Abandoned` right
    /// after that step, leaving everything as a crash there would.
    pub(crate) fn run(self, stop_after: Option<Step>) -> CompactionOutcome {
        let temporary = with_suffix(&self.path, COMPACTING_SUFFIX);
        let outcome = self.compact(&temporary, stop_after);
        match &outcome {
            Ok(Some(_)) => {}
            Ok(None) if stop_after.is_some() => return CompactionOutcome::Abandoned,
            Ok(None) => tracing::info!("store log compaction abandoned"),
            Err(error) => tracing::error!(
                "store log compaction failed: {error}; the server goes on appending to the uncompacted {}",
                self.path.display()
            ),
        }
        match outcome {
            Ok(Some(mut report)) => {
                match remove_store_log_backups(&self.path, self.now) {
                    Ok(removed) => report.removed_backups = removed,
                    Err(error) => tracing::error!("removing old store log backups: {error}"),
                }
                CompactionOutcome::Done(report)
            }
            other => {
                if let Err(error) = fs::remove_file(&temporary) {
                    if error.kind() != io::ErrorKind::NotFound {
                        tracing::warn!("removing {}: {error}", temporary.display());
                    }
                }
                match other {
                    Err(error) => CompactionOutcome::Failed(error),
                    _ => CompactionOutcome::Abandoned,
                }
            }
        }
    }

    /// The steps; `Ok(None)` when abandoned or stopped.
    fn compact(
        &self,
        temporary: &Path,
        stop_after: Option<Step>,
    ) -> Result<Option<CompactionReport>, StoreLogError> {
        if let Err(error) = fs::remove_file(temporary) {
            if error.kind() != io::ErrorKind::NotFound {
                return Err(io_error(temporary)(error));
            }
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(temporary)
            .map_err(io_error(temporary))?;
        let Some(records) =
            write_snapshot_to(&file, &self.snapshot, &self.cancel).map_err(io_error(temporary))?
        else {
            return Ok(None);
        };
        if stop_after == Some(Step::SnapshotWritten) || self.cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut log = self.log.lock();
        let Some(writer) = log
            .as_mut()
            .filter(|writer| writer.mark().writer == self.mark.writer)
        else {
            return Ok(None);
        };
        let tail_bytes = writer
            .copy_since(self.mark.length, &mut file)
            .and_then(|bytes| file.sync_all().map(|()| bytes))
            .map_err(io_error(temporary))?;
        if stop_after == Some(Step::TailCopied) {
            return Ok(None);
        }
        let length = file.metadata().map_err(io_error(temporary))?.len();
        let backup = with_suffix(
            &self.path,
            &format!(".{}", Timestamp::from_system(self.now).to_iso8601()),
        );
        keep_backup(&self.path, &backup)?;
        if stop_after == Some(Step::BackupKept) {
            return Ok(None);
        }
        if let Err(error) = fs::rename(temporary, &self.path) {
            // The old file stays the log; the backup name (a second name of it) goes.
            let _ = fs::remove_file(&backup);
            return Err(io_error(temporary)(error));
        }
        // Before any record goes to the new file: its name must be on disk first.
        if let Err(error) = sync_directory(&self.path) {
            tracing::error!("after renaming the compacted store log: {error}");
        }
        if stop_after == Some(Step::Renamed) {
            return Ok(None);
        }
        writer.switch_to(file, length);
        drop(log);
        tracing::info!("original state preserved as {}", backup.display());
        Ok(Some(CompactionReport {
            records,
            tail_bytes,
            backup,
            removed_backups: Vec::new(),
        }))
    }
}

/// Gives the store log the second name `backup` (replacing a file of that name), copying it
/// where hard links are not supported; then fsyncs the directory.
fn keep_backup(path: &Path, backup: &Path) -> Result<(), StoreLogError> {
    let linked = match fs::hard_link(path, backup) {
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(backup).and_then(|()| fs::hard_link(path, backup))
        }
        linked => linked,
    };
    if let Err(error) = linked {
        tracing::warn!(
            "cannot link {} as {} ({error}): copying it",
            path.display(),
            backup.display()
        );
        let copied = fs::copy(path, backup)
            .and_then(|_| File::open(backup))
            .and_then(|file| file.sync_all());
        if let Err(error) = copied {
            let _ = fs::remove_file(backup);
            return Err(io_error(backup)(error));
        }
    }
    sync_directory(backup)
}

#[cfg(test)]
#[path = "compaction_tests.rs"]
mod tests;
