//! Queue store, store log (reference format), and message store for the SMP server.
//!
//! Module map: [`queue_store`] the in-memory queue records (compact slots in [`compact`], changes
//! in `apply`, frozen copies for compaction in [`snapshot`]), [`log_record`] one line of
//! `smp-server-store.log`, [`store_log`] appending, replay and backups, [`compaction`] the
//! background compaction, [`message_store`] per-queue message FIFOs with quota and expiry,
//! [`message_log`] `smp-server-messages.log`, [`ntf_store`] pending notifications and
//! `smp-server-ntfs.log`, [`text`] the `StrEncoding` forms, [`time`] ISO-8601 backup names.

#![forbid(unsafe_code)]

mod apply;
pub mod compact;
pub mod compaction;
pub mod log_record;
pub mod message_log;
pub mod message_store;
pub mod ntf_store;
mod parse_pipeline;
pub mod queue_store;
pub mod record;
pub mod snapshot;
pub mod store_log;
pub mod synthetic;
pub mod text;
pub mod time;

pub use log_record::StoreLogRecord;
pub use message_store::{Message, MessageKind, MessageStats, MessageStore};
pub use ntf_store::{MsgNtf, NtfStore};
pub use queue_store::{EntityCounts, QueueStore, StoreError};
pub use record::{
    NotifierCreds, QueueParty, QueueRecord, QueueStatus, ServiceParty, ServiceRecord, ServiceRole,
};
pub use store_log::{DamagePolicy, FsyncPolicy, StoreLogError, StoreLogWriter};
