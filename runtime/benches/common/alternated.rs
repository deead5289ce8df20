//! Variants measured in one process, alternated round by round (the order
//! reversed every other round) so that the machine's drift hits them alike:
//! what `benches/breaker.rs` and `benches/limit.rs` share.
#![allow(dead_code)] // each bench uses only some of it

use std::time::Duration;

/// One measurement of a variant: the time its calls took.
pub(crate) type Run = Box<dyn FnMut() -> Duration>;

/// A variant: its group, its name, its measurement.
pub(crate) type Variant = (&'static str, &'static str, Run);

/// Runs every variant once to warm up, then `rounds` alternated rounds;
/// the nanoseconds per call of each variant, round by round.
pub(crate) fn sample(variants: &mut [Variant], rounds: usize, calls: u32) -> Vec<Vec<f64>> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for (_, _, run) in variants.iter_mut() {
        run();
    }
    let n = variants.len();
    for round in 0..rounds {
        for k in 0..n {
            let i = if round % 2 == 0 { k } else { n - 1 - k };
            let elapsed = (variants[i].2)();
            samples[i].push(elapsed.as_nanos() as f64 / f64::from(calls));
        }
    }
    samples
}

/// The median of `samples`.
pub(crate) fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// The spread of `samples`, as `min–max`.
pub(crate) fn spread(samples: &[f64]) -> String {
    let (lo, hi) = samples
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    format!("{lo:.1}–{hi:.1}")
}
