//! Pending notifications for notifier subscribers (`NtfStore.hs`) and their log
//! `smp-server-ntfs.log` (`NtfLogRecord`, `Server.hs: saveServerNtfs`, `restoreServerNtfs`):
//!
//! ```text
//! v1 <notifierId> <msgId> <unix seconds> <nonce> <encryptedMeta>
//! ```
//! oldest first per notifier. Notifications expire after 24 hours by default.

use crate::message_log::RestoreError;
use crate::message_store::MessageStats;
use crate::text::{put_base64, put_int, Cursor, TextResult};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// Default notification time to live (`Env/STM.hs: defNtfExpirationHours` = 24).
pub const DEFAULT_NTF_TTL_SECONDS: i64 = 24 * 3600;

/// One pending notification (`NtfStore.MsgNtf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgNtf {
    pub msg_id: [u8; 24],
    /// Unix seconds.
    pub timestamp: i64,
    pub nonce: [u8; 24],
    /// The encrypted `NMsgMeta`.
    pub encrypted_meta: Box<[u8]>,
}

/// Notifications by notifier id, oldest first.
#[derive(Debug, Default)]
pub struct NtfStore {
    notifiers: Mutex<HashMap<Box<[u8]>, Vec<MsgNtf>>>,
}

impl NtfStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// `storeNtf`.
    pub fn store(&self, notifier_id: &[u8], notification: MsgNtf) {
        self.notifiers
            .lock()
            .entry(notifier_id.into())
            .or_default()
            .push(notification);
    }

    /// `deleteNtfs`: drops a notifier's notifications; returns how many.
    pub fn delete(&self, notifier_id: &[u8]) -> usize {
        self.notifiers
            .lock()
            .remove(notifier_id)
            .map_or(0, |list| list.len())
    }

    /// Takes a notifier's notifications for delivery, oldest first.
    pub fn take(&self, notifier_id: &[u8]) -> Vec<MsgNtf> {
        self.notifiers
            .lock()
            .remove(notifier_id)
            .unwrap_or_default()
    }

    /// Notifier ids with pending notifications.
    pub fn notifier_ids(&self) -> Vec<Box<[u8]>> {
        self.notifiers.lock().keys().cloned().collect()
    }

    /// Pending notifications in total.
    pub fn count(&self) -> usize {
        self.notifiers.lock().values().map(Vec::len).sum()
    }

    /// `deleteExpiredNtfs`: drops notifications older than `before`; returns how many.
    pub fn expire(&self, before: i64) -> usize {
        let mut notifiers = self.notifiers.lock();
        let mut expired = 0;
        for list in notifiers.values_mut() {
            if list.first().is_some_and(|oldest| oldest.timestamp < before) {
                let length = list.len();
                list.retain(|ntf| ntf.timestamp >= before);
                expired += length - list.len();
            }
        }
        notifiers.retain(|_, list| !list.is_empty());
        expired
    }
}

/// One line without `\n` (`strEncode (NLRv1 nId ntf)`).
pub fn encode_ntf_line(out: &mut Vec<u8>, notifier_id: &[u8], ntf: &MsgNtf) {
    out.extend_from_slice(b"v1 ");
    put_base64(out, notifier_id);
    out.push(b' ');
    put_base64(out, &ntf.msg_id);
    out.push(b' ');
    put_int(out, ntf.timestamp);
    out.push(b' ');
    put_base64(out, &ntf.nonce);
    out.push(b' ');
    put_base64(out, &ntf.encrypted_meta);
}

/// Parses one line. The nonce is cut or zero-padded to 24 bytes (`Crypto.cbNonce`).
pub fn parse_ntf_line(line: &[u8]) -> TextResult<(Vec<u8>, MsgNtf)> {
    let mut cursor = Cursor::new(line);
    cursor.literal(b"v1 ", "v1")?;
    let notifier_id = cursor.base64()?;
    cursor.space()?;
    let msg_id = cursor.base64_array::<24>("message id")?;
    cursor.space()?;
    let timestamp = cursor.int64()?;
    cursor.space()?;
    let raw_nonce = cursor.base64()?;
    let mut nonce = [0u8; 24];
    let length = raw_nonce.len().min(24);
    nonce[..length].copy_from_slice(&raw_nonce[..length]);
    cursor.space()?;
    let encrypted_meta = cursor.base64()?.into_boxed_slice();
    cursor.end()?;
    Ok((
        notifier_id,
        MsgNtf {
            msg_id,
            timestamp,
            nonce,
            encrypted_meta,
        },
    ))
}

/// Saves all pending notifications (`saveServerNtfs`), notifiers in id order. Returns how many.
pub fn save_ntfs(path: &Path, store: &NtfStore) -> Result<usize, RestoreError> {
    let io_error = |source| RestoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(io_error)?);
    let notifiers = store.notifiers.lock();
    let mut ids: Vec<&Box<[u8]>> = notifiers.keys().collect();
    ids.sort();
    let mut line = Vec::with_capacity(512);
    let mut count = 0;
    for id in ids {
        for ntf in notifiers.get(id).into_iter().flatten() {
            line.clear();
            encode_ntf_line(&mut line, id, ntf);
            line.push(b'\n');
            out.write_all(&line).map_err(io_error)?;
            count += 1;
        }
    }
    drop(notifiers);
    let file = out
        .into_inner()
        .map_err(|error| io_error(error.into_error()))?;
    file.sync_all().map_err(io_error)?;
    Ok(count)
}

/// Restores notifications (`restoreServerNtfs`): entries older than `expire_before` are counted
/// as expired; any parse error is fatal; the file is then renamed `<file>.bak`. Returns the stats
/// and the number of lines processed.
pub fn restore_ntfs(
    path: &Path,
    store: &NtfStore,
    expire_before: i64,
) -> Result<(MessageStats, usize), RestoreError> {
    let io_error = |source| RestoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(io_error)?);
    let mut stats = MessageStats::default();
    let mut lines = 0;
    for line in reader.split(b'\n') {
        let line = line.map_err(io_error)?;
        lines += 1;
        let (notifier_id, ntf) = parse_ntf_line(&line).map_err(|error| RestoreError::Parse {
            path: path.to_path_buf(),
            line: lines,
            reason: format!(
                "{error}): {}",
                String::from_utf8_lossy(&line[..line.len().min(100)])
            ),
        })?;
        if ntf.timestamp < expire_before {
            stats.expired += 1;
        } else {
            store.store(&notifier_id, ntf);
            stats.stored += 1;
        }
    }
    fs::rename(path, crate::store_log::with_suffix(path, ".bak")).map_err(io_error)?;
    stats.queues = store.notifiers.lock().len();
    tracing::info!("notifications restored, {lines} lines processed");
    Ok((stats, lines))
}

#[cfg(test)]
#[path = "ntf_store_tests.rs"]
mod tests;
