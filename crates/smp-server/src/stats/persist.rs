//! The persisted counters file `smp-server-stats.log` (`StrEncoding ServerStatsData`,
//! `Server.saveServerStats`, `Server.restoreServerStats`).
//!
//! The text is `key=value` lines in a fixed order, with `name:` headers before the nested
//! period-set, proxy and service blocks. Reading is as tolerant as the reference's parser: most
//! lines may be missing (0), `qDeleted=` stands for the three `qDeleted*` lines, `qSubNoMsg=`
//! is skipped, period sets may be `day=`/`week=`/`month=` lists of base64url queue ids (hashed
//! on reading) or the seed-era `dayMsgQueues=`… lines, and a `subscribedQueues:` block is read
//! and dropped. CRLF line ends are accepted too.

use super::activity::{queue_hash, PeriodSets};
use super::time::{iso8601, parse_iso8601};
use super::{ActiveQueueSets, ProxyStatsData, ServerStats, ServerStatsData, ServiceStatsData};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The file could not be parsed (the reference logs `error restoring server stats: …` and
/// exits with code 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: expected {expected}")]
pub struct StatsParseError {
    pub line: usize,
    pub expected: &'static str,
}

/// Restoring the counters failed.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Parse(#[from] StatsParseError),
}

/// The text of the file (`strEncode` of `ServerStatsData`): 95 lines, each ending `\n`.
pub fn encode(data: &ServerStatsData, sets: &ActiveQueueSets) -> String {
    let c = &data.counters;
    let mut out = String::with_capacity(2048);
    // Writing to a String cannot fail.
    let _ = writeln!(out, "fromTime={}", iso8601(data.from_time));
    for (key, value) in [
        ("qCreated", c.q_created),
        ("qSecured", c.q_secured),
        ("qDeletedAll", c.q_deleted_all),
        ("qDeletedNew", c.q_deleted_new),
        ("qDeletedSecured", c.q_deleted_secured),
        ("qDeletedAllB", c.q_deleted_all_b),
        ("qBlocked", c.q_blocked),
        ("qCount", c.q_count),
        ("qSub", c.q_sub),
        ("qSubAllB", c.q_sub_all_b),
        ("qSubAuth", c.q_sub_auth),
        ("qSubDuplicate", c.q_sub_duplicate),
        ("qSubProhibited", c.q_sub_prohibited),
        ("qSubEnd", c.q_sub_end),
        ("qSubEndB", c.q_sub_end_b),
        ("ntfCreated", c.ntf_created),
        ("ntfNewCreated", c.ntf_new_created),
        ("ntfDeleted", c.ntf_deleted),
        ("ntfDeletedB", c.ntf_deleted_b),
        ("ntfSub", c.ntf_sub),
        ("ntfSubB", c.ntf_sub_b),
        ("ntfSubAuth", c.ntf_sub_auth),
        ("ntfSubDuplicate", c.ntf_sub_duplicate),
        ("msgSent", c.msg_sent),
        ("msgSentAuth", c.msg_sent_auth),
        ("msgSentQuota", c.msg_sent_quota),
        ("msgSentLarge", c.msg_sent_large),
        ("msgSentBlock", c.msg_sent_block),
        ("msgRecv", c.msg_recv),
        ("msgRecvGet", c.msg_recv_get),
        ("msgGet", c.msg_get),
        ("msgGetNoMsg", c.msg_get_no_msg),
        ("msgGetAuth", c.msg_get_auth),
        ("msgGetDuplicate", c.msg_get_duplicate),
        ("msgGetProhibited", c.msg_get_prohibited),
        ("msgExpired", c.msg_expired),
        ("msgSentNtf", c.msg_sent_ntf),
        ("msgRecvNtf", c.msg_recv_ntf),
        ("msgNtfs", c.msg_ntfs),
        ("msgNtfsB", c.msg_ntfs_b),
        ("msgNtfNoSub", c.msg_ntf_no_sub),
        ("msgNtfLost", c.msg_ntf_lost),
        ("msgNtfExpired", c.msg_ntf_expired),
    ] {
        let _ = writeln!(out, "{key}={value}");
    }
    for (header, sets) in [
        ("activeQueues:", &sets.active_queues),
        ("activeQueuesNtf:", &sets.active_queues_ntf),
    ] {
        out.push_str(header);
        out.push('\n');
        for (key, set) in [
            ("dayHashes=", &sets.day),
            ("weekHashes=", &sets.week),
            ("monthHashes=", &sets.month),
        ] {
            out.push_str(key);
            out.push_str(&join(set));
            out.push('\n');
        }
    }
    for (header, proxy) in [
        ("pRelays:", &data.p_relays),
        ("pRelaysOwn:", &data.p_relays_own),
        ("pMsgFwds:", &data.p_msg_fwds),
        ("pMsgFwdsOwn:", &data.p_msg_fwds_own),
    ] {
        let _ = writeln!(out, "{header}");
        for (key, value) in proxy_fields(proxy) {
            let _ = writeln!(out, "{key}={value}");
        }
    }
    let _ = writeln!(out, "pMsgFwdsRecv={}", c.p_msg_fwds_recv);
    for (header, service) in [
        ("rcvServices:", &data.rcv_services),
        ("ntfServices:", &data.ntf_services),
    ] {
        let _ = writeln!(out, "{header}");
        for (key, value) in service_fields(service) {
            let _ = writeln!(out, "{key}={value}");
        }
    }
    out
}

fn join(set: &BTreeSet<i64>) -> String {
    set.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn proxy_fields(p: &ProxyStatsData) -> [(&'static str, i64); 5] {
    [
        ("requests", p.requests),
        ("successes", p.successes),
        ("errorsConnect", p.errors_connect),
        ("errorsCompat", p.errors_compat),
        ("errorsOther", p.errors_other),
    ]
}

fn service_fields(s: &ServiceStatsData) -> [(&'static str, i64); 8] {
    [
        ("assocNew", s.assoc_new),
        ("assocDuplicate", s.assoc_duplicate),
        // Sic: the reference writes and expects this spelling.
        ("assocUpdatedt", s.assoc_updated),
        ("assocRemoved", s.assoc_removed),
        ("subCount", s.sub_count),
        ("subDuplicate", s.sub_duplicate),
        ("subQueues", s.sub_queues),
        ("subEnd", s.sub_end),
    ]
}

/// Parses the file (`strP` of `ServerStatsData`). `msgCount` and `ntfCount` are not in the
/// file and come back 0; the caller replaces them with what the stores restored.
pub fn decode(text: &str) -> Result<(ServerStatsData, ActiveQueueSets), StatsParseError> {
    let mut lines = Lines::new(text);
    let mut data = ServerStatsData::default();
    let mut sets = ActiveQueueSets::default();
    data.from_time = lines.required("fromTime=", "fromTime=<ISO-8601 time>", parse_iso8601)?;
    let c = &mut data.counters;
    c.q_created = lines.required_int("qCreated=")?;
    c.q_secured = lines.required_int("qSecured=")?;
    if let Some(deleted) = lines.optional("qDeleted=", parse_int) {
        c.q_deleted_all = deleted;
    } else {
        c.q_deleted_all = lines.required_int("qDeletedAll=")?;
        c.q_deleted_new = lines.required_int("qDeletedNew=")?;
        c.q_deleted_secured = lines.required_int("qDeletedSecured=")?;
    }
    c.q_deleted_all_b = lines.int("qDeletedAllB=");
    c.q_blocked = lines.int("qBlocked=");
    c.q_count = lines.int("qCount=");
    c.q_sub = lines.int("qSub=");
    lines.int("qSubNoMsg="); // former counter, read and dropped
    for (key, field) in [
        ("qSubAllB=", &mut c.q_sub_all_b),
        ("qSubAuth=", &mut c.q_sub_auth),
        ("qSubDuplicate=", &mut c.q_sub_duplicate),
        ("qSubProhibited=", &mut c.q_sub_prohibited),
        ("qSubEnd=", &mut c.q_sub_end),
        ("qSubEndB=", &mut c.q_sub_end_b),
        ("ntfCreated=", &mut c.ntf_created),
        ("ntfNewCreated=", &mut c.ntf_new_created),
        ("ntfDeleted=", &mut c.ntf_deleted),
        ("ntfDeletedB=", &mut c.ntf_deleted_b),
        ("ntfSub=", &mut c.ntf_sub),
        ("ntfSubB=", &mut c.ntf_sub_b),
        ("ntfSubAuth=", &mut c.ntf_sub_auth),
        ("ntfSubDuplicate=", &mut c.ntf_sub_duplicate),
    ] {
        *field = lines.int(key);
    }
    c.msg_sent = lines.required_int("msgSent=")?;
    for (key, field) in [
        ("msgSentAuth=", &mut c.msg_sent_auth),
        ("msgSentQuota=", &mut c.msg_sent_quota),
        ("msgSentLarge=", &mut c.msg_sent_large),
        ("msgSentBlock=", &mut c.msg_sent_block),
    ] {
        *field = lines.int(key);
    }
    c.msg_recv = lines.required_int("msgRecv=")?;
    for (key, field) in [
        ("msgRecvGet=", &mut c.msg_recv_get),
        ("msgGet=", &mut c.msg_get),
        ("msgGetNoMsg=", &mut c.msg_get_no_msg),
        ("msgGetAuth=", &mut c.msg_get_auth),
        ("msgGetDuplicate=", &mut c.msg_get_duplicate),
        ("msgGetProhibited=", &mut c.msg_get_prohibited),
        ("msgExpired=", &mut c.msg_expired),
        ("msgSentNtf=", &mut c.msg_sent_ntf),
        ("msgRecvNtf=", &mut c.msg_recv_ntf),
        ("msgNtfs=", &mut c.msg_ntfs),
        ("msgNtfsB=", &mut c.msg_ntfs_b),
        ("msgNtfNoSub=", &mut c.msg_ntf_no_sub),
        ("msgNtfLost=", &mut c.msg_ntf_lost),
        ("msgNtfExpired=", &mut c.msg_ntf_expired),
    ] {
        *field = lines.int(key);
    }
    sets.active_queues = if lines.header("activeQueues:") {
        lines.period_sets()?
    } else {
        PeriodSets {
            day: lines.required("dayMsgQueues=", "activeQueues:", parse_hashes)?,
            week: lines.required("weekMsgQueues=", "weekMsgQueues=", parse_hashes)?,
            month: lines.required("monthMsgQueues=", "monthMsgQueues=", parse_hashes)?,
        }
    };
    if lines.header("subscribedQueues:") {
        lines.period_sets()?;
    }
    if lines.header("activeQueuesNtf:") {
        sets.active_queues_ntf = lines.period_sets()?;
    }
    data.p_relays = lines.proxy_block("pRelays:")?;
    data.p_relays_own = lines.proxy_block("pRelaysOwn:")?;
    data.p_msg_fwds = lines.proxy_block("pMsgFwds:")?;
    data.p_msg_fwds_own = lines.proxy_block("pMsgFwdsOwn:")?;
    data.counters.p_msg_fwds_recv = lines.int("pMsgFwdsRecv=");
    data.rcv_services = lines.service_block("rcvServices:")?;
    data.ntf_services = lines.service_block("ntfServices:")?;
    lines.finish()?;
    Ok((data, sets))
}

/// Line cursor; `\r\n` and a missing final `\n` are accepted.
struct Lines<'a> {
    lines: Vec<&'a str>,
    position: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines: Vec<&str> = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        Lines { lines, position: 0 }
    }

    /// The value of `key` on the current line if it parses; consumes the line only then.
    fn optional<T>(&mut self, key: &str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let value = self
            .lines
            .get(self.position)
            .and_then(|line| line.strip_prefix(key))
            .and_then(parse)?;
        self.position += 1;
        Some(value)
    }

    fn required<T>(
        &mut self,
        key: &str,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, StatsParseError> {
        self.optional(key, parse).ok_or(StatsParseError {
            line: self.position + 1,
            expected,
        })
    }

    fn required_int(&mut self, key: &'static str) -> Result<i64, StatsParseError> {
        self.required(key, key, parse_int)
    }

    /// An optional counter: 0 when absent (`opt`).
    fn int(&mut self, key: &str) -> i64 {
        self.optional(key, parse_int).unwrap_or(0)
    }

    fn header(&mut self, header: &str) -> bool {
        self.optional(header, |rest| rest.is_empty().then_some(()))
            .is_some()
    }

    /// `StrEncoding PeriodStatsData`: hash lists, or base64url id lists hashed here.
    fn period_sets(&mut self) -> Result<PeriodSets, StatsParseError> {
        let mut set =
            |ids: &'static str, hashes: &'static str| match self.optional(ids, parse_id_hashes) {
                Some(set) => Ok(set),
                None => self.required(hashes, hashes, parse_hashes),
            };
        Ok(PeriodSets {
            day: set("day=", "dayHashes=")?,
            week: set("week=", "weekHashes=")?,
            month: set("month=", "monthHashes=")?,
        })
    }

    fn proxy_block(&mut self, header: &str) -> Result<ProxyStatsData, StatsParseError> {
        if !self.header(header) {
            return Ok(ProxyStatsData::default());
        }
        Ok(ProxyStatsData {
            requests: self.required_int("requests=")?,
            successes: self.required_int("successes=")?,
            errors_connect: self.required_int("errorsConnect=")?,
            errors_compat: self.required_int("errorsCompat=")?,
            errors_other: self.required_int("errorsOther=")?,
        })
    }

    fn service_block(&mut self, header: &str) -> Result<ServiceStatsData, StatsParseError> {
        if !self.header(header) {
            return Ok(ServiceStatsData::default());
        }
        Ok(ServiceStatsData {
            assoc_new: self.required_int("assocNew=")?,
            assoc_duplicate: self.required_int("assocDuplicate=")?,
            assoc_updated: self.required_int("assocUpdatedt=")?,
            assoc_removed: self.required_int("assocRemoved=")?,
            sub_count: self.required_int("subCount=")?,
            sub_duplicate: self.required_int("subDuplicate=")?,
            sub_queues: self.required_int("subQueues=")?,
            sub_end: self.required_int("subEnd=")?,
        })
    }

    fn finish(&self) -> Result<(), StatsParseError> {
        if self.position < self.lines.len() {
            return Err(StatsParseError {
                line: self.position + 1,
                expected: "end of file",
            });
        }
        Ok(())
    }
}

/// A decimal `Int` with an optional sign (`A.signed A.decimal`; wraps on overflow as the
/// reference's parser does).
fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.bytes().fold(0i64, |acc, b| {
        acc.wrapping_mul(10).wrapping_add(i64::from(b - b'0'))
    });
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// A possibly empty comma-separated list of `Int`s (`StrEncoding IntSet`).
fn parse_hashes(text: &str) -> Option<BTreeSet<i64>> {
    if text.is_empty() {
        return Some(BTreeSet::new());
    }
    text.split(',').map(parse_int).collect()
}

/// A possibly empty comma-separated list of base64url queue ids, hashed (old `day=` form).
fn parse_id_hashes(text: &str) -> Option<BTreeSet<i64>> {
    if text.is_empty() {
        return Some(BTreeSet::new());
    }
    text.split(',')
        .map(|id| {
            smp_proto::text::decode_base64url(id.as_bytes())
                .ok()
                .map(|bytes| queue_hash(&bytes))
        })
        .collect()
}

/// Writes the counters to `path` (`Server.saveServerStats`). Unlike the reference's plain
/// overwrite, the text goes to a temporary file that is synced and renamed over `path`, so a
/// crash during a periodic save cannot leave a torn file (which would stop the next start).
pub fn save(path: &Path, stats: &ServerStats) -> std::io::Result<()> {
    tracing::info!("saving server stats to file {}", path.display());
    let text = encode(&stats.data(), &stats.period_sets());
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    tracing::info!("server stats saved");
    Ok(())
}

/// Message or notification totals from restoring a store (`MsgStore.Types.MessageStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoredMessages {
    pub stored: i64,
    pub expired: i64,
}

/// What the stores hold at start, to correct the restored counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoredTotals {
    pub queue_count: i64,
    /// `None` when no message store was restored (the file's value, 0, is kept).
    pub messages: Option<RestoredMessages>,
    pub notifications: RestoredMessages,
}

/// Loads saved counters if the file exists (`Server.restoreServerStats`): `qCount`,
/// `msgCount` and `ntfCount` are replaced by the store totals (with a warning
/// `<Queue|Message|Notification> count differs: stats: a, store: b`), expirations during the
/// restore are added, and the file is renamed to `<file>.bak`. Returns whether a file was read.
pub fn restore(
    path: &Path,
    stats: &ServerStats,
    totals: RestoredTotals,
) -> Result<bool, RestoreError> {
    if !path.exists() {
        return Ok(false);
    }
    tracing::info!("restoring server stats from file {}", path.display());
    let io_error = |source| RestoreError::Io {
        path: path.to_owned(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io_error)?;
    let (mut data, sets) = decode(&text)?;
    let saved = data.counters;
    let c = &mut data.counters;
    c.q_count = totals.queue_count;
    if let Some(messages) = totals.messages {
        c.msg_count = messages.stored;
        c.msg_expired += messages.expired;
    }
    c.ntf_count = totals.notifications.stored;
    c.msg_ntf_expired += totals.notifications.expired;
    stats.set(&data, &sets);
    let mut backup = path.as_os_str().to_owned();
    backup.push(".bak");
    std::fs::rename(path, PathBuf::from(backup)).map_err(io_error)?;
    tracing::info!("server stats restored");
    for (name, in_file, in_store) in [
        ("Queue", saved.q_count, data.counters.q_count),
        ("Message", saved.msg_count, data.counters.msg_count),
        ("Notification", saved.ntf_count, data.counters.ntf_count),
    ] {
        if in_file != in_store {
            tracing::warn!("{name} count differs: stats: {in_file}, store: {in_store}");
        }
    }
    Ok(true)
}

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
