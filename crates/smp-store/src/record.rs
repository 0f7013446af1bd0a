//! Owned queue and service records as the API and the store log see them
//! (`QueueStore.hs: QueueRec`, `NtfCreds`, `ServiceRec`, `ServerEntityStatus`).
//!
//! The store keeps a compact form of these ([`crate::compact`]); these types are what callers pass
//! in and get back.

use smp_proto::command::{QueueLinkData, QueueMode};
use smp_proto::crypto::DhSecret;
use smp_proto::error::BlockingInfo;
use smp_proto::ids::EntityId;
use smp_proto::keys::AuthKey;

/// Seconds in a day: `updated_at` is rounded down to a multiple of it (`SystemTime.SystemDate`).
pub const SECONDS_PER_DAY: i64 = 86_400;

/// Rounds Unix seconds down to the day (`SystemTime.getSystemDate`).
pub fn system_date(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(SECONDS_PER_DAY) * SECONDS_PER_DAY
}

/// Queue status (`QueueStore.hs: ServerEntityStatus`); deleted queues have no record at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueStatus {
    /// `active`
    Active,
    /// `off`: suspended by the recipient (OFF).
    Off,
    /// `blocked,<info>`: blocked by the operator.
    Blocked(BlockingInfo),
}

/// Notifier credentials (`QueueStore.hs: NtfCreds`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierCreds {
    pub notifier_id: EntityId,
    pub notifier_key: AuthKey,
    pub rcv_ntf_dh_secret: DhSecret,
    /// `nsrv=`: the notifier service this notifier is associated with.
    pub service_id: Option<EntityId>,
}

/// A queue record (`QueueStore.hs: QueueRec`), without its recipient id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    /// Never empty (`NonEmpty RcvPublicAuthKey`); usually one key.
    pub recipient_keys: Vec<AuthKey>,
    pub rcv_dh_secret: DhSecret,
    pub sender_id: EntityId,
    pub sender_key: Option<AuthKey>,
    /// `None` for queues created before modes existed (v6..v8).
    pub queue_mode: Option<QueueMode>,
    /// Short-link id and data.
    pub link: Option<(EntityId, QueueLinkData)>,
    pub notifier: Option<NotifierCreds>,
    pub status: QueueStatus,
    /// Day-rounded Unix seconds of the last recorded activity.
    pub updated_at: Option<i64>,
    /// `rsrv=`: the messaging service the recipient subscribes through.
    pub rcv_service_id: Option<EntityId>,
}

impl QueueRecord {
    /// `Server.hs: isContactQueue` (legacy mode-less queues without a sender key count).
    pub fn is_contact(&self) -> bool {
        match self.queue_mode {
            Some(QueueMode::Messaging) => false,
            Some(QueueMode::Contact) => true,
            None => self.sender_key.is_none(),
        }
    }

    /// `Server.hs: isSecuredMsgQueue`.
    pub fn is_secured_messaging(&self) -> bool {
        self.queue_mode != Some(QueueMode::Contact) && self.sender_key.is_some()
    }
}

/// The role a service certificate was registered for (`Transport.SMPServiceRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceRole {
    /// `M`
    Messaging,
    /// `N`
    Notifier,
    /// `P`
    Proxy,
}

impl ServiceRole {
    pub fn tag(self) -> u8 {
        match self {
            ServiceRole::Messaging => b'M',
            ServiceRole::Notifier => b'N',
            ServiceRole::Proxy => b'P',
        }
    }

    pub fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            b'M' => Some(ServiceRole::Messaging),
            b'N' => Some(ServiceRole::Notifier),
            b'P' => Some(ServiceRole::Proxy),
            _ => None,
        }
    }
}

/// A registered client service (`QueueStore.hs: ServiceRec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRecord {
    pub service_id: EntityId,
    pub role: ServiceRole,
    /// The certificate chain, DER, leaf first (kept opaque).
    pub certificates: Vec<Vec<u8>>,
    /// Fingerprint of the long-term service certificate.
    pub cert_hash: Vec<u8>,
    /// Day-rounded Unix seconds.
    pub created_at: i64,
}

/// Which side of a queue a service subscribes for (`Protocol.ASubscriberParty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceParty {
    /// `R`: the recipient service (`rsrv`).
    Recipient,
    /// `N`: the notifier service (`nsrv`).
    Notifier,
}

/// Which id space a lookup uses (`QueueStore/STM.hs: getQueue_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueParty {
    Recipient,
    Sender,
    Notifier,
    /// A short-link id (LKEY/LGET).
    Link,
}
