//! The JSON body of `INFO`, the answer to `QUE` (`Server/QueueStore/QueueInfo.hs: QueueInfo`,
//! Aeson TH encoding with `omitNothingFields`; `Server.hs: getQueueInfo`; `Protocol.hs:
//! toMsgInfo`). Informational only: clients display it. Fields are written in the reference's
//! order, absent optional fields are omitted.

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
                utc_time(head.timestamp),
                if head.is_quota { "quota" } else { "message" }
            );
        }
        out.push('}');
        out
    }
}

/// Aeson's `UTCTime` form: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, fraction without trailing zeros.
pub fn utc_time(since_epoch: std::time::Duration) -> String {
    let seconds = since_epoch.as_secs();
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    let nanos = since_epoch.subsec_nanos();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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

    #[test]
    fn utc_dates() {
        assert_eq!(utc_time(Duration::ZERO), "1970-01-01T00:00:00Z");
        assert_eq!(
            utc_time(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            utc_time(Duration::new(4_102_444_799, 1)),
            "2099-12-31T23:59:59.000000001Z"
        );
    }
}
