//! When to reconnect after a connection ends: exponential backoff with full
//! jitter (1 s doubling to 30 s), the server's retry hint when the close
//! reason carries one, and no retry at all for refusals. Pure, with the random
//! source injected, so the schedule is unit-tested.
//!
//! Full jitter as described in
//! <https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>:
//! a whole room of clients dropped by one server restart spreads its
//! reconnects out instead of arriving together.

use tandem_shared::close;

/// Ceiling of the delay before the first retry.
pub(crate) const FIRST_CEILING_MS: u64 = 1_000;
/// The ceiling stops doubling here.
pub(crate) const MAX_CEILING_MS: u64 = 30_000;
/// A retry hint longer than this is read as this: a typo on the server must
/// not park a page for hours (the person can still press "Retry now").
pub(crate) const MAX_HINT_SECS: u32 = 600;

/// The ceiling of the delay before attempt `attempt` (1 for the first retry):
/// `min(30 s, 1 s · 2^(attempt-1))`.
pub(crate) fn ceiling_ms(attempt: u32) -> u64 {
    // 2^5 s already passes the cap; bounding the shift avoids overflow.
    let doublings = attempt.saturating_sub(1).min(16);
    (FIRST_CEILING_MS << doublings).min(MAX_CEILING_MS)
}

/// The delay before attempt `attempt`: `unit` (uniform in `[0, 1]`) of the ceiling.
pub(crate) fn jittered_ms(attempt: u32, unit: f64) -> u64 {
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    (ceiling_ms(attempt) as f64 * unit).round() as u64
}

/// What to do after a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RetryPlan {
    /// The server refused on purpose (`close::should_reconnect` is false).
    GiveUp,
    /// Try again after `delay_ms`.
    After {
        delay_ms: u64,
        /// Whether the delay came from the server's hint rather than the schedule.
        hinted: bool,
    },
}

/// The plan after a close with `code` and `reason`, before attempt `attempt`
/// (1-based); `random` gives a uniform number in `[0, 1)` and is only called
/// when the schedule is used.
pub(crate) fn plan(
    code: u16,
    reason: &str,
    attempt: u32,
    random: impl FnOnce() -> f64,
) -> RetryPlan {
    if !close::should_reconnect(code) {
        return RetryPlan::GiveUp;
    }
    if let Some(seconds) = close::retry_after(reason) {
        let seconds = seconds.min(MAX_HINT_SECS);
        return RetryPlan::After {
            delay_ms: u64::from(seconds) * 1_000,
            hinted: true,
        };
    }
    RetryPlan::After {
        delay_ms: jittered_ms(attempt, random()),
        hinted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_from_one_second_to_thirty() {
        let ceilings: Vec<u64> = (1..=8).map(ceiling_ms).collect();
        assert_eq!(
            ceilings,
            [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        );
        assert_eq!(ceiling_ms(u32::MAX), MAX_CEILING_MS);
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        assert_eq!(jittered_ms(1, 0.0), 0);
        assert_eq!(jittered_ms(1, 0.5), 500);
        assert_eq!(jittered_ms(1, 1.0), 1_000);
        assert_eq!(jittered_ms(3, 0.25), 1_000);
        assert_eq!(jittered_ms(10, 0.999_999), 30_000);
        // A broken random source cannot produce a negative or endless wait.
        assert_eq!(jittered_ms(4, -3.0), 0);
        assert_eq!(jittered_ms(4, 7.0), 8_000);
        assert_eq!(jittered_ms(4, f64::NAN), 0);
    }

    #[test]
    fn abnormal_closes_follow_the_schedule() {
        for (attempt, unit, expected) in [(1, 0.3, 300), (2, 0.3, 600), (6, 0.5, 15_000)] {
            assert_eq!(
                plan(1006, "", attempt, || unit),
                RetryPlan::After {
                    delay_ms: expected,
                    hinted: false
                }
            );
        }
        assert_eq!(
            plan(close::GOING_AWAY, "server restarting", 2, || 1.0),
            RetryPlan::After {
                delay_ms: 2_000,
                hinted: false
            }
        );
    }

    #[test]
    fn a_retry_hint_replaces_the_schedule() {
        let reason = close::with_retry_after("server is full", 12);
        let random = || panic!("the schedule must not be consulted");
        assert_eq!(
            plan(close::TRY_AGAIN_LATER, &reason, 1, random),
            RetryPlan::After {
                delay_ms: 12_000,
                hinted: true
            }
        );
        assert_eq!(
            plan(
                close::TRY_AGAIN_LATER,
                "room is full; retry after 99999 s",
                7,
                || 0.0
            ),
            RetryPlan::After {
                delay_ms: u64::from(MAX_HINT_SECS) * 1_000,
                hinted: true
            }
        );
        // Without a hint, 1013 is retried on the schedule.
        assert_eq!(
            plan(close::TRY_AGAIN_LATER, "server is full", 1, || 0.5),
            RetryPlan::After {
                delay_ms: 500,
                hinted: false
            }
        );
    }

    #[test]
    fn refusals_give_up() {
        for code in [close::NORMAL, close::POLICY, close::DOCUMENT_TOO_LARGE] {
            assert_eq!(plan(code, "retry after 3 s", 1, || 0.5), RetryPlan::GiveUp);
        }
    }
}
