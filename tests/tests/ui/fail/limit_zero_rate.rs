use steadfast::{ConcurrencyLimit, RateLimiter};

static NONE: RateLimiter = RateLimiter::per_second(0);
static NOWHERE: ConcurrencyLimit = ConcurrencyLimit::new(0);

fn main() {}
