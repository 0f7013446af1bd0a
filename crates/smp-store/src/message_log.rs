//! The message log `smp-server-messages.log` (`MsgStore.MsgLogRecord`, `Protocol` `Message`
//! `StrEncoding`): saved at shutdown, restored at start (`Server.hs: exportMessages`,
//! `importMessages`).
//!
//! ```text
//! v3 <recipientId> <msgId> <unix seconds> flags=<T|F> <body>
//! v3 <recipientId> <msgId> <unix seconds> quota
//! ```

use crate::message_store::{Message, MessageKind, MessageStats, MessageStore, MAX_MESSAGE_LENGTH};
use crate::text::{put_base64, put_bool, put_int, Cursor, TextError, TextResult};
use base64::Engine;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Appends one line without `\n` (`strEncode (MLRv3 rId msg)`).
pub fn encode_message_line(out: &mut Vec<u8>, recipient_id: &[u8], message: &Message) {
    out.extend_from_slice(b"v3 ");
    put_base64(out, recipient_id);
    out.push(b' ');
    put_base64(out, &message.msg_id);
    out.push(b' ');
    put_int(out, message.timestamp);
    match &message.kind {
        MessageKind::Quota => out.extend_from_slice(b" quota"),
        MessageKind::Message { notification, body } => {
            out.extend_from_slice(b" flags=");
            put_bool(out, *notification);
            out.push(b' ');
            put_base64(out, body);
        }
    }
}

/// Parses one line (`strP` of `MsgLogRecord`): the recipient id and the message. A missing
/// `flags=` means no notification; flag characters after the first are ignored.
pub fn parse_message_line(line: &[u8]) -> TextResult<(Vec<u8>, Message)> {
    let mut cursor = Cursor::new(line);
    cursor.literal(b"v3 ", "v3")?;
    let recipient_id = cursor.base64()?;
    cursor.space()?;
    let msg_id = cursor.base64_array::<24>("message id")?;
    cursor.space()?;
    let timestamp = cursor.int64()?;
    cursor.space()?;
    let kind = if cursor.literal(b"quota", "quota").is_ok() {
        MessageKind::Quota
    } else {
        let notification = cursor
            .optional(|c| {
                c.literal(b"flags=", "flags")?;
                let notification = c.boolean()?;
                c.take_till(b" ");
                c.space()?;
                Ok(notification)
            })
            .unwrap_or(false);
        let body = cursor.base64()?;
        if body.len() > MAX_MESSAGE_LENGTH {
            return Err(TextError("message length"));
        }
        MessageKind::Message {
            notification,
            body: Arc::from(body),
        }
    };
    cursor.end()?;
    Ok((
        recipient_id,
        Message {
            msg_id,
            timestamp,
            kind,
        },
    ))
}

/// Why restoring stopped the start.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// `error restoring messages: parsing error (...)`: always fatal except on the last line.
    #[error("error restoring messages: {path}, line {line}: parsing error ({reason})")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// A warning that stops the start unless warnings are skipped (`warnOrExit`).
    #[error(
        "warning restoring messages: {0}, start with --skip-warnings option to ignore this error"
    )]
    Warning(String),
}

/// Writes every queue's messages, oldest first, grouped by queue in recipient-id order; returns
/// how many (`exportMessages`). With `drain` the store is emptied.
pub fn save_messages(
    path: &Path,
    store: &MessageStore,
    drain: bool,
) -> Result<usize, RestoreError> {
    let io_error = |source| RestoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(io_error)?);
    let mut line = Vec::with_capacity(1024);
    let mut count = 0;
    for (recipient_id, messages) in store.snapshot(drain) {
        for message in &messages {
            line.clear();
            encode_message_line(&mut line, &recipient_id, message);
            line.push(b'\n');
            out.write_all(&line).map_err(io_error)?;
            count += 1;
        }
    }
    let file = out
        .into_inner()
        .map_err(|error| io_error(error.into_error()))?;
    file.sync_all().map_err(io_error)?;
    Ok(count)
}

/// Restores the message log into `store` (`importMessages`), then renames it to `<file>.bak`.
///
/// `queue_exists` says whether a recipient id names a live queue. Messages older than
/// `expire_before` (Unix seconds) are counted as expired and dropped. A line for an unknown queue
/// or an unparsable last line is a [`RestoreError::Warning`] unless `skip_warnings`; any other
/// unparsable line is fatal. `stats.queues` is left 0 for the caller to fill with its queue count.
pub fn restore_messages(
    path: &Path,
    store: &MessageStore,
    queue_exists: impl Fn(&[u8]) -> bool,
    expire_before: Option<i64>,
    skip_warnings: bool,
) -> Result<MessageStats, RestoreError> {
    let io_error = |source| RestoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_error)?);
    let mut stats = MessageStats::default();
    let mut over_quota: Vec<Vec<u8>> = Vec::new();
    let mut line = Vec::with_capacity(32 * 1024);
    let mut line_number = 0;
    let warn = |text: String| -> Result<(), RestoreError> {
        if skip_warnings {
            tracing::warn!("warning restoring messages: {text}");
            Ok(())
        } else {
            Err(RestoreError::Warning(text))
        }
    };
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(io_error)? == 0 {
            break;
        }
        line_number += 1;
        let last = reader.fill_buf().map_err(io_error)?.is_empty();
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let (recipient_id, message) = match parse_message_line(text) {
            Ok(parsed) => parsed,
            Err(error) => {
                let preview = String::from_utf8_lossy(&text[..text.len().min(100)]).into_owned();
                if last {
                    warn(format!("parsing error ({error}): {preview}"))?;
                    continue;
                }
                return Err(RestoreError::Parse {
                    path: path.to_path_buf(),
                    line: line_number,
                    reason: format!("{error}): {preview}"),
                });
            }
        };
        if !queue_exists(&recipient_id) {
            let id = base64::engine::general_purpose::STANDARD.encode(&recipient_id);
            warn(format!("queue {id} does not exist"))?;
            continue;
        }
        match message.kind {
            MessageKind::Message { .. } => {
                if expire_before.is_some_and(|before| message.timestamp < before) {
                    stats.expired += 1;
                } else {
                    let msg_id = message.msg_id;
                    if store.write_message(&recipient_id, message).is_some() {
                        stats.stored += 1;
                    } else {
                        let mut text = Vec::new();
                        put_base64(&mut text, &recipient_id);
                        text.extend_from_slice(b" is full, message not restored: ");
                        put_base64(&mut text, &msg_id);
                        tracing::error!("message queue {}", String::from_utf8_lossy(&text));
                    }
                }
            }
            MessageKind::Quota => {
                // The queue was over quota: a marker already at the head is replaced, and the
                // queue is set over quota once everything is imported.
                store.drop_quota_head(&recipient_id);
                store.write_message(&recipient_id, message);
                over_quota.push(recipient_id);
            }
        }
    }
    fs::rename(path, crate::store_log::with_suffix(path, ".bak")).map_err(io_error)?;
    for recipient_id in over_quota {
        store.set_over_quota(&recipient_id);
    }
    Ok(stats)
}

#[cfg(test)]
#[path = "message_log_tests.rs"]
mod tests;
