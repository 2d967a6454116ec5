//! When to reconnect after a connection ends, as the close table
//! (`tandem_shared::close::TABLE`) says: no retry at all for refusals, the
//! server's retry hint for closes that carry one, and otherwise exponential
//! backoff with full jitter (1 s doubling to 30 s). Pure, with the random
//! source injected, so the schedule is unit-tested.
//!
//! Full jitter as described in
//! <https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>:
//! a whole room of clients dropped by one server restart spreads its
//! reconnects out instead of arriving together.

use tandem_shared::close::{self, CloseCode, Reconnect};

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
    /// The server refused on purpose (the table says never reconnect).
    GiveUp,
    /// Try again after `delay_ms`.
    After {
        delay_ms: u64,
        /// Whether the delay came from the server's hint rather than the schedule.
        hinted: bool,
    },
}

/// The plan after a close with `code` (any number, as the browser reports
/// it) and `reason`, before attempt `attempt` (1-based); `random` gives a
/// uniform number in `[0, 1)` and is only called when the schedule is used.
pub(crate) fn plan(
    code: u16,
    reason: &str,
    attempt: u32,
    random: impl FnOnce() -> f64,
) -> RetryPlan {
    // A code Tandem does not know (from a newer server) is retried like a drop.
    let reconnect = CloseCode::from_number(code).map_or(Reconnect::Backoff, CloseCode::reconnect);
    let hint = match reconnect {
        Reconnect::Never => return RetryPlan::GiveUp,
        Reconnect::AfterHint => close::retry_after(reason),
        Reconnect::Backoff => None,
    };
    if let Some(seconds) = hint {
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
    use tandem_shared::close::Close;

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
        let abnormal = CloseCode::Abnormal.number();
        for (attempt, unit, expected) in [(1, 0.3, 300), (2, 0.3, 600), (6, 0.5, 15_000)] {
            assert_eq!(
                plan(abnormal, "", attempt, || unit),
                RetryPlan::After {
                    delay_ms: expected,
                    hinted: false
                }
            );
        }
        assert_eq!(
            plan(
                CloseCode::GoingAway.number(),
                "server restarting",
                2,
                || 1.0
            ),
            RetryPlan::After {
                delay_ms: 2_000,
                hinted: false
            }
        );
    }

    #[test]
    fn a_retry_hint_replaces_the_schedule() {
        let full = Close::with_retry_after(CloseCode::TryAgainLater, "server is full", 12);
        let random = || panic!("the schedule must not be consulted");
        assert_eq!(
            plan(full.code.number(), &full.reason, 1, random),
            RetryPlan::After {
                delay_ms: 12_000,
                hinted: true
            }
        );
        let try_again = CloseCode::TryAgainLater.number();
        assert_eq!(
            plan(try_again, "room is full; retry after 99999 s", 7, || 0.0),
            RetryPlan::After {
                delay_ms: u64::from(MAX_HINT_SECS) * 1_000,
                hinted: true
            }
        );
        // Without a hint, 1013 is retried on the schedule.
        assert_eq!(
            plan(try_again, "server is full", 1, || 0.5),
            RetryPlan::After {
                delay_ms: 500,
                hinted: false
            }
        );
    }

    #[test]
    fn a_draining_server_hints_a_quick_return() {
        let drain = Close::with_retry_after(CloseCode::GoingAway, "server is shutting down", 1);
        let random = || panic!("the schedule must not be consulted");
        assert_eq!(
            plan(drain.code.number(), &drain.reason, 4, random),
            RetryPlan::After {
                delay_ms: 1_000,
                hinted: true
            }
        );
    }

    #[test]
    fn every_code_follows_its_row_of_the_close_table() {
        for row in &close::TABLE {
            let plan = plan(row.number, "", 1, || 0.5);
            let expected = match row.reconnect {
                Reconnect::Never => RetryPlan::GiveUp,
                Reconnect::Backoff | Reconnect::AfterHint => RetryPlan::After {
                    delay_ms: 500,
                    hinted: false,
                },
            };
            assert_eq!(plan, expected, "{}", row.code);
        }
        // Only the codes the table says carry a hint are read for one.
        assert_eq!(
            plan(CloseCode::Internal.number(), "retry after 9 s", 1, || 0.5),
            RetryPlan::After {
                delay_ms: 500,
                hinted: false
            }
        );
    }

    #[test]
    fn codes_from_a_newer_server_are_retried() {
        assert_eq!(CloseCode::from_number(4099), None);
        assert_eq!(
            plan(4099, "", 1, || 0.5),
            RetryPlan::After {
                delay_ms: 500,
                hinted: false
            }
        );
    }

    #[test]
    fn refusals_give_up() {
        for code in [
            CloseCode::Normal,
            CloseCode::Policy,
            CloseCode::DocumentTooLarge,
        ] {
            assert_eq!(
                plan(code.number(), "retry after 3 s", 1, || 0.5),
                RetryPlan::GiveUp
            );
        }
    }
}
