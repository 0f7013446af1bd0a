//! What survives a restart (`Server/Env/STM.hs: newEnv` → `readWriteQueueStore`; `Server.hs:
//! processServerMessages`, `restoreServerNtfs`, `stopServer` → `saveServer`): at start the store
//! log is replayed and appended to from then on while it is compacted in the background, and the
//! messages and pending notifications saved at the last stop are restored (then renamed `.bak`);
//! at a graceful stop messages and notifications are saved, and the store log is closed once its
//! compaction (if still running) has finished.

use crate::notifications::MsgNtf;
use crate::state::ServerState;
use crate::stats::persist::{RestoredMessages, RestoredTotals};
use crate::store::backend::StoreBackend;
use crate::store::QueueParty;
use anyhow::Context;
use smp_proto::ids::{EntityId, MsgId};
use smp_store::message_log::{restore_messages, save_messages};
use smp_store::ntf_store::{restore_ntfs, save_ntfs};
use smp_store::store_log::open_store_log;
use smp_store::store_log::ReplayReport;
use smp_store::{DamagePolicy, FsyncPolicy, NtfStore, StoreLogError};
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

/// Files of the persistent state; `None` disables that part (`[STORE_LOG] enable`,
/// `restore_messages`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorePaths {
    /// `smp-server-store.log`.
    pub store_log: Option<PathBuf>,
    /// `smp-server-messages.log`.
    pub messages: Option<PathBuf>,
    /// `smp-server-ntfs.log`.
    pub notifications: Option<PathBuf>,
    /// `--skip-warnings`: a message for an unknown queue or a torn last line of the message log
    /// is a warning instead of stopping the start (`importMessages`), and a damaged store log line
    /// is skipped like the reference does instead of stopping the start.
    pub skip_warnings: bool,
    /// `[STORE_LOG] store_log_fsync`: fsync the store log after every record.
    pub store_log_fsync: bool,
}

impl StorePaths {
    /// Damaged store log lines stop the start unless `--skip-warnings` was given (the reference
    /// always prints and skips them: `Error parsing log`).
    pub fn damage_policy(&self) -> DamagePolicy {
        if self.skip_warnings {
            DamagePolicy::Lenient
        } else {
            DamagePolicy::Strict
        }
    }

    pub fn fsync_policy(&self) -> FsyncPolicy {
        if self.store_log_fsync {
            FsyncPolicy::EveryRecord
        } else {
            FsyncPolicy::Never
        }
    }
}

/// Restores the stores before serving; returns what was restored, for the statistics.
pub fn restore(
    state: &ServerState,
    backend: &StoreBackend,
    paths: &StorePaths,
) -> anyhow::Result<RestoredTotals> {
    let mut totals = RestoredTotals::default();
    let now = state.clock.seconds();
    if let Some(path) = &paths.store_log {
        let system_now = UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0));
        // The store appends to the replayed log from here; its compaction goes on in the
        // background (`save` waits for it).
        let report = open_store_log(
            path,
            &backend.queues,
            paths.damage_policy(),
            paths.fsync_policy(),
            system_now,
        )
        .map_err(|error| match error {
            StoreLogError::Damaged { .. } => anyhow::anyhow!(
                "{error}, or start with --skip-warnings option to skip damaged lines"
            ),
            StoreLogError::Io { .. } => anyhow::Error::new(error),
        })
        .with_context(|| format!("opening the store log {}", path.display()))?;
        if let Some(replay) = &report.replay {
            report_replay(replay);
        }
    }
    if let Some(path) = paths.messages.as_ref().filter(|path| path.exists()) {
        tracing::info!("restoring messages from file {}", path.display());
        // The memory store always drops expired messages while restoring (`importMessages` gets
        // the cut-off whatever `expire_messages_on_start` says; that setting is for the journal
        // and database stores).
        let expire_before = state
            .settings
            .message_expiration
            .map(|expiration| now.saturating_sub(seconds(expiration.ttl)));
        let queue_exists = |recipient_id: &[u8]| {
            EntityId::new(recipient_id.to_vec())
                .is_ok_and(|id| state.store.queue(QueueParty::Recipient, &id).is_ok())
        };
        let stats = restore_messages(
            path,
            &backend.messages,
            queue_exists,
            expire_before,
            paths.skip_warnings,
        )?;
        // `printMessageStats "messages"`
        tracing::info!(
            "messages stored: {}, expired: {}, queues: {}",
            stats.stored,
            stats.expired,
            backend.queues.counts().queues
        );
        totals.messages = Some(RestoredMessages {
            stored: count(stats.stored),
            expired: count(stats.expired),
        });
    }
    if let Some(path) = paths.notifications.as_ref().filter(|path| path.exists()) {
        tracing::info!("restoring notifications from file {}", path.display());
        let restored = NtfStore::new();
        let before = now.saturating_sub(seconds(state.settings.ntf_expiration.ttl));
        let (stats, _lines) = restore_ntfs(path, &restored, before)?;
        tracing::info!(
            "notifications stored: {}, expired: {}, queues: {}",
            stats.stored,
            stats.expired,
            stats.queues
        );
        totals.notifications = RestoredMessages {
            stored: count(stats.stored),
            expired: count(stats.expired),
        };
        for notifier_id in restored.notifier_ids() {
            let Ok(id) = EntityId::new(notifier_id.to_vec()) else {
                continue;
            };
            for ntf in restored.take(&notifier_id) {
                state.notifications.store(
                    &id,
                    MsgNtf {
                        msg_id: MsgId::from(ntf.msg_id),
                        timestamp: ntf.timestamp,
                        nonce: ntf.nonce,
                        encrypted_meta: ntf.encrypted_meta.to_vec(),
                    },
                );
            }
        }
    }
    totals.queue_count = count(backend.queues.counts().queues);
    Ok(totals)
}

/// `Processed: <n> log lines`, then one summary line for each kind of skipped line (each line
/// was already logged as it was read).
fn report_replay(replay: &ReplayReport) {
    tracing::info!("Processed: {} log lines", replay.lines);
    if let Some(torn) = &replay.torn_tail {
        tracing::warn!(
            "store log: the last line ({}) was incomplete (a write interrupted by a crash) and was dropped",
            torn.line
        );
    }
    if !replay.skipped_lines.is_empty() {
        tracing::warn!(
            "store log: {} lines skipped (unknown record types or damaged lines)",
            replay.skipped_lines.len()
        );
    }
    if !replay.failed_changes.is_empty() {
        tracing::warn!(
            "store log: {} records could not be applied (unknown or deleted queues)",
            replay.failed_changes.len()
        );
    }
}

fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Saves what the next start restores (`saveServer True`), then closes the store log (after its
/// start-up compaction, when that is still running: `--maintenance` thus exits with the log
/// compacted, like the reference).
pub fn save(state: &ServerState, backend: &StoreBackend, paths: &StorePaths) -> anyhow::Result<()> {
    tracing::info!("Saving server state...");
    match &paths.messages {
        Some(path) => {
            tracing::info!("saving messages to file {}", path.display());
            let count = save_messages(path, &backend.messages, true)?;
            tracing::info!("messages saved: {count}");
        }
        None => tracing::info!("undelivered messages are not saved"),
    }
    if let Some(path) = &paths.notifications {
        let pending = NtfStore::new();
        for notifier_id in state.notifications.notifiers_with_pending() {
            let notifications = state.notifications.take(&notifier_id);
            store_pending(&pending, &notifier_id, notifications);
        }
        tracing::info!("saving notifications to file {}", path.display());
        let count = save_ntfs(path, &pending)?;
        tracing::info!("notifications saved: {count}");
    }
    if backend.queues.compaction_running() {
        tracing::info!("waiting for the store log compaction to finish...");
    }
    if let Some(mut writer) = backend.queues.take_store_log() {
        writer.sync().context("closing the store log")?;
    }
    Ok(())
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Puts a notifier's pending notifications into the store written to `smp-server-ntfs.log`.
pub fn store_pending(pending: &NtfStore, notifier_id: &EntityId, notifications: Vec<MsgNtf>) {
    for ntf in notifications {
        // The server only creates 24-byte message ids.
        let Ok(msg_id) = <[u8; 24]>::try_from(ntf.msg_id.as_bytes()) else {
            continue;
        };
        pending.store(
            notifier_id.as_bytes(),
            smp_store::MsgNtf {
                msg_id,
                timestamp: ntf.timestamp,
                nonce: ntf.nonce,
                encrypted_meta: ntf.encrypted_meta.into(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, Random};
    use crate::state::ServerSettings;
    use crate::store::{QueueRecord, QueueStatus, Store, StoredMessage};
    use smp_proto::codec::SystemTime;
    use smp_proto::crypto::DhSecret;
    use smp_proto::keys::AuthKey;
    use std::sync::Arc;

    const NOW: i64 = 1_700_000_000;

    fn server() -> (Arc<ServerState>, Arc<StoreBackend>) {
        let clock = Arc::new(ManualClock::at_seconds(NOW));
        let backend = Arc::new(StoreBackend::new(128, clock.clone()));
        let state = ServerState::with(ServerSettings::default(), clock, Random::from_seed(1))
            .with_store(backend.clone());
        (Arc::new(state), backend)
    }

    fn record(recipient_id: &EntityId) -> QueueRecord {
        QueueRecord {
            recipient_id: recipient_id.clone(),
            sender_id: EntityId::from([2; 24]),
            recipient_keys: vec![AuthKey::Ed25519([3; 32])],
            rcv_dh_secret: DhSecret([4; 32]),
            sender_key: None,
            queue_mode: None,
            link: None,
            notifier: None,
            status: QueueStatus::Active,
        }
    }

    #[test]
    fn queues_messages_and_notifications_survive_save_and_restore() {
        let dir = tempfile::tempdir().unwrap();
        let paths = StorePaths {
            store_log: Some(dir.path().join("smp-server-store.log")),
            messages: Some(dir.path().join("smp-server-messages.log")),
            notifications: Some(dir.path().join("smp-server-ntfs.log")),
            skip_warnings: false,
            store_log_fsync: true,
        };
        let rid = EntityId::from([1; 24]);
        let message = StoredMessage::Message {
            msg_id: MsgId::from([5; 24]),
            timestamp: SystemTime(NOW),
            flags: Default::default(),
            body: b"kept".to_vec(),
        };
        let ntf = MsgNtf {
            msg_id: MsgId::from([5; 24]),
            timestamp: NOW,
            nonce: [6; 24],
            encrypted_meta: vec![7; 144],
        };
        {
            let (state, backend) = server();
            restore(&state, &backend, &paths).unwrap();
            backend.add_queue(record(&rid)).unwrap();
            backend.write_message(&rid, message.clone()).unwrap();
            state
                .notifications
                .store(&EntityId::from([8; 24]), ntf.clone());
            save(&state, &backend, &paths).unwrap();
        }
        let (state, backend) = server();
        restore(&state, &backend, &paths).unwrap();
        assert_eq!(
            backend.queue(QueueParty::Recipient, &rid).unwrap(),
            record(&rid)
        );
        assert_eq!(backend.peek_message(&rid).unwrap(), Some(message));
        assert_eq!(state.notifications.take(&EntityId::from([8; 24])), [ntf]);
        // the restored files were renamed
        assert!(!dir.path().join("smp-server-messages.log").exists());
    }
}
