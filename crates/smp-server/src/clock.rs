//! Injected time and randomness (house style §5.10): the server reads the time and draws ids and
//! keys only through these, so tests can pin both.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_core::{CryptoRng, RngCore};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Wall-clock time source.
pub trait Clock: Send + Sync {
    /// Time since the Unix epoch.
    fn now(&self) -> Duration;

    /// Whole seconds since the Unix epoch (`systemSeconds`).
    fn seconds(&self) -> i64 {
        i64::try_from(self.now().as_secs()).unwrap_or(i64::MAX)
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    pub fn at_seconds(seconds: i64) -> Self {
        ManualClock {
            millis: AtomicI64::new(seconds.saturating_mul(1000)),
        }
    }

    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.millis.load(Ordering::SeqCst)).unwrap_or(0))
    }
}

/// A cryptographically secure generator usable behind `dyn`.
pub trait SecureRng: RngCore + CryptoRng + Send {}
impl<T: RngCore + CryptoRng + Send> SecureRng for T {}

/// The server's random source (`Env.random`, a ChaCha DRG in the reference): ids, nonces and
/// server DH keys. Seeded from the OS in production, from a fixed seed in tests.
pub struct Random {
    rng: Mutex<Box<dyn SecureRng>>,
}

impl std::fmt::Debug for Random {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Random")
    }
}

impl Random {
    pub fn from_entropy() -> Self {
        Random::new(StdRng::from_entropy())
    }

    pub fn from_seed(seed: u64) -> Self {
        Random::new(StdRng::seed_from_u64(seed))
    }

    pub fn new(rng: impl SecureRng + 'static) -> Self {
        Random {
            rng: Mutex::new(Box::new(rng)),
        }
    }

    /// Runs `f` with the generator locked.
    pub fn with<T>(&self, f: impl FnOnce(&mut dyn SecureRng) -> T) -> T {
        // A panic inside `f` cannot leave the generator in an invalid state.
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut **rng)
    }

    pub fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut bytes = [0u8; N];
        self.with(|rng| rng.fill_bytes(&mut bytes));
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::at_seconds(1_000);
        assert_eq!(clock.seconds(), 1_000);
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(clock.seconds(), 1_001);
        assert_eq!(clock.now(), Duration::from_millis(1_001_500));
    }

    #[test]
    fn seeded_random_is_reproducible() {
        let (a, b) = (Random::from_seed(1), Random::from_seed(1));
        assert_eq!(a.bytes::<24>(), b.bytes::<24>());
        assert_ne!(a.bytes::<24>(), Random::from_seed(2).bytes::<24>());
    }
}
