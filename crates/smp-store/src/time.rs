//! ISO-8601 UTC timestamps as the reference writes them in backup file names
//! (`Data.Time.Format.ISO8601.iso8601Show` of a `UTCTime`): `2025-06-01T12:34:56.8071455Z`, the
//! fraction without trailing zeros and absent when zero.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds and nanoseconds since the Unix epoch (may be negative seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn from_system(time: SystemTime) -> Timestamp {
        match time.duration_since(UNIX_EPOCH) {
            Ok(duration) => Timestamp {
                seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
                nanos: duration.subsec_nanos(),
            },
            Err(before) => {
                let duration = before.duration();
                let mut seconds = -i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
                let mut nanos = duration.subsec_nanos();
                if nanos > 0 {
                    seconds -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                Timestamp { seconds, nanos }
            }
        }
    }

    pub fn to_system(self) -> SystemTime {
        if self.seconds >= 0 {
            UNIX_EPOCH + Duration::new(self.seconds.unsigned_abs(), self.nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(self.seconds.unsigned_abs())
                + Duration::from_nanos(u64::from(self.nanos))
        }
    }

    /// `iso8601Show`.
    pub fn to_iso8601(self) -> String {
        let days = self.seconds.div_euclid(86_400);
        let second_of_day = self.seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let mut text = format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60
        );
        if self.nanos > 0 {
            let fraction = format!("{:09}", self.nanos);
            text.push('.');
            text.push_str(fraction.trim_end_matches('0'));
        }
        text.push('Z');
        text
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (fractions beyond nanoseconds are truncated).
    pub fn parse_iso8601(text: &str) -> Option<Timestamp> {
        let bytes = text.as_bytes();
        if bytes.len() < 20 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return None;
        }
        if bytes[10] != b'T' || bytes[13] != b':' || bytes[16] != b':' || !text.ends_with('Z') {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = text.get(range)?;
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let rest = &text[19..text.len() - 1];
        let nanos = if rest.is_empty() {
            0
        } else {
            let digits = rest.strip_prefix('.')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let mut padded: String = digits.chars().take(9).collect();
            while padded.len() < 9 {
                padded.push('0');
            }
            padded.parse().ok()?
        };
        let days = days_from_civil(year, month, day);
        Some(Timestamp {
            seconds: days * 86_400 + hour * 3600 + minute * 60 + second,
            nanos,
        })
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_iso8601_show() {
        let time = Timestamp {
            seconds: 1_748_781_296,
            nanos: 807_145_500,
        };
        assert_eq!(time.to_iso8601(), "2025-06-01T12:34:56.8071455Z");
        assert_eq!(
            Timestamp {
                seconds: 0,
                nanos: 0
            }
            .to_iso8601(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::parse_iso8601("2025-06-01T12:34:56.8071455Z"),
            Some(time)
        );
        assert_eq!(
            Timestamp::parse_iso8601("1970-01-01T00:00:00Z"),
            Some(Timestamp {
                seconds: 0,
                nanos: 0
            })
        );
        assert_eq!(
            Timestamp::parse_iso8601("2024-02-29T23:59:59Z").map(|t| t.seconds),
            Some(1_709_251_199)
        );
        assert!(Timestamp::parse_iso8601("2025-06-01T12:34:56").is_none());
        assert!(Timestamp::parse_iso8601("2025-06-01T12:34:56.Z").is_none());
        assert!(Timestamp::parse_iso8601("bak").is_none());
    }

    #[test]
    fn round_trips_system_time() {
        let now = SystemTime::now();
        let stamp = Timestamp::from_system(now);
        assert_eq!(stamp.to_system(), now);
        assert_eq!(Timestamp::parse_iso8601(&stamp.to_iso8601()), Some(stamp));
    }
}
