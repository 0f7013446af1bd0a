//! Delivery-to-acknowledgement time histogram (`Stats.TimeBuckets`, `Stats.updateTimeBuckets`).
//! Not persisted; reported only in the metrics file.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// A histogram of whole-second delays: the total, the maximum, and a count per bucket
/// (`Stats.TimeBuckets`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeBuckets {
    pub sum_time: i64,
    pub max_time: i64,
    /// Bucket upper bound in seconds -> count.
    pub buckets: BTreeMap<i64, i64>,
}

impl TimeBuckets {
    /// Adds one delay of `now - delivered_at` seconds (`updateTimeBuckets`): delays up to 5 s
    /// keep their own bucket, longer ones round up to a multiple of 5 s (≤ 30), 10 s (≤ 60),
    /// 30 s (≤ 180) or 60 s.
    pub fn add(&mut self, delivered_at: i64, now: i64) {
        let delay = now.saturating_sub(delivered_at);
        self.sum_time = self.sum_time.saturating_add(delay);
        self.max_time = self.max_time.max(delay);
        *self.buckets.entry(bucket(delay)).or_insert(0) += 1;
    }
}

fn bucket(delay: i64) -> i64 {
    let round_up = |step: i64| -((-delay).div_euclid(step) * step);
    if delay <= 5 {
        delay
    } else if delay <= 30 {
        round_up(5)
    } else if delay <= 60 {
        round_up(10)
    } else if delay <= 180 {
        round_up(30)
    } else {
        round_up(60)
    }
}

/// The shared histogram of confirmed deliveries (`ServerStats.msgRecvAckTimes`).
#[derive(Debug, Default)]
pub struct AckTimes(Mutex<TimeBuckets>);

impl AckTimes {
    /// Records an acknowledgement of a message delivered at `delivered_at` (Unix seconds).
    pub fn record(&self, delivered_at: i64, now: i64) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(delivered_at, now);
    }

    pub fn snapshot(&self) -> TimeBuckets {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_up_like_update_time_buckets() {
        let cases = [
            (0, 0),
            (5, 5),
            (6, 10),
            (30, 30),
            (31, 40),
            (60, 60),
            (61, 90),
            (180, 180),
            (181, 240),
            (3601, 3660),
            (-2, -2),
        ];
        for (delay, expected) in cases {
            assert_eq!(bucket(delay), expected, "{delay}");
        }
    }

    #[test]
    fn add_tracks_sum_and_max() {
        let mut times = TimeBuckets::default();
        times.add(100, 103);
        times.add(100, 107);
        times.add(100, 107);
        assert_eq!(times.sum_time, 17);
        assert_eq!(times.max_time, 7);
        assert_eq!(times.buckets, BTreeMap::from([(3, 1), (10, 2)]));
    }
}
