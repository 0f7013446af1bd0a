//! Generates a store log of N queues (default 1 000 000) in the reference's syntax, replays it into
//! a `QueueStore`, and prints the replay time and the resident memory per queue (VmRSS from
//! `/proc/self/status` before and after). With `compact` it then times the start-up compaction
//! (`write_snapshot`: the whole state written to a new file and fsynced) and prints the peak
//! resident memory of the process (VmHWM).
//!
//! `cargo run --release -p smp-store --example replay_memory -- [queues] [notifier-percent] [compact]`

use smp_store::store_log::{replay_store_log, write_snapshot, DamagePolicy};
use smp_store::synthetic::write_synthetic_store_log;
use smp_store::QueueStore;
use std::time::Instant;

/// User plus system CPU seconds from a `/proc/.../stat` file (fields 14 and 15, in clock ticks
/// of 1/100 s), 0 if unreadable.
fn cpu_seconds(stat: &str) -> f64 {
    std::fs::read_to_string(stat)
        .ok()
        .and_then(|text| {
            // The command name (field 2) may hold spaces: count fields after its `)`.
            let after = text.rsplit_once(')')?.1;
            let fields: Vec<&str> = after.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(0.0)
}

fn resident_kib() -> u64 {
    status_kib("VmRSS:")
}

/// A `/proc/self/status` memory line in KiB (`VmRSS:`, `VmHWM:`), 0 if unreadable.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let queues: usize = arguments
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let notifier_percent: usize = arguments
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(0);
    let compact = arguments.next().as_deref() == Some("compact");
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("smp-server-store.log");
    let file_bytes = write_synthetic_store_log(&path, queues, notifier_percent)?;
    let before = resident_kib();
    let store = QueueStore::new();
    let (process_cpu, thread_cpu) = (
        cpu_seconds("/proc/self/stat"),
        cpu_seconds("/proc/thread-self/stat"),
    );
    let started = Instant::now();
    let report = replay_store_log(&path, &store, DamagePolicy::Strict)?;
    let elapsed = started.elapsed();
    let process_cpu = cpu_seconds("/proc/self/stat") - process_cpu;
    let thread_cpu = cpu_seconds("/proc/thread-self/stat") - thread_cpu;
    let after = resident_kib();
    let counts = store.counts();
    let bytes_per_queue =
        (after.saturating_sub(before) * 1024) as f64 / counts.queues.max(1) as f64;
    println!(
        "queues: {} (notifiers: {}), log lines: {}, log size: {:.1} MiB",
        counts.queues,
        counts.notifiers,
        report.lines,
        file_bytes as f64 / 1_048_576.0
    );
    println!(
        "replay: {:.2} s ({:.0} lines/s)",
        elapsed.as_secs_f64(),
        report.lines as f64 / elapsed.as_secs_f64()
    );
    println!(
        "replay CPU: {process_cpu:.2} s in all threads, {thread_cpu:.2} s in the applying thread"
    );
    println!("VmRSS before: {before} KiB, after: {after} KiB");
    println!("resident bytes per queue: {bytes_per_queue:.1}");
    if compact {
        // The reference's start compacts right after the replay; the old file is only renamed.
        std::fs::remove_file(&path)?;
        let compacted = directory.path().join("smp-server-store.log.compacted");
        let process_cpu = cpu_seconds("/proc/self/stat");
        let started = Instant::now();
        let records = write_snapshot(&compacted, &store)?;
        let elapsed = started.elapsed();
        let process_cpu = cpu_seconds("/proc/self/stat") - process_cpu;
        println!(
            "compaction: {:.2} s, CPU {process_cpu:.2} s ({records} records, {:.1} MiB, fsynced)",
            elapsed.as_secs_f64(),
            std::fs::metadata(&compacted)?.len() as f64 / 1_048_576.0
        );
    }
    println!("VmHWM (peak resident): {} KiB", status_kib("VmHWM:"));
    Ok(())
}
