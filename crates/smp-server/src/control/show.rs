//! Haskell `show` forms that the reference's control port prints (derived `Show` instances):
//! queue status, blocking info, the day-rounded update time, queue mode, `UTCTime`, and the
//! errors a queue operation can end with.

use smp_proto::command::QueueMode;
use smp_proto::error::{BlockingInfo, BlockingReason, ClientNotice, ErrorType};
use std::time::Duration;

/// A signed number as an argument of a constructor (`showsPrec 11`): negative ones in
/// parentheses.
fn argument(value: i64) -> String {
    if value < 0 {
        format!("({value})")
    } else {
        value.to_string()
    }
}

/// `show BlockingInfo`, e.g. `BlockingInfo {reason = BRSpam, notice = Nothing}`.
pub fn blocking_info(info: &BlockingInfo) -> String {
    let reason = match info.reason {
        BlockingReason::Spam => "BRSpam",
        BlockingReason::Content => "BRContent",
    };
    let notice = match info.notice {
        None => "Nothing".to_owned(),
        Some(ClientNotice { ttl }) => {
            let ttl = ttl.map_or("Nothing".to_owned(), |ttl| {
                format!("Just {}", argument(ttl))
            });
            format!("Just (ClientNotice {{ttl = {ttl}}})")
        }
    };
    format!("BlockingInfo {{reason = {reason}, notice = {notice}}}")
}

/// `show ServerEntityStatus` of a blocked queue: `EntityBlocked (BlockingInfo {...})`.
pub fn blocked_status(info: &BlockingInfo) -> String {
    format!("EntityBlocked ({})", blocking_info(info))
}

/// `show ServerEntityStatus`.
pub fn status(status: &smp_store::QueueStatus) -> String {
    match status {
        smp_store::QueueStatus::Active => "EntityActive".to_owned(),
        smp_store::QueueStatus::Off => "EntityOff".to_owned(),
        smp_store::QueueStatus::Blocked(info) => blocked_status(info),
    }
}

/// `show (Maybe SystemDate)`: `Just (RoundedSystemTime {roundedSeconds = N})` or `Nothing`.
pub fn updated_at(date: Option<i64>) -> String {
    date.map_or("Nothing".to_owned(), |seconds| {
        format!("Just (RoundedSystemTime {{roundedSeconds = {seconds}}})")
    })
}

/// `show (Maybe QueueMode)`.
pub fn queue_mode(mode: Option<QueueMode>) -> String {
    match mode {
        None => "Nothing",
        Some(QueueMode::Messaging) => "Just QMMessaging",
        Some(QueueMode::Contact) => "Just QMContact",
    }
    .to_owned()
}

/// `show UTCTime`: `YYYY-MM-DD HH:MM:SS[.fraction] UTC`, trailing zeros of the fraction dropped.
pub fn utc_time(since_epoch: Duration) -> String {
    let iso = crate::stats::time::iso8601(since_epoch);
    let without_zone = iso.strip_suffix('Z').unwrap_or(&iso);
    format!("{} UTC", without_zone.replacen('T', " ", 1))
}

/// `show ErrorType` for the errors queue operations end with (`AUTH`, `STORE "..."`,
/// `INTERNAL`, ...); other variants print their wire form.
pub fn error(error: &ErrorType) -> String {
    match error {
        ErrorType::Store(text) => format!("STORE {}", string(text)),
        ErrorType::Blocked(info) => format!("BLOCKED {{blockInfo = {}}}", blocking_info(info)),
        other => other.to_string(),
    }
}

/// `show String`: double quotes, with `"` and `\` escaped and control characters as decimal
/// escapes.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) >= 0x7f => {
                out.push_str(&format!("\\{}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Forms of GHC's derived `Show` instances for the reference's types.
    #[test]
    fn status_forms() {
        let spam = BlockingInfo {
            reason: BlockingReason::Spam,
            notice: None,
        };
        assert_eq!(status(&smp_store::QueueStatus::Active), "EntityActive");
        assert_eq!(status(&smp_store::QueueStatus::Off), "EntityOff");
        assert_eq!(
            status(&smp_store::QueueStatus::Blocked(spam)),
            "EntityBlocked (BlockingInfo {reason = BRSpam, notice = Nothing})"
        );
        let content = BlockingInfo {
            reason: BlockingReason::Content,
            notice: Some(ClientNotice { ttl: Some(86400) }),
        };
        assert_eq!(
            blocking_info(&content),
            "BlockingInfo {reason = BRContent, notice = Just (ClientNotice {ttl = Just 86400})}"
        );
        let negative = BlockingInfo {
            reason: BlockingReason::Spam,
            notice: Some(ClientNotice { ttl: Some(-5) }),
        };
        assert!(blocking_info(&negative).contains("ttl = Just (-5)"));
        let forever = BlockingInfo {
            reason: BlockingReason::Spam,
            notice: Some(ClientNotice { ttl: None }),
        };
        assert!(blocking_info(&forever).contains("Just (ClientNotice {ttl = Nothing})"));
    }

    #[test]
    fn other_forms() {
        assert_eq!(
            updated_at(Some(1_700_006_400)),
            "Just (RoundedSystemTime {roundedSeconds = 1700006400})"
        );
        assert_eq!(updated_at(None), "Nothing");
        assert_eq!(queue_mode(Some(QueueMode::Messaging)), "Just QMMessaging");
        assert_eq!(queue_mode(Some(QueueMode::Contact)), "Just QMContact");
        assert_eq!(queue_mode(None), "Nothing");
        assert_eq!(
            utc_time(Duration::from_millis(1_700_000_000_250)),
            "2023-11-14 22:13:20.25 UTC"
        );
        assert_eq!(
            utc_time(Duration::from_secs(1_700_000_000)),
            "2023-11-14 22:13:20 UTC"
        );
        assert_eq!(error(&ErrorType::Auth), "AUTH");
        assert_eq!(error(&ErrorType::Internal), "INTERNAL");
        assert_eq!(
            error(&ErrorType::Store("disk \"full\"".into())),
            "STORE \"disk \\\"full\\\"\""
        );
    }
}
