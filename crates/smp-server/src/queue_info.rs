//! The JSON body of `INFO`, the answer to `QUE` (`Server/QueueStore/QueueInfo.hs: QueueInfo`,
//! Aeson TH encoding with `omitNothingFields`; `Server.hs: getQueueInfo`; `Protocol.hs:
//! toMsgInfo`). Informational only: clients display it. Fields are written in the reference's
//! order, absent optional fields are omitted.

use crate::stats::time::iso8601;
use base64::Engine;
use std::fmt::Write;

/// Subscription state of the queue in the asking connection (`QSubThread`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubThread {
    NoSub,
    SubPending,
    SubThread,
    ProhibitSub,
}

impl SubThread {
    fn tag(self) -> &'static str {
        match self {
            SubThread::NoSub => "noSub",
            SubThread::SubPending => "subPending",
            SubThread::SubThread => "subThread",
            SubThread::ProhibitSub => "prohibitSub",
        }
    }
}

/// `QSub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSub {
    pub thread: SubThread,
    /// Id of the delivered, unacknowledged message.
    pub delivered: Option<Vec<u8>>,
}

/// `MsgInfo` of the head message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadMessage {
    pub msg_id: Vec<u8>,
    /// Time since the epoch.
    pub timestamp: std::time::Duration,
    pub is_quota: bool,
}

/// `QueueInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    pub has_sender_key: bool,
    pub has_notifier: bool,
    pub sub: Option<QueueSub>,
    pub size: usize,
    pub head: Option<HeadMessage>,
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl QueueInfo {
    /// `smpEncode QueueInfo` (Aeson `encode`).
    pub fn to_json(&self) -> String {
        let mut out = format!(
            "{{\"qiSnd\":{},\"qiNtf\":{}",
            self.has_sender_key, self.has_notifier
        );
        if let Some(sub) = &self.sub {
            let _ = write!(out, ",\"qiSub\":{{\"qSubThread\":\"{}\"", sub.thread.tag());
            if let Some(delivered) = &sub.delivered {
                let _ = write!(out, ",\"qDelivered\":\"{}\"", base64(delivered));
            }
            out.push('}');
        }
        let _ = write!(out, ",\"qiSize\":{}", self.size);
        if let Some(head) = &self.head {
            let _ = write!(
                out,
                ",\"qiMsg\":{{\"msgId\":\"{}\",\"msgTs\":\"{}\",\"msgType\":\"{}\"}}",
                base64(&head.msg_id),
                iso8601(head.timestamp),
                if head.is_quota { "quota" } else { "message" }
            );
        }
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn minimal_info() {
        let info = QueueInfo {
            has_sender_key: false,
            has_notifier: true,
            sub: None,
            size: 0,
            head: None,
        };
        assert_eq!(info.to_json(), r#"{"qiSnd":false,"qiNtf":true,"qiSize":0}"#);
    }

    #[test]
    fn full_info() {
        let info = QueueInfo {
            has_sender_key: true,
            has_notifier: false,
            sub: Some(QueueSub {
                thread: SubThread::NoSub,
                delivered: Some(vec![0xfb, 0xff]),
            }),
            size: 2,
            head: Some(HeadMessage {
                msg_id: vec![1, 2, 3],
                timestamp: Duration::new(1_700_000_000, 120_000_000),
                is_quota: true,
            }),
        };
        assert_eq!(
            info.to_json(),
            concat!(
                r#"{"qiSnd":true,"qiNtf":false,"qiSub":{"qSubThread":"noSub","qDelivered":"+/8="},"#,
                r#""qiSize":2,"qiMsg":{"msgId":"AQID","msgTs":"2023-11-14T22:13:20.12Z","msgType":"quota"}}"#
            )
        );
    }
}
