//! [`KeyedRateLimiter`]: one rate budget per key (Sentinel's hot-parameter
//! flow rules, governor's keyed limiter), with bounded memory.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use super::limited::{Limited, Which};
use super::rate::{Cell, RateLimiter};
use crate::clock;

/// Shards of the keys' records, each behind its own lock.
const SHARDS: usize = 16;

/// The keys a limiter records by default, all shards together.
const DEFAULT_MAX_KEYS: usize = 100_000;

/// Keys are recorded by their hash (already a hash: taken as it is).
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Records = HashMap<u64, u64, BuildHasherDefault<Prehashed>>;

/// A rate limit per key: each key (a user id, a tenant, a hot product)
/// gets the budget of the [`RateLimiter`] it is made from (rate, burst,
/// queue; a limiter that warms up is refused: one warm-up could not stand
/// for every key), and no key can take another's.
///
/// Memory is bounded: a key's record goes once the key is idle (its next
/// call would be as a new key's), and at most `max_keys`
/// keys (100,000 by default) are recorded at once; when that many are
/// active, a call of a new key is refused until some go idle
/// ([`with_max_keys`](Self::with_max_keys) sets the cap). Keys are
/// told apart by a hash seeded per limiter (two keys sharing a 64-bit hash
/// share a budget).
///
/// Made from a cluster limiter (`RateLimiter::cluster`, feature `redis`),
/// each key's budget is kept in Redis, shared by every replica, under
/// `steadfast:rate:<name>:<key as Debug>`, and goes when the key is idle;
/// the cap on keys applies to the local share used while Redis is
/// unreachable, not to Redis.
///
/// ```
/// use steadfast::{KeyedRateLimiter, RateLimiter};
///
/// static PER_USER: KeyedRateLimiter = KeyedRateLimiter::new(RateLimiter::per_second(5).burst(2));
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// PER_USER.try_acquire_key(&"alice").unwrap();
/// PER_USER.try_acquire_key(&"alice").unwrap();
/// assert!(PER_USER.try_acquire_key(&"alice").is_err(), "alice's burst is spent");
/// assert!(PER_USER.try_acquire_key(&"bob").is_ok(), "bob has a budget of his own");
/// # }
/// ```
#[derive(Debug)]
pub struct KeyedRateLimiter {
    limit: RateLimiter,
    max_keys: usize,
    seed: OnceLock<std::hash::RandomState>,
    shards: [Mutex<Records>; SHARDS],
}

impl KeyedRateLimiter {
    /// One budget per key, each `limit`'s.
    ///
    /// ```
    /// static PER_TENANT: steadfast::KeyedRateLimiter =
    ///     steadfast::KeyedRateLimiter::new(steadfast::RateLimiter::per_second(100));
    /// ```
    ///
    /// # Panics
    ///
    /// When `limit` warms up (in a `static`, a compile error).
    pub const fn new(limit: RateLimiter) -> Self {
        Self::with_max_keys(limit, DEFAULT_MAX_KEYS)
    }

    /// One budget per key, each `limit`'s, recording at most `keys` keys at
    /// once (at least one per shard, 16); while that many are active, a new
    /// key's calls are refused.
    ///
    /// ```
    /// use steadfast::{KeyedRateLimiter, RateLimiter};
    /// static PER_USER: KeyedRateLimiter = KeyedRateLimiter::with_max_keys(RateLimiter::per_second(1), 1000);
    /// assert_eq!(PER_USER.max_keys_recorded(), 1000);
    /// ```
    ///
    /// # Panics
    ///
    /// When `limit` warms up (in a `static`, a compile error): one warm-up
    /// could not stand for every key.
    pub const fn with_max_keys(limit: RateLimiter, keys: usize) -> Self {
        assert!(
            !limit.warms_up(),
            "a keyed rate limit does not warm up: make it from a RateLimiter without warm_up"
        );
        Self {
            limit,
            max_keys: if keys < SHARDS { SHARDS } else { keys },
            seed: OnceLock::new(),
            shards: [const { Mutex::new(HashMap::with_hasher(BuildHasherDefault::new())) }; SHARDS],
        }
    }

    /// The most keys recorded at once.
    ///
    /// ```
    /// let limiter = steadfast::KeyedRateLimiter::new(steadfast::RateLimiter::per_second(1));
    /// assert_eq!(limiter.max_keys_recorded(), 100_000);
    /// ```
    pub const fn max_keys_recorded(&self) -> usize {
        self.max_keys
    }

    /// The budget each key gets; [`RateLimiter::set_rate`] on it changes
    /// every key's, from its next call.
    ///
    /// ```
    /// let limiter = steadfast::KeyedRateLimiter::new(steadfast::RateLimiter::per_second(3));
    /// assert_eq!(limiter.limit().rate().0, 3);
    /// ```
    pub const fn limit(&self) -> &RateLimiter {
        &self.limit
    }

    /// The keys recorded now (idle ones go as new keys come).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let limiter = steadfast::KeyedRateLimiter::new(steadfast::RateLimiter::per_second(1));
    /// limiter.try_acquire_key(&7u32).unwrap();
    /// assert_eq!(limiter.keys(), 1);
    /// # }
    /// ```
    pub fn keys(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Admits a call of `key` now, or refuses it at once.
    ///
    /// # Errors
    ///
    /// [`Limited`], with the time until the key's budget would admit a call
    /// (none when the limiter records as many keys as it may).
    pub fn try_acquire_key<K: Hash + Debug + ?Sized>(&self, key: &K) -> Result<(), Limited> {
        #[cfg(feature = "redis")]
        if let Some(remote) = self.limit.remote() {
            let turn = remote.without_redis(self.limit.steady_cell(), |share| {
                self.reserve_in(key, share, |wait| wait == 0)
                    .map(Option::unwrap_or_default)
            });
            return turn.map(drop).map_err(|wait| self.refused(key, wait));
        }
        match self.reserve(key, |wait| wait == 0) {
            Ok(_) => Ok(()),
            Err(wait) => Err(self.refused(key, wait)),
        }
    }

    /// Admits a call of `key`, after waiting for its turn when the limit
    /// has a queue (within it and before the current deadline), as
    /// [`RateLimiter::acquire`] does for one budget.
    ///
    /// # Errors
    ///
    /// [`Limited`], as [`try_acquire_key`](Self::try_acquire_key).
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{KeyedRateLimiter, RateLimiter};
    ///
    /// static PER_USER: KeyedRateLimiter =
    ///     KeyedRateLimiter::new(RateLimiter::per_second(10).burst(1).queue(Duration::from_secs(1)));
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let start = tokio::time::Instant::now();
    /// PER_USER.acquire_key(&"carol").await.unwrap();
    /// PER_USER.acquire_key(&"carol").await.unwrap(); // her next turn
    /// assert_eq!(start.elapsed(), Duration::from_millis(100));
    /// # }
    /// ```
    pub async fn acquire_key<K: Hash + Debug + ?Sized>(&self, key: &K) -> Result<(), Limited> {
        #[cfg(feature = "redis")]
        if let Some(remote) = self.limit.remote() {
            let redis_key = remote.key_of(Some(&key));
            let turn = remote.turn(
                redis_key,
                self.limit.steady_cell(),
                self.limit.max_wait(),
                |share| {
                    self.reserve_in(key, share, self.limit.fits())
                        .map(Option::unwrap_or_default)
                },
            );
            return match Box::pin(turn).await {
                Ok(wait) => self.limit.take_turn(wait).await,
                Err(wait) => Err(self.refused(key, wait)),
            };
        }
        match self.reserve(key, self.limit.fits()) {
            Ok(None | Some(0)) => Ok(()),
            Ok(Some(wait)) => {
                let wait = Duration::from_nanos(wait);
                tokio::time::sleep(wait).await;
                super::waited(Which::Rate, self.limit.name(), wait);
                Ok(())
            }
            Err(wait) => Err(self.refused(key, wait)),
        }
    }

    /// Takes the key's next turn if `fits` its wait: the wait, or the wait
    /// refused (`None`: no room for a new key).
    fn reserve<K: Hash + ?Sized>(
        &self,
        key: &K,
        fits: impl Fn(u64) -> bool,
    ) -> Result<Option<u64>, Option<u64>> {
        self.reserve_in(key, self.limit.steady_cell(), fits)
    }

    /// [`reserve`](Self::reserve) under `cell`.
    fn reserve_in<K: Hash + ?Sized>(
        &self,
        key: &K,
        cell: Cell,
        fits: impl Fn(u64) -> bool,
    ) -> Result<Option<u64>, Option<u64>> {
        let hash = self
            .seed
            .get_or_init(std::hash::RandomState::new)
            .hash_one(key);
        let shard = &self.shards[(hash % SHARDS as u64) as usize];
        let now = clock::now();
        let mut records = lock(shard);
        let tat = records.get(&hash).copied();
        let (next, wait) = cell.admit(tat.unwrap_or(0), now, fits).map_err(Some)?;
        if tat.is_none() && records.len() >= self.max_keys / SHARDS {
            records.retain(|_, tat| !Cell::idle(*tat, now));
            if records.len() >= self.max_keys / SHARDS {
                return Err(None);
            }
        }
        records.insert(hash, next);
        Ok(Some(wait))
    }

    /// The refusal of a call of `key`, which may be admitted after `wait`
    /// (`None`: no room for a new key).
    #[cold]
    fn refused<K: Debug + ?Sized>(&self, key: &K, wait: Option<u64>) -> Limited {
        super::refused_key(Which::Rate, self.limit.name(), &key);
        Limited::new(
            Which::Rate,
            self.limit.name(),
            wait.map(Duration::from_nanos),
        )
    }
}

/// A shard's records, locked. Nothing panics while holding it; a poisoned
/// shard is still whole.
fn lock(shard: &Mutex<Records>) -> MutexGuard<'_, Records> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn each_key_has_its_own_budget_and_idle_keys_go_to_make_room() {
        let limiter = KeyedRateLimiter::with_max_keys(RateLimiter::per_second(10).burst(1), 16);
        // One key a shard fills the limiter (16 keys, one per shard at most).
        let mut admitted = 0;
        for key in 0..1000u32 {
            if limiter.try_acquire_key(&key).is_ok() {
                admitted += 1;
            }
        }
        assert!(admitted <= 16, "{admitted}");
        assert!(limiter.keys() <= 16);
        let refused = (0..1000u32)
            .map(|key| limiter.try_acquire_key(&(key + 5000)))
            .find_map(Result::err)
            .unwrap();
        assert_eq!(refused.retry_after(), None, "no room: a new key is refused");
        // 100 ms on, every recorded key is idle: new keys take their place.
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(limiter.try_acquire_key(&"new").is_ok());
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_key_over_its_budget_is_refused_with_its_own_retry_after() {
        let limiter = KeyedRateLimiter::new(RateLimiter::per_second(4).burst(1));
        limiter.try_acquire_key(&"a").unwrap();
        tokio::time::advance(Duration::from_millis(100)).await;
        let refused = limiter.try_acquire_key(&"a").unwrap_err();
        assert_eq!(refused.retry_after(), Some(Duration::from_millis(150)));
        limiter.try_acquire_key(&"b").unwrap();
    }
}
