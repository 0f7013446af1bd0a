//! The store log file `smp-server-store.log` (`StoreLog.hs`, `StoreLog/ReadWrite.hs`): appending
//! one line per change, replaying a file into a [`QueueStore`], and the start-up compaction with
//! the reference's `.start` / `.bak` / timestamped backups and backup pruning.
//!
//! Damage handling: a final line without `\n` that does not parse is a torn write — reported and
//! dropped. A line starting with an unknown tag (a newer version's record) is skipped with a
//! warning, as the reference skips every line it cannot parse. Any other unparsable line is an
//! error naming the file and line with [`DamagePolicy::Strict`], or skipped like the reference
//! with [`DamagePolicy::Lenient`]. Changes that fail (unknown queue, duplicate ids) are reported
//! and skipped, as the reference logs and skips them.

use crate::apply::{add_queue, apply, IdHashes, Inner};
use crate::compact::Slot;
use crate::compaction::{Compaction, CompactionOutcome, COMPACTING_SUFFIX};
use crate::log_record::{LineError, StoreLogRecord};
use crate::parse_pipeline::{for_each_chunk, Line};
use crate::queue_store::QueueStore;
use crate::snapshot::StoreSnapshot;
use crate::time::Timestamp;
use std::fs::{self, File, OpenOptions};
use std::hash::RandomState;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::SystemTime;

/// When to fsync the store log after appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Flush each line to the OS, never fsync (the reference's `hFlush` per record).
    #[default]
    Never,
    /// fsync (data) after every record: survives power loss, costs a disk round trip per change.
    EveryRecord,
}

/// What to do with an unparsable line that is not the torn last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DamagePolicy {
    /// Fail with [`StoreLogError::Damaged`] (unknown record tags are still skipped).
    #[default]
    Strict,
    /// Print-and-skip like the reference (`readQueueStore`: `Error parsing log: ...`).
    Lenient,
}

/// A store log failure that stops the start.
#[derive(Debug, thiserror::Error)]
pub enum StoreLogError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}, line {line}: {reason}; fix or remove the line (the last good state is in the newest timestamped backup)")]
    Damaged {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreLogError + '_ {
    move |source| StoreLogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A line that was skipped, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIssue {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// What replaying a store log found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Lines read (`Processed: <n> log lines`).
    pub lines: usize,
    /// Unknown record types and (lenient mode) unparsable lines, skipped.
    pub skipped_lines: Vec<LineIssue>,
    /// A torn final line, dropped.
    pub torn_tail: Option<LineIssue>,
    /// Records whose change failed (unknown or deleted queue, duplicate id), skipped.
    pub failed_changes: Vec<LineIssue>,
}

/// The append side of the store log (`StoreLog 'WriteMode`).
#[derive(Debug)]
pub struct StoreLogWriter {
    path: PathBuf,
    /// Opened for reading too, so that a compaction can copy what was appended while it ran.
    file: File,
    fsync: FsyncPolicy,
    line: Vec<u8>,
    /// The file length after the last complete record.
    length: u64,
    /// Tells this writer apart from any other one of the process (for [`LogMark`]).
    id: u64,
}

/// Where a store log ended at one instant: which writer, and the length after its last complete
/// record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogMark {
    pub writer: u64,
    pub length: u64,
}

static NEXT_WRITER_ID: AtomicU64 = AtomicU64::new(1);

impl StoreLogWriter {
    /// Opens `path` for appending, creating it if needed.
    pub fn open_append(path: &Path, fsync: FsyncPolicy) -> io::Result<StoreLogWriter> {
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let length = file.metadata()?.len();
        Ok(StoreLogWriter {
            path: path.to_path_buf(),
            file,
            fsync,
            line: Vec::with_capacity(512),
            length,
            id: NEXT_WRITER_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn mark(&self) -> LogMark {
        LogMark {
            writer: self.id,
            length: self.length,
        }
    }

    /// Appends the records written since `from` (an earlier [`LogMark::length`] of this writer)
    /// to `to`; returns the number of bytes.
    pub(crate) fn copy_since(&self, from: u64, to: &mut File) -> io::Result<u64> {
        use std::os::unix::fs::FileExt;
        let mut buffer = vec![0u8; 1 << 20];
        let mut offset = from;
        while offset < self.length {
            let want = usize::try_from(self.length - offset)
                .unwrap_or(usize::MAX)
                .min(buffer.len());
            let read = self.file.read_at(&mut buffer[..want], offset)?;
            if read == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the store log is shorter than its records",
                ));
            }
            to.write_all(&buffer[..read])?;
            offset += read as u64;
        }
        Ok(offset.saturating_sub(from))
    }

    /// Goes on appending to `file` (opened for reading and appending, now at `path`), whose
    /// records end at `length`.
    pub(crate) fn switch_to(&mut self, file: File, length: u64) {
        self.file = file;
        self.length = length;
    }

    /// Appends one record as a single write of the line and its `\n` (`writeStoreLogRecord`).
    ///
    /// When the write fails part-way (a full disk, a file size limit), the partial line is cut
    /// off again, so that the next record starts on a line of its own and the file stays
    /// readable: only the failed record is missing (the reference leaves the fragment, which
    /// then merges with the next record into one unreadable line).
    pub fn append(&mut self, record: &StoreLogRecord) -> io::Result<()> {
        self.line.clear();
        record.encode(&mut self.line);
        self.line.push(b'\n');
        if let Err(error) = self.file.write_all(&self.line) {
            // Best effort: if even this fails the error below is still reported.
            let _ = self.file.set_len(self.length);
            return Err(error);
        }
        self.length += self.line.len() as u64;
        if self.fsync == FsyncPolicy::EveryRecord {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// fsyncs the file (at shutdown).
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_all()
    }
}

/// A store log line as a replay worker prepares it: a `CREATE` already packed into its slot with
/// its ids hashed (the applying thread then only probes and inserts), any other record as
/// parsed, or why the line did not parse.
enum ReplayLine {
    Create(Slot, IdHashes),
    Record(StoreLogRecord),
    Unparsed(LineError),
}

impl ReplayLine {
    fn parse(text: &[u8], hasher: &RandomState) -> ReplayLine {
        match StoreLogRecord::parse(text) {
            Ok(StoreLogRecord::CreateQueue {
                recipient_id,
                queue,
            }) => {
                let slot = Slot::new(recipient_id.as_bytes(), &queue);
                let hashes = IdHashes::of(hasher, &slot);
                ReplayLine::Create(slot, hashes)
            }
            Ok(record) => ReplayLine::Record(record),
            Err(error) => ReplayLine::Unparsed(error),
        }
    }
}

/// Replays `path` into `store` (`readQueueStore`).
pub fn replay_store_log(
    path: &Path,
    store: &QueueStore,
    policy: DamagePolicy,
) -> Result<ReplayReport, StoreLogError> {
    let file = File::open(path).map_err(io_error(path))?;
    let estimate = estimate_entities(&file);
    store.reserve(estimate.queues, estimate.notifiers, estimate.links);
    let mut report = ReplayReport::default();
    // Lines are parsed (and CREATE lines packed and hashed) on every core; each chunk's lines are
    // applied here in file order under one write lock.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let hasher = store.id_hasher();
    let parse = |text: &[u8]| ReplayLine::parse(text, &hasher);
    let replayed = for_each_chunk(file, workers, parse, |lines| {
        store.replay_batch(|inner| {
            for line in lines {
                replay_line(inner, line, &mut report, path, policy)?;
            }
            Ok(())
        })
    });
    replayed.map_err(io_error(path))??;
    Ok(report)
}

/// Applies one line of a replay (or reports why not).
fn replay_line(
    inner: &mut Inner,
    line: Line<'_, ReplayLine>,
    report: &mut ReplayReport,
    path: &Path,
    policy: DamagePolicy,
) -> Result<(), StoreLogError> {
    report.lines += 1;
    let text = line.text;
    let applied = match line.record {
        ReplayLine::Create(slot, hashes) => add_queue(inner, slot, &hashes),
        ReplayLine::Record(record) => apply(inner, &record),
        ReplayLine::Unparsed(error) => {
            let issue = LineIssue {
                line: report.lines,
                message: format!("{error} - {}", preview(text)),
            };
            if !line.complete {
                tracing::warn!(line = issue.line, "store log: dropping torn last line");
                report.torn_tail = Some(issue);
            } else if error == LineError::UnknownTag || policy == DamagePolicy::Lenient {
                tracing::warn!(
                    line = issue.line,
                    "store log: skipping line: {}",
                    issue.message
                );
                report.skipped_lines.push(issue);
            } else {
                return Err(StoreLogError::Damaged {
                    path: path.to_path_buf(),
                    line: report.lines,
                    reason: issue.message,
                });
            }
            return Ok(());
        }
    };
    if let Err(error) = applied {
        let message = format!("{}: {error}", tag_of(text));
        tracing::warn!(
            line = report.lines,
            "store log: change not applied: {message}"
        );
        report.failed_changes.push(LineIssue {
            line: report.lines,
            message,
        });
    }
    Ok(())
}

/// Bytes sampled from a store log to estimate what it holds, in [`ESTIMATE_WINDOWS`] windows
/// spread evenly over the file (a log's start can differ from the rest: older queues, more
/// notifiers).
const ESTIMATE_SAMPLE: usize = 1 << 18;
const ESTIMATE_WINDOWS: u64 = 16;
/// The shortest `CREATE` line (24-byte ids, one Ed25519 key, no sender key) is longer than this.
const MIN_CREATE_LINE: u64 = 200;

/// How many queues, notifier ids and link ids a store log is expected to create.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Estimate {
    queues: usize,
    notifiers: usize,
    links: usize,
}

/// Estimates what a store log creates from the `CREATE` lines (and the `notifier=` and `link_id=`
/// fields in them) among the whole lines of sampled windows, scaled to the file size with 2%
/// to spare (queues capped at one per 200 bytes); zeros when unsure. Reads with `pread`, leaving
/// the file position alone.
fn estimate_entities(file: &File) -> Estimate {
    use std::os::unix::fs::FileExt;
    let Ok(length) = file.metadata().map(|metadata| metadata.len()) else {
        return Estimate::default();
    };
    let windows = if length <= ESTIMATE_SAMPLE as u64 {
        1
    } else {
        ESTIMATE_WINDOWS
    };
    let mut buffer = vec![0u8; ESTIMATE_SAMPLE / windows as usize];
    let (mut sampled, mut queues, mut notifiers, mut links) = (0u64, 0u64, 0u64, 0u64);
    for number in 0..windows {
        let offset = length / windows * number;
        let Ok(read) = file.read_at(&mut buffer, offset) else {
            return Estimate::default();
        };
        let mut sample = &buffer[..read];
        // Whole lines only: from after the first `\n` (unless at the file's start) to the last.
        if offset > 0 {
            match sample.iter().position(|byte| *byte == b'\n') {
                Some(first) => sample = &sample[first + 1..],
                None => continue,
            }
        }
        let Some(end) = sample.iter().rposition(|byte| *byte == b'\n') else {
            continue;
        };
        let sample = &sample[..=end];
        sampled += sample.len() as u64;
        for line in sample.split(|byte| *byte == b'\n') {
            if line.starts_with(b"CREATE ") {
                queues += 1;
                notifiers += u64::from(contains(line, b" notifier="));
                links += u64::from(contains(line, b" link_id="));
            }
        }
    }
    if sampled == 0 {
        return Estimate::default();
    }
    let scale = |count: u64| {
        let estimate = length.saturating_mul(count) / sampled;
        let estimate = estimate.saturating_add(estimate / 50);
        usize::try_from(estimate.min(length / MIN_CREATE_LINE)).unwrap_or(0)
    };
    Estimate {
        queues: scale(queues),
        notifiers: scale(notifiers),
        links: scale(links),
    }
}

fn contains(line: &[u8], needle: &[u8]) -> bool {
    line.windows(needle.len()).any(|window| window == needle)
}

fn tag_of(line: &[u8]) -> String {
    String::from_utf8_lossy(line.split(|b| *b == b' ').next().unwrap_or_default()).into_owned()
}

fn preview(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(100)]).into_owned()
}

/// Writes the current state of `store` to `path` (truncating), flushes and fsyncs it
/// (`writeQueueStore`). Returns the number of records.
pub fn write_snapshot(path: &Path, store: &QueueStore) -> Result<usize, StoreLogError> {
    let file = File::create(path).map_err(io_error(path))?;
    let never = AtomicBool::new(false);
    let count = write_snapshot_to(&file, &store.snapshot(), &never).map_err(io_error(path))?;
    // Not cancellable: `never` stays false.
    Ok(count.unwrap_or_default())
}

/// Writes `snapshot` to `file` and fsyncs it; `None` when `cancel` was set (checked between
/// parts of a few thousand lines).
pub(crate) fn write_snapshot_to(
    file: &File,
    snapshot: &StoreSnapshot,
    cancel: &AtomicBool,
) -> io::Result<Option<usize>> {
    // Lines are encoded on every core, written here in order.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let early = file.try_clone()?;
    let count = std::thread::scope(|scope| {
        // Another thread flushes what is written so far to the disk while encoding goes on, so
        // that little is left for the final fsync. Its errors fail the snapshot like the final
        // fsync's would: both use one open file, whose error a later fsync would not repeat.
        let (ready, written) = mpsc::sync_channel::<()>(1);
        let syncer = std::thread::Builder::new()
            .name("smp-snapshot-sync".into())
            .spawn_scoped(scope, move || -> io::Result<()> {
                for () in written {
                    early.sync_data()?;
                }
                Ok(())
            })
            .ok();
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut unsynced = 0;
        let count: io::Result<usize> = snapshot.write_lines(workers, |bytes| {
            if cancel.load(Ordering::Relaxed) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
            }
            out.write_all(bytes)?;
            unsynced += bytes.len();
            if unsynced >= SNAPSHOT_SYNC_STEP {
                unsynced = 0;
                out.flush()?;
                // When a flush is still running, the next one covers these bytes too.
                let _ = ready.try_send(());
            }
            Ok(())
        });
        let flushed = out.flush();
        drop(ready);
        let synced = syncer.map_or(Ok(()), |syncer| {
            syncer
                .join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
        });
        let count = count?;
        flushed?;
        synced.map(|()| count)
    });
    let count = match count {
        Err(_) if cancel.load(Ordering::Relaxed) => return Ok(None),
        count => count?,
    };
    file.sync_all()?;
    Ok(Some(count))
}

/// Bytes of a snapshot written between the flushes to disk that run while it is being written.
const SNAPSHOT_SYNC_STEP: usize = 32 << 20;

pub(crate) fn sync_directory(path: &Path) -> Result<(), StoreLogError> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(directory)
        .and_then(|d| d.sync_all())
        .map_err(io_error(directory))
}

pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// What opening the store log at start did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StartReport {
    /// A `.start` file from an interrupted compaction of the reference (or of an older version)
    /// was restored (the incomplete file, if any, kept as `.bak`).
    pub restored_from_start: bool,
    /// A `.compacting` file left by an interrupted background compaction was removed.
    pub removed_interrupted_compaction: bool,
    /// The replay, when the file existed.
    pub replay: Option<ReplayReport>,
    /// The compaction was started in the background (else, when the file existed, it was done
    /// before returning, because the file did not end with a complete line).
    pub compacting_in_background: bool,
}

/// Opens the store log at start (`readWriteStoreLog`) and makes `store` append to it: restores
/// an interrupted compaction of the reference's kind (`.start`), removes the temporary file of an
/// interrupted background compaction, replays the file into `store`, and starts compacting it
/// (see [`crate::compaction`]): in the background, while the store already appends to the
/// replayed file, which is complete; before returning when the file does not end with a whole
/// line (a torn last write), so that no record is appended to a fragment. The outcome of the
/// compaction (the backup `<file>.<ISO-8601 time>` named after `now`, pruned backups) comes
/// from [`QueueStore::finish_compaction`]; [`QueueStore::take_store_log`] waits for it.
pub fn open_store_log(
    path: &Path,
    store: &QueueStore,
    damage: DamagePolicy,
    fsync: FsyncPolicy,
    now: SystemTime,
) -> Result<StartReport, StoreLogError> {
    let mut report = StartReport::default();
    let start = with_suffix(path, ".start");
    if start.exists() {
        tracing::warn!(
            "Server terminated abnormally on last start, restoring state from {}",
            start.display()
        );
        if path.exists() {
            let bak = with_suffix(path, ".bak");
            fs::rename(path, &bak).map_err(io_error(path))?;
            tracing::info!(
                "preserved incomplete state {} as {}",
                path.display(),
                bak.display()
            );
        }
        fs::rename(&start, path).map_err(io_error(&start))?;
        report.restored_from_start = true;
    }
    let temporary = with_suffix(path, COMPACTING_SUFFIX);
    if temporary.exists() {
        tracing::warn!(
            "removing {} left by an interrupted compaction (the store log is complete without it)",
            temporary.display()
        );
        fs::remove_file(&temporary).map_err(io_error(&temporary))?;
        report.removed_interrupted_compaction = true;
    }
    if !path.exists() {
        tracing::info!("creating store log...");
        write_snapshot(path, store)?;
        sync_directory(path)?;
        let writer = StoreLogWriter::open_append(path, fsync).map_err(io_error(path))?;
        store.set_store_log(writer);
        return Ok(report);
    }
    report.replay = Some(replay_store_log(path, store, damage)?);
    let whole_lines = ends_with_whole_line(path).map_err(io_error(path))?;
    let writer = StoreLogWriter::open_append(path, fsync).map_err(io_error(path))?;
    store.set_store_log(writer);
    if whole_lines {
        tracing::info!("compacting store log in the background...");
        if let Some(compaction) = Compaction::start(path, store, now) {
            store.keep_compaction(compaction);
        }
        report.compacting_in_background = true;
    } else {
        tracing::info!("compacting store log (it ends with an incomplete line)...");
        match Compaction::start(path, store, now).map(Compaction::wait) {
            Some(CompactionOutcome::Failed(error)) => {
                store.take_store_log();
                return Err(error);
            }
            Some(outcome) => store.keep_compaction(Compaction::finished(outcome)),
            None => {}
        }
    }
    Ok(report)
}

/// Whether `path` is empty or ends with `\n` (no torn or unterminated last line to append to).
fn ends_with_whole_line(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let file = File::open(path)?;
    let length = file.metadata()?.len();
    if length == 0 {
        return Ok(true);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, length - 1)?;
    Ok(last[0] == b'\n')
}

/// Backups younger than this are always kept.
const KEEP_ALL_NEWER_THAN: i64 = 86_400;
/// Of the older backups, this many newest are always kept.
const MIN_OLD_BACKUPS: usize = 3;
/// Backups are only removed when older than this.
const OLD_BACKUP_TTL: i64 = 21 * 86_400;

/// Prunes `<file>.<ISO-8601>` backups (`removeStoreLogBackups`): keeps everything younger than a
/// day, the newest 3 older ones, and anything younger than 21 days. Returns the removed paths.
pub fn remove_store_log_backups(
    path: &Path,
    now: SystemTime,
) -> Result<Vec<PathBuf>, StoreLogError> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(file_name) = path.file_name().and_then(|name| name.to_str()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{file_name}.");
    let mut backups: Vec<(Timestamp, PathBuf)> = Vec::new();
    for entry in fs::read_dir(directory).map_err(io_error(directory))? {
        let entry = entry.map_err(io_error(directory))?;
        let name = entry.file_name();
        let Some(time) = name
            .to_str()
            .and_then(|name| name.strip_prefix(&prefix))
            .and_then(Timestamp::parse_iso8601)
        else {
            continue;
        };
        backups.push((time, entry.path()));
    }
    backups.sort();
    let now = Timestamp::from_system(now);
    let day_ago = Timestamp {
        seconds: now.seconds - KEEP_ALL_NEWER_THAN,
        nanos: now.nanos,
    };
    let ttl_ago = Timestamp {
        seconds: now.seconds - OLD_BACKUP_TTL,
        nanos: now.nanos,
    };
    let older: Vec<&(Timestamp, PathBuf)> =
        backups.iter().filter(|(time, _)| *time < day_ago).collect();
    let candidates = older.len().saturating_sub(MIN_OLD_BACKUPS);
    let mut removed = Vec::new();
    for (time, backup) in older.into_iter().take(candidates) {
        if *time < ttl_ago {
            fs::remove_file(backup).map_err(io_error(backup))?;
            removed.push(backup.clone());
        }
    }
    if !removed.is_empty() {
        tracing::info!("Removed {} backups", removed.len());
    }
    Ok(removed)
}

#[cfg(test)]
#[path = "store_log_tests.rs"]
pub(crate) mod tests;
