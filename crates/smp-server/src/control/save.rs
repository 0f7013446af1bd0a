//! `save` (`Server.hs: runCPClient` `CPSave` → `saveServer False`): writes the files a graceful
//! stop writes — undelivered messages, pending notifications, the statistics — while the
//! server keeps serving.
//!
//! Unlike the reference, this is a snapshot: nothing is drained, and the store log stays open
//! (the reference closes its message store here, which empties the running server's queues).
//! The store log needs no save: every change is already appended as it happens.

use super::ControlContext;
use crate::persistence::StorePaths;
use anyhow::Context as _;
use std::path::PathBuf;

/// The files `save` writes (those the shutdown save writes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveTargets {
    /// Messages and notifications files (`None` parts are not saved).
    pub paths: StorePaths,
    /// `smp-server-stats.log` with `log_stats = on`.
    pub stats_log: Option<PathBuf>,
}

/// Writes the snapshot; returns what the operator is told about each part.
pub fn save_snapshot(context: &ControlContext) -> anyhow::Result<()> {
    let targets = &context.save_targets;
    if let Some(path) = &targets.paths.messages {
        let count = smp_store::message_log::save_messages(path, &context.backend.messages, false)
            .with_context(|| format!("saving messages to {}", path.display()))?;
        tracing::info!("control port: messages saved: {count}");
    }
    if let Some(path) = &targets.paths.notifications {
        let pending = smp_store::NtfStore::new();
        for (notifier_id, notifications) in context.state.notifications.snapshot() {
            crate::persistence::store_pending(&pending, &notifier_id, notifications);
        }
        let count = smp_store::ntf_store::save_ntfs(path, &pending)
            .with_context(|| format!("saving notifications to {}", path.display()))?;
        tracing::info!("control port: notifications saved: {count}");
    }
    if let Some(path) = &targets.stats_log {
        crate::stats::persist::save(path, &context.state.stats)
            .with_context(|| format!("saving server stats to {}", path.display()))?;
    }
    Ok(())
}
