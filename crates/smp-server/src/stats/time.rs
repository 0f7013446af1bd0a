//! UTC calendar helpers for the statistics files: the ISO-8601 forms the reference writes with
//! `Data.Time.Format.ISO8601.iso8601Show` (`fromTime=` line, metrics header, CSV date column)
//! and reads back with `iso8601ParseM`, plus the day-of-week / day-of-month tests of
//! `Stats.periodStatCounts`.

use std::time::Duration;

const SECONDS_PER_DAY: u64 = 86_400;

/// Whole days since 1970-01-01 (UTC).
pub fn epoch_day(since_epoch: Duration) -> i64 {
    i64::try_from(since_epoch.as_secs() / SECONDS_PER_DAY).unwrap_or(i64::MAX)
}

/// Seconds since 00:00 UTC of the current day (`utctDayTime`, whole seconds).
pub fn seconds_of_day(since_epoch: Duration) -> i64 {
    // The remainder is below 86 400, so the conversion cannot fail.
    i64::try_from(since_epoch.as_secs() % SECONDS_PER_DAY).unwrap_or(0)
}

/// ISO weekday, Monday = 1 … Sunday = 7 (`mondayStartWeek`).
pub fn weekday(day: i64) -> u32 {
    // 1970-01-01 was a Thursday (4); rem_euclid is in 0..7.
    u32::try_from((day + 3).rem_euclid(7)).unwrap_or(0) + 1
}

/// Day of the month, 1 … 31.
pub fn day_of_month(day: i64) -> u32 {
    civil_from_days(day).2
}

/// `YYYY-MM-DD` of a time (`iso8601Show . utctDay`), the first CSV column.
pub fn iso8601_date(since_epoch: Duration) -> String {
    let (year, month, day) = civil_from_days(epoch_day(since_epoch));
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with the fraction's trailing zeros dropped and no dot when
/// it is zero (`iso8601Show` of `UTCTime`).
pub fn iso8601(since_epoch: Duration) -> String {
    let seconds = since_epoch.as_secs() % SECONDS_PER_DAY;
    let mut out = format!(
        "{}T{:02}:{:02}:{:02}",
        iso8601_date(since_epoch),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    let nanos = since_epoch.subsec_nanos();
    if nanos != 0 {
        out.push('.');
        out.push_str(format!("{nanos:09}").trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Parses what [`iso8601`] writes (`iso8601ParseM` of `UTCTime`): up to 12 fraction digits are
/// accepted (picoseconds), kept to nanoseconds. Times before 1970 are rejected.
pub fn parse_iso8601(text: &str) -> Option<Duration> {
    let bytes = text.as_bytes();
    let (date, rest) = (bytes.get(..10)?, bytes.get(10..)?);
    let (time, rest) = (rest.get(..9)?, rest.get(9..)?);
    if date[4] != b'-' || date[7] != b'-' || time[0] != b'T' || time[3] != b':' || time[6] != b':' {
        return None;
    }
    let year = digits(&date[0..4])?;
    let month = digits(&date[5..7])?;
    let day = digits(&date[8..10])?;
    let (hour, minute, second) = (
        digits(&time[1..3])?,
        digits(&time[4..6])?,
        digits(&time[7..9])?,
    );
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let (nanos, rest) = match rest.split_first() {
        Some((b'.', fraction)) => {
            let len = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            if len == 0 || len > 12 {
                return None;
            }
            let mut nanos = 0u32;
            for position in 0..9 {
                let digit = fraction.get(position).filter(|_| position < len);
                nanos = nanos * 10 + digit.map_or(0, |d| u32::from(d - b'0'));
            }
            (nanos, &fraction[len..])
        }
        _ => (0, rest),
    };
    if rest != b"Z" {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(Duration::new(u64::try_from(seconds).ok()?, nanos))
}

fn digits(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0u32, |acc, byte| {
        byte.is_ascii_digit()
            .then(|| acc * 10 + u32::from(byte - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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

/// Day count since 1970-01-01 of a proleptic Gregorian date (inverse of `civil_from_days`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_iso8601_show() {
        // 2025-06-01T12:34:56.8071455Z is 1748781296 s + 807145500 ns.
        let time = Duration::new(1_748_781_296, 807_145_500);
        assert_eq!(iso8601(time), "2025-06-01T12:34:56.8071455Z");
        assert_eq!(
            iso8601(Duration::from_secs(1_748_781_296)),
            "2025-06-01T12:34:56Z"
        );
        assert_eq!(
            iso8601(Duration::from_millis(1_500)),
            "1970-01-01T00:00:01.5Z"
        );
        assert_eq!(iso8601_date(time), "2025-06-01");
        // Aeson's `UTCTime` JSON form (the `msgTs` of `INFO`) is the same text.
        assert_eq!(iso8601(Duration::ZERO), "1970-01-01T00:00:00Z");
        assert_eq!(
            iso8601(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            iso8601(Duration::new(4_102_444_799, 1)),
            "2099-12-31T23:59:59.000000001Z"
        );
    }

    #[test]
    fn parses_what_it_writes() {
        for time in [
            Duration::new(1_748_781_296, 807_145_500),
            Duration::from_secs(951_782_400), // 2000-02-29
            Duration::new(4_102_444_799, 1),
            Duration::ZERO,
        ] {
            assert_eq!(parse_iso8601(&iso8601(time)), Some(time));
        }
        assert_eq!(
            parse_iso8601("2024-01-02T03:04:05.123456789012Z"),
            Some(Duration::new(1_704_164_645, 123_456_789))
        );
    }

    #[test]
    fn rejects_malformed_times() {
        for text in [
            "",
            "2024-01-02",
            "2024-01-02T03:04:05",
            "2024-01-02T03:04:05.Z",
            "2024-01-02T03:04:05.1234567890123Z",
            "2024-13-02T03:04:05Z",
            "2023-02-29T03:04:05Z",
            "2024-01-02T24:00:00Z",
            "2024-01-02 03:04:05Z",
            "2024-01-02T03:04:05+00:00",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_iso8601(text), None, "{text}");
        }
    }

    #[test]
    fn weekdays_and_month_days() {
        // 1970-01-01 Thursday; 2024-01-01 Monday (day 19723); 2024-03-01 (day 19783).
        assert_eq!(weekday(0), 4);
        assert_eq!(weekday(19_723), 1);
        assert_eq!(weekday(19_722), 7);
        assert_eq!(day_of_month(19_783), 1);
        assert_eq!(day_of_month(19_782), 29);
        assert_eq!(
            seconds_of_day(Duration::from_secs(19_723 * 86_400 + 61)),
            61
        );
    }
}
