use std::time::Duration;

use proptest::prelude::*;

use super::*;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn plain(b: Backoff) -> Vec<Duration> {
    b.jitter(Jitter::None).delays().take(8).collect()
}

#[test]
fn exponential_doubles_up_to_the_cap() {
    let b = Backoff::exponential(MS(100)).max_delay(MS(2000));
    assert_eq!(
        plain(b),
        [100, 200, 400, 800, 1600, 2000, 2000, 2000].map(MS)
    );
}

#[test]
fn exponential_with_fractional_multiplier_is_exact() {
    let b = Backoff::exponential(MS(100)).multiplier(1.5);
    let us = Duration::from_micros;
    assert_eq!(plain(b)[..4], [100_000, 150_000, 225_000, 337_500].map(us));
}

#[test]
fn constant_linear_fibonacci_none() {
    assert_eq!(plain(Backoff::constant(MS(30)))[..3], [30, 30, 30].map(MS));
    assert_eq!(
        plain(Backoff::linear(MS(30)))[..4],
        [30, 60, 90, 120].map(MS)
    );
    assert_eq!(
        plain(Backoff::fibonacci(MS(10))),
        [10, 10, 20, 30, 50, 80, 130, 210].map(MS)
    );
    assert_eq!(plain(Backoff::none())[..2], [Duration::ZERO; 2]);
    assert_eq!(Backoff::none().delays().next(), Some(Duration::ZERO));
}

#[test]
fn multiplier_below_one_or_nan_counts_as_one() {
    for m in [0.5, 0.0, -3.0, f64::NAN] {
        let b = Backoff::exponential(MS(100)).multiplier(m);
        assert_eq!(b.base(50), MS(100), "multiplier {m}");
    }
    let b = Backoff::exponential(MS(100)).multiplier(f64::INFINITY);
    assert_eq!(b.base(2), b.cap());
}

#[test]
fn multiplier_only_applies_to_exponential() {
    assert_eq!(Backoff::linear(MS(10)).multiplier(5.0).base(2), MS(20));
}

#[test]
fn default_cap_grows_to_a_long_first_delay() {
    assert_eq!(
        Backoff::constant(Duration::from_secs(30)).cap(),
        Duration::from_secs(30)
    );
    assert_eq!(Backoff::constant(MS(30)).cap(), DEFAULT_MAX_DELAY);
}

#[test]
fn extreme_attempt_numbers_saturate() {
    let huge = Duration::MAX;
    for b in [
        Backoff::exponential(huge).max_delay(huge),
        Backoff::linear(huge).max_delay(huge),
        Backoff::fibonacci(huge).max_delay(huge),
        Backoff::exponential(MS(1))
            .max_delay(huge)
            .multiplier(1e300),
    ] {
        // From the second retry on, every schedule here has outgrown any
        // duration: each delay saturates at the cap (within the precision
        // of the float arithmetic, under a second of it) instead of
        // overflowing or wrapping to something small.
        for n in [2, 3, 93, 94, 1000, u32::MAX] {
            let base = b.base(n);
            assert!(
                huge - base < Duration::from_secs(1),
                "{b:?} at {n}: {base:?}"
            );
        }
        // Jitter on saturated delays neither panics nor ends the schedule.
        let b = b.jitter(Jitter::Proportional(1.0));
        assert_eq!(b.delays().take(200).count(), 200);
    }
    // The iterator's own counter saturates rather than wraps.
    let b = Backoff::linear(MS(1)).jitter(Jitter::None);
    let mut d = b.delays();
    d.retry = u32::MAX - 1;
    assert_eq!(d.next(), Some(DEFAULT_MAX_DELAY));
    assert_eq!(d.next(), Some(DEFAULT_MAX_DELAY));
}

#[test]
fn seeds_make_jitter_reproducible() {
    for jitter in [
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
        Jitter::Proportional(0.5),
    ] {
        let b = Backoff::exponential(MS(100)).jitter(jitter);
        let a: Vec<_> = b.seed(1).delays().take(20).collect();
        assert_eq!(a, b.seed(1).delays().take(20).collect::<Vec<_>>());
        assert_ne!(a, b.seed(2).delays().take(20).collect::<Vec<_>>());
    }
}

#[test]
fn unseeded_schedules_differ() {
    let b = Backoff::exponential(Duration::from_secs(1)).jitter(Jitter::Full);
    let a: Vec<_> = b.delays().take(10).collect();
    assert_ne!(a, b.delays().take(10).collect::<Vec<_>>());
}

#[test]
fn full_jitter_spreads_over_the_whole_range() {
    let b = Backoff::constant(MS(1000)).jitter(Jitter::Full).seed(9);
    let delays: Vec<_> = b.delays().take(2000).collect();
    assert!(delays.iter().any(|d| *d < MS(100)));
    assert!(delays.iter().any(|d| *d > MS(900)));
}

fn any_backoff() -> impl Strategy<Value = Backoff> {
    let growth = prop_oneof![
        (1.0f64..100.0).prop_map(|m| Backoff::exponential(Duration::ZERO).multiplier(m)),
        Just(Backoff::constant(Duration::ZERO)),
        Just(Backoff::linear(Duration::ZERO)),
        Just(Backoff::fibonacci(Duration::ZERO)),
    ];
    (growth, 0u64..u64::MAX / 4, 0u64..u64::MAX / 4, any::<u64>()).prop_map(
        |(b, initial, cap, seed)| {
            let mut b = b.max_delay(Duration::from_nanos(cap)).seed(seed);
            b.initial = Duration::from_nanos(initial);
            b
        },
    )
}

proptest! {
    #[test]
    fn base_never_exceeds_cap_and_never_panics(b in any_backoff(), n in any::<u32>()) {
        prop_assert!(b.base(n) <= b.cap());
    }

    #[test]
    fn base_never_shrinks(b in any_backoff(), n in 1u32..10_000) {
        prop_assert!(b.base(n) <= b.base(n + 1));
    }

    #[test]
    fn no_jitter_is_the_base(b in any_backoff()) {
        let b = b.jitter(Jitter::None);
        for (n, d) in b.delays().take(50).enumerate() {
            prop_assert_eq!(d, b.base(n as u32 + 1));
        }
    }

    #[test]
    fn full_jitter_stays_in_zero_to_base(b in any_backoff()) {
        let b = b.jitter(Jitter::Full);
        for (n, d) in b.delays().take(50).enumerate() {
            prop_assert!(d <= b.base(n as u32 + 1));
        }
    }

    #[test]
    fn equal_jitter_stays_in_half_to_base(b in any_backoff()) {
        let b = b.jitter(Jitter::Equal);
        for (n, d) in b.delays().take(50).enumerate() {
            let base = b.base(n as u32 + 1);
            prop_assert!(d <= base && d >= base / 2, "{:?} not in [{:?}/2, {:?}]", d, base, base);
        }
    }

    #[test]
    fn decorrelated_jitter_stays_in_initial_to_cap(b in any_backoff()) {
        let b = b.jitter(Jitter::Decorrelated);
        let lo = b.initial().min(b.cap());
        for d in b.delays().take(50) {
            prop_assert!(d >= lo && d <= b.cap(), "{:?} not in [{:?}, {:?}]", d, lo, b.cap());
        }
    }

    #[test]
    fn proportional_jitter_stays_within_its_fraction(b in any_backoff(), f in 0.0f64..=1.0) {
        let b = b.jitter(Jitter::Proportional(f));
        for (n, d) in b.delays().take(50).enumerate() {
            let base = b.base(n as u32 + 1).as_nanos() as f64;
            let d = d.as_nanos() as f64;
            // One part in 1e9 of slack for float rounding.
            let slack = 1.0 + base * 1e-9;
            prop_assert!(d >= base * (1.0 - f) - slack && d <= base * (1.0 + f) + slack,
                "{} not within {} of {}", d, f, base);
        }
    }

    #[test]
    fn out_of_range_fractions_are_clamped(b in any_backoff(), f in prop_oneof![Just(f64::NAN), -10.0f64..0.0, 1.0f64..10.0]) {
        let b = b.jitter(Jitter::Proportional(f));
        for (n, d) in b.delays().take(20).enumerate() {
            prop_assert!(d <= b.base(n as u32 + 1).saturating_mul(2));
        }
    }
}
