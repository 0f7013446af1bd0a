//! Distinct active queues per day, week and month (`Stats.PeriodStats`).
//!
//! The reference keeps three `IntSet`s of `Data.Hashable.hash` of the recipient id. Here one
//! sharded map holds each hash once with a three-bit mask of the periods it is in, and an atomic
//! size per period, so recording is one short lock and every count is O(1). The hash is
//! hashable-1.4.3.0's, so the sets persisted in `smp-server-stats.log` stay comparable across a
//! swap between the reference binary and this one.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

const SHARDS: usize = 32;
const DAY: u8 = 0b001;
const WEEK: u8 = 0b010;
const MONTH: u8 = 0b100;
const ALL: u8 = DAY | WEEK | MONTH;

/// `Data.Hashable.hash` of a strict `ByteString` in hashable 1.4.3.0 on 64-bit GHC: FNV-1 with
/// the 64-bit prime over the bytes, seeded with the default salt mixed with the length in four
/// 16-bit rounds (`hashWithSalt salt bs = fnv bs (hashInt salt (length bs))`).
pub fn queue_hash(bytes: &[u8]) -> i64 {
    const PRIME: u64 = 1_099_511_628_211;
    // defaultSalt = -3750763034362895579 = 14695981039346656037 as Word64.
    const DEFAULT_SALT: u64 = 14_695_981_039_346_656_037;
    let length = bytes.len() as u64;
    let mut hash = DEFAULT_SALT;
    for shift in [48, 32, 16, 0] {
        hash = hash.wrapping_mul(PRIME) ^ ((length >> shift) & 0xffff);
    }
    for byte in bytes {
        hash = hash.wrapping_mul(PRIME) ^ u64::from(*byte);
    }
    // Same bits, read as Haskell's signed `Int`.
    hash as i64
}

/// The three period sets as sorted hash lists (`Stats.PeriodStatsData`), for the stats file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodSets {
    pub day: BTreeSet<i64>,
    pub week: BTreeSet<i64>,
    pub month: BTreeSet<i64>,
}

/// Set sizes (`Stats.PeriodStatCounts`); `None` where the daily log does not report (and
/// reset) the week or month set, written as an empty CSV field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodCounts {
    pub day: Option<i64>,
    pub week: Option<i64>,
    pub month: Option<i64>,
}

/// Queues active in the current day, week and month (`Stats.PeriodStats`).
#[derive(Debug)]
pub struct PeriodStats {
    shards: Vec<Mutex<HashMap<i64, u8>>>,
    day: AtomicI64,
    week: AtomicI64,
    month: AtomicI64,
}

impl Default for PeriodStats {
    fn default() -> Self {
        PeriodStats {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            day: AtomicI64::new(0),
            week: AtomicI64::new(0),
            month: AtomicI64::new(0),
        }
    }
}

impl PeriodStats {
    /// Records activity of the queue with this recipient id (`Stats.updatePeriodStats`).
    pub fn record(&self, recipient_id: &[u8]) {
        self.record_hash(queue_hash(recipient_id));
    }

    /// Records activity of a queue by its hash.
    pub fn record_hash(&self, hash: i64) {
        let added = {
            let mut shard = self.shard(hash);
            let mask = shard.entry(hash).or_insert(0);
            let added = ALL & !*mask;
            *mask = ALL;
            added
        };
        if added != 0 {
            self.add_to_sizes(added, 1);
        }
    }

    /// Current sizes of the three sets, without resetting (`periodStatDataCounts`).
    pub fn counts(&self) -> (i64, i64, i64) {
        (
            self.day.load(Ordering::Relaxed),
            self.week.load(Ordering::Relaxed),
            self.month.load(Ordering::Relaxed),
        )
    }

    /// Takes the counts the daily log reports at `day` (days since the epoch of the row's
    /// time) and empties those sets: the day set always, the week set on Mondays, the month set
    /// on the 1st (`Stats.periodStatCounts`).
    pub fn take_counts(&self, day: i64) -> PeriodCounts {
        let mut clear = DAY;
        if super::time::weekday(day) == 1 {
            clear |= WEEK;
        }
        if super::time::day_of_month(day) == 1 {
            clear |= MONTH;
        }
        // The reported sizes are the entries removed, counted under the shard locks; the
        // atomic sizes drop by the same amounts, so a concurrent record lands wholly in one
        // period or the other.
        let removed = self.clear(clear);
        self.add_to_sizes_each(removed, -1);
        let report = |bit: u8, index: usize| (clear & bit != 0).then_some(removed[index]);
        PeriodCounts {
            day: report(DAY, 0),
            week: report(WEEK, 1),
            month: report(MONTH, 2),
        }
    }

    /// The sets as sorted lists, for saving.
    pub fn sets(&self) -> PeriodSets {
        let mut sets = PeriodSets::default();
        for shard in &self.shards {
            for (hash, mask) in lock(shard).iter() {
                if mask & DAY != 0 {
                    sets.day.insert(*hash);
                }
                if mask & WEEK != 0 {
                    sets.week.insert(*hash);
                }
                if mask & MONTH != 0 {
                    sets.month.insert(*hash);
                }
            }
        }
        sets
    }

    /// Replaces the sets with restored ones (`Stats.setPeriodStats`, used at start).
    pub fn set(&self, sets: &PeriodSets) {
        for shard in &self.shards {
            lock(shard).clear();
        }
        for (bit, set) in [(DAY, &sets.day), (WEEK, &sets.week), (MONTH, &sets.month)] {
            for hash in set {
                *self.shard(*hash).entry(*hash).or_insert(0) |= bit;
            }
        }
        let size = |set: &BTreeSet<i64>| i64::try_from(set.len()).unwrap_or(i64::MAX);
        self.day.store(size(&sets.day), Ordering::Relaxed);
        self.week.store(size(&sets.week), Ordering::Relaxed);
        self.month.store(size(&sets.month), Ordering::Relaxed);
    }

    /// Removes `bits` from every entry; returns how many entries left each period.
    fn clear(&self, bits: u8) -> [i64; 3] {
        let mut removed = [0i64; 3];
        for shard in &self.shards {
            lock(shard).retain(|_, mask| {
                for (index, bit) in [DAY, WEEK, MONTH].into_iter().enumerate() {
                    if *mask & bits & bit != 0 {
                        removed[index] += 1;
                    }
                }
                *mask &= !bits;
                *mask != 0
            });
        }
        removed
    }

    fn add_to_sizes(&self, bits: u8, by: i64) {
        let each = [DAY, WEEK, MONTH].map(|bit| if bits & bit != 0 { by } else { 0 });
        self.add_to_sizes_each(each, 1);
    }

    fn add_to_sizes_each(&self, amounts: [i64; 3], sign: i64) {
        for (amount, size) in amounts
            .into_iter()
            .zip([&self.day, &self.week, &self.month])
        {
            if amount != 0 {
                size.fetch_add(sign * amount, Ordering::Relaxed);
            }
        }
    }

    fn shard(&self, hash: i64) -> MutexGuard<'_, HashMap<i64, u8>> {
        // The low bits of an FNV-1 hash carry the last (random) id byte; the shard count is a
        // power of two.
        let index = (hash as u64 as usize) % SHARDS;
        lock(&self.shards[index])
    }
}

fn lock(shard: &Mutex<HashMap<i64, u8>>) -> MutexGuard<'_, HashMap<i64, u8>> {
    // A panic while holding a shard cannot leave a map half-updated in a way that matters for
    // statistics.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_hashable_1_4_3() {
        // hashable-1.4.3.0 tests/Regress.hs, "64 bit Text" with text >= 2 (UTF-8 bytes, hashed
        // exactly like a strict ByteString): hash "hello world" == 2589482369471999198.
        assert_eq!(queue_hash(b"hello world"), 2_589_482_369_471_999_198);
    }

    #[test]
    fn records_once_per_period() {
        let stats = PeriodStats::default();
        stats.record(b"queue-a");
        stats.record(b"queue-a");
        stats.record(b"queue-b");
        assert_eq!(stats.counts(), (2, 2, 2));
        let sets = stats.sets();
        assert_eq!(sets.day.len(), 2);
        assert_eq!(sets.day, sets.month);
    }

    #[test]
    fn take_counts_resets_by_calendar() {
        let stats = PeriodStats::default();
        stats.record(b"a");
        stats.record(b"b");
        // 2024-01-03 is a Wednesday, not the 1st: only the day set is reported and reset.
        let counts = stats.take_counts(19_725);
        assert_eq!(
            counts,
            PeriodCounts {
                day: Some(2),
                week: None,
                month: None
            }
        );
        assert_eq!(stats.counts(), (0, 2, 2));
        stats.record(b"a");
        assert_eq!(stats.counts(), (1, 2, 2));
        // 2024-01-01 is a Monday and the 1st: all three.
        let counts = stats.take_counts(19_723);
        let all = PeriodCounts {
            day: Some(1),
            week: Some(2),
            month: Some(2),
        };
        assert_eq!(counts, all);
        assert_eq!(stats.counts(), (0, 0, 0));
        assert_eq!(stats.sets(), PeriodSets::default());
    }

    #[test]
    fn set_restores_sets_and_sizes() {
        let stats = PeriodStats::default();
        let sets = PeriodSets {
            day: [-5].into(),
            week: [-5, 7].into(),
            month: [-5, 7, i64::MAX].into(),
        };
        stats.set(&sets);
        assert_eq!(stats.counts(), (1, 2, 3));
        assert_eq!(stats.sets(), sets);
        stats.record_hash(7);
        assert_eq!(stats.counts(), (2, 2, 3));
    }
}
