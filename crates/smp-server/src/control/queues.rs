//! Queue commands of the control port (`Server.hs: runCPClient` — `CPDelete`, `CPStatus`,
//! `CPBlock`, `CPUnblock`) and the daily block quota (`daily_block_queue_quota`).
//!
//! Queues are found by sender id, or failing that by link id (`getSenderQueue`). Changes go
//! through the queue store, which appends the store log record (`DELETE`, `BLOCK`, `UNBLOCK`)
//! like a client command does. As in the reference, deleting sends no `DELD` to a subscriber;
//! blocking tells the current subscriber at once with `ERR BLOCKED` (an empty correlation id).

use super::show;
use super::ControlContext;
use crate::stats::time::epoch_day;
use smp_proto::error::{BlockingInfo, ErrorType};
use smp_proto::ids::EntityId;
use smp_store::{QueueParty, QueueRecord, QueueStatus};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Queues blocked today through the control port, reset at 00:00 UTC.
///
/// The reference counts in the `qBlocked` statistic and resets it only in the daily statistics
/// writer (so never with `log_stats = off`); here the count starts from the restored `qBlocked`
/// and resets when the UTC day changes, whatever `log_stats` says.
#[derive(Debug)]
pub struct BlockQuota {
    limit: i64,
    today: Mutex<(i64, i64)>,
}

impl BlockQuota {
    /// `limit` per day (0 = unlimited, negative = no blocking); `used` already today.
    pub fn new(limit: i64, now: Duration, used: i64) -> Self {
        BlockQuota {
            limit,
            today: Mutex::new((epoch_day(now), used)),
        }
    }

    fn used(&self, now: Duration) -> i64 {
        let mut today = self.today.lock().unwrap_or_else(PoisonError::into_inner);
        if today.0 != epoch_day(now) {
            *today = (epoch_day(now), 0);
        }
        today.1
    }

    /// Whether the quota is used up (`blocked >= quota && quota /= 0`; a negative quota is
    /// always reached).
    pub fn reached(&self, now: Duration) -> bool {
        self.limit != 0 && self.used(now) >= self.limit
    }

    /// Counts one more blocked queue.
    pub fn count(&self, now: Duration) {
        self.used(now);
        self.today.lock().unwrap_or_else(PoisonError::into_inner).1 += 1;
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }
}

/// `getSenderQueue`: by sender id, then by link id when that is `AUTH`.
fn sender_queue(context: &ControlContext, id: &[u8]) -> Result<(EntityId, QueueRecord), ErrorType> {
    let queues = &context.backend.queues;
    match queues.queue(QueueParty::Sender, id) {
        Err(smp_store::StoreError::Auth) => Ok(queues.queue(QueueParty::Link, id)?),
        found => Ok(found?),
    }
}

fn error_line(error: &ErrorType) -> String {
    format!("error: {}", show::error(error))
}

/// `delete`: deletes the queue and its messages; counts it in the deleted-queue statistics.
pub fn delete(context: &ControlContext, id: &[u8]) -> String {
    let deleted = sender_queue(context, id).and_then(|(recipient_id, _)| {
        let size = context.state.store.queue_size(&recipient_id).unwrap_or(0);
        let record = context.state.store.delete_queue(&recipient_id)?;
        Ok((record, size))
    });
    match deleted {
        Ok((record, size)) => {
            // `updateDeletedStats`
            let counters = &context.state.stats.counters;
            if record.sender_key.is_none() {
                counters.q_deleted_new.inc();
            } else {
                counters.q_deleted_secured.inc();
            }
            counters.q_deleted_all.inc();
            counters.q_count.sub(1);
            format!("ok, {size} messages deleted")
        }
        Err(error) => error_line(&error),
    }
}

/// `status`: the queue's status, day of last use and mode, in Haskell `show` forms.
pub fn status(context: &ControlContext, id: &[u8]) -> String {
    match sender_queue(context, id) {
        Ok((_, record)) => format!(
            "status: {}, updatedAt: {}, queueMode: {}",
            show::status(&record.status),
            show::updated_at(record.updated_at),
            show::queue_mode(record.queue_mode)
        ),
        Err(error) => error_line(&error),
    }
}

/// `block`: within the daily quota, blocks the queue (again, when the reason differs) and
/// tells its subscriber; only blocking an active queue counts against the quota.
pub fn block(context: &ControlContext, id: &[u8], info: BlockingInfo) -> String {
    let now = context.state.clock.now();
    if context.block_quota.reached(now) {
        return format!(
            "error: reached limit of {} queues blocked daily",
            context.block_quota.limit()
        );
    }
    let blocked = sender_queue(context, id).and_then(|(recipient_id, record)| {
        if record.status != QueueStatus::Blocked(info) {
            context.backend.queues.block_queue(&recipient_id, info)?;
            crate::session::send_blocked_event(&context.state, &recipient_id, info);
        }
        Ok(record.status)
    });
    match blocked {
        Ok(QueueStatus::Active) => {
            context.block_quota.count(now);
            context.state.stats.counters.q_blocked.inc();
            format!("ok, queue blocked: {}", show::blocked_status(&info))
        }
        Ok(_) => format!("ok, already inactive: {}", show::blocked_status(&info)),
        Err(error) => error_line(&error),
    }
}

/// `unblock`: makes a blocked queue active again.
pub fn unblock(context: &ControlContext, id: &[u8]) -> String {
    let unblocked = sender_queue(context, id).and_then(|(recipient_id, record)| {
        match record.status {
            QueueStatus::Blocked(info) => {
                context.backend.queues.unblock_queue(&recipient_id)?;
                Ok(Some(info))
            }
            QueueStatus::Active | QueueStatus::Off => Ok(None),
        }
        .map(|info| (info, record.status))
    });
    match unblocked {
        Ok((Some(info), _)) => format!(
            "ok, queue unblocked, reason to block was: {}",
            show::blocking_info(&info)
        ),
        Ok((None, QueueStatus::Active)) => "ok, queue was active".to_owned(),
        Ok((None, _)) => "error, queue is inactive".to_owned(),
        Err(error) => error_line(&error),
    }
}

#[cfg(test)]
#[path = "queues_tests.rs"]
pub(crate) mod tests;
