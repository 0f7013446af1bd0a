//! Reads a process's CPU time and resident memory from `/proc/<pid>/stat` and
//! `/proc/<pid>/status`, and the open-files limit from `/proc/self/limits` (no libc calls).

use std::sync::OnceLock;

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when `getconf` is missing).
pub fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// CPU seconds (user + system) and resident memory of a process at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcSample {
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in ticks.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 → index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` of a `/proc/<pid>/status` text, in bytes.
pub fn parse_status_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl ProcSample {
    /// Samples process `pid` (`None` when it is gone or /proc is unavailable).
    pub fn read(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        Some(ProcSample {
            cpu_seconds: parse_stat_ticks(&stat)? as f64 / clock_ticks(),
            rss_bytes: parse_status_rss(&status)?,
        })
    }

    /// Samples this process.
    pub fn own() -> Option<Self> {
        ProcSample::read(std::process::id())
    }
}

/// The soft and hard "Max open files" limits of process `pid` (`None` = unlimited/unknown).
pub fn open_files_limit(pid: u32) -> (Option<u64>, Option<u64>) {
    let Ok(limits) = std::fs::read_to_string(format!("/proc/{pid}/limits")) else {
        return (None, None);
    };
    parse_open_files_limit(&limits)
}

pub fn parse_open_files_limit(limits: &str) -> (Option<u64>, Option<u64>) {
    let Some(line) = limits.lines().find(|l| l.starts_with("Max open files")) else {
        return (None, None);
    };
    let values: Vec<&str> = line["Max open files".len()..].split_whitespace().collect();
    (
        values.first().and_then(|v| v.parse().ok()),
        values.get(1).and_then(|v| v.parse().ok()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_skip_the_command_name() {
        let stat = "1234 (smp server) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(parse_stat_ticks(stat), Some(325));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn status_rss_in_bytes() {
        let status = "Name:\tsmp-server\nVmPeak:\t 9000 kB\nVmRSS:\t    5120 kB\n";
        assert_eq!(parse_status_rss(status), Some(5120 * 1024));
        assert_eq!(parse_status_rss("Name: x\n"), None);
    }

    #[test]
    fn open_files_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(parse_open_files_limit(limits), (Some(1024), Some(524288)));
    }

    #[test]
    fn own_process_is_readable() {
        let sample = ProcSample::own().unwrap();
        assert!(sample.rss_bytes > 0);
    }
}
