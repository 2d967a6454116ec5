//! Finding the highest update rate a room sustains: double the rate while
//! steps pass, then narrow the gap between the last pass and the first
//! failure by geometric bisection. Pure logic; [`crate::suite`] runs the steps.

/// The rule a step must meet to count as sustained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassRule {
    /// p99 send→receive latency must not pass this, in milliseconds.
    pub max_p99_ms: f64,
    /// The writers must achieve at least this share of the asked rate.
    pub min_achieved: f64,
}

impl Default for PassRule {
    fn default() -> Self {
        Self {
            max_p99_ms: 50.0,
            min_achieved: 0.95,
        }
    }
}

/// What one step measured, as far as the rule cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepFigures {
    /// The rate asked for, updates per second.
    pub target_rate: f64,
    /// The rate the writers achieved.
    pub achieved_rate: f64,
    /// p99 latency, `None` when nothing was measured.
    pub p99_ms: Option<f64>,
    /// Whether every client ended with every update.
    pub converged: bool,
    /// Connections the server closed during the step.
    pub disconnects: usize,
}

impl PassRule {
    /// Whether a step with `figures` counts as sustained.
    pub fn passes(&self, figures: &StepFigures) -> bool {
        figures.converged
            && figures.disconnects == 0
            && figures.achieved_rate >= self.min_achieved * figures.target_rate
            && figures.p99_ms.is_some_and(|p99| p99 <= self.max_p99_ms)
    }
}

/// The stepping state machine.
#[derive(Debug, Clone)]
pub struct RateStepper {
    /// The rate to try next, if any.
    next: Option<u64>,
    /// Highest rate that passed.
    best_pass: Option<u64>,
    /// Lowest rate that failed.
    first_fail: Option<u64>,
    /// Rates at or below this are not tried (a server that fails there is
    /// reported as sustaining nothing measurable).
    min_rate: u64,
    /// Rates above this are not tried (the load generator's own limit).
    max_rate: u64,
    /// Bisection steps left once a failure brackets the answer.
    refinements: u32,
}

impl RateStepper {
    /// Starts at `start` updates/s, doubling up to `max_rate`, then at most
    /// `refinements` bisection steps.
    pub fn new(start: u64, min_rate: u64, max_rate: u64, refinements: u32) -> Self {
        Self {
            next: Some(start.clamp(min_rate.max(1), max_rate.max(1))),
            best_pass: None,
            first_fail: None,
            min_rate: min_rate.max(1),
            max_rate: max_rate.max(1),
            refinements,
        }
    }

    /// The rate to run next; `None` when done.
    pub fn next_rate(&self) -> Option<u64> {
        self.next
    }

    /// The highest rate that passed so far.
    pub fn sustained(&self) -> Option<u64> {
        self.best_pass
    }

    /// Whether the search stopped at `max_rate` without a failure, so the
    /// answer is a lower bound.
    pub fn capped(&self) -> bool {
        self.next.is_none() && self.first_fail.is_none() && self.best_pass == Some(self.max_rate)
    }

    /// Records the outcome of running `rate` and picks the next one.
    pub fn record(&mut self, rate: u64, passed: bool) {
        if passed {
            self.best_pass = Some(self.best_pass.map_or(rate, |b| b.max(rate)));
        } else {
            self.first_fail = Some(self.first_fail.map_or(rate, |f| f.min(rate)));
        }
        self.next = match (self.best_pass, self.first_fail) {
            // Still climbing.
            (Some(pass), None) => {
                let up = pass.saturating_mul(2).min(self.max_rate);
                (up > pass).then_some(up)
            }
            // Nothing passed yet: halve until something does.
            (None, Some(fail)) => {
                let down = fail / 2;
                (down >= self.min_rate).then_some(down)
            }
            // Bracketed: bisect geometrically while the gap is worth it.
            (Some(pass), Some(fail)) => {
                if self.refinements == 0 || fail as f64 / pass as f64 <= 1.25 {
                    None
                } else {
                    self.refinements -= 1;
                    let mid = ((pass as f64) * (fail as f64)).sqrt().round() as u64;
                    (mid > pass && mid < fail).then_some(mid)
                }
            }
            (None, None) => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the stepper against a server that sustains up to `limit`.
    fn search(mut stepper: RateStepper, limit: u64) -> (Vec<u64>, Option<u64>) {
        let mut tried = Vec::new();
        while let Some(rate) = stepper.next_rate() {
            assert!(tried.len() < 50, "the search ends");
            tried.push(rate);
            stepper.record(rate, rate <= limit);
        }
        (tried, stepper.sustained())
    }

    #[test]
    fn doubles_then_bisects() {
        let (tried, best) = search(RateStepper::new(1000, 100, 1_000_000, 2), 5000);
        assert_eq!(&tried[..4], &[1000, 2000, 4000, 8000]);
        // Two bisections between 4000 and 8000: √(4000·8000) ≈ 5657 fails, then
        // √(4000·5657) ≈ 4757 passes.
        assert_eq!(&tried[4..], &[5657, 4757]);
        assert_eq!(best, Some(4757));
    }

    #[test]
    fn goes_down_when_the_start_fails() {
        let (tried, best) = search(RateStepper::new(1000, 100, 1_000_000, 0), 300);
        assert_eq!(tried, [1000, 500, 250]);
        assert_eq!(best, Some(250));
        let (tried, best) = search(RateStepper::new(1000, 400, 1_000_000, 3), 10);
        assert_eq!(tried, [1000, 500]);
        assert_eq!(best, None);
    }

    #[test]
    fn stops_at_the_cap() {
        let mut stepper = RateStepper::new(1000, 100, 3000, 3);
        let mut tried = Vec::new();
        while let Some(rate) = stepper.next_rate() {
            tried.push(rate);
            stepper.record(rate, true);
        }
        assert_eq!(tried, [1000, 2000, 3000]);
        assert!(stepper.capped());
        assert_eq!(stepper.sustained(), Some(3000));
    }

    #[test]
    fn the_rule_needs_every_condition() {
        let rule = PassRule::default();
        let ok = StepFigures {
            target_rate: 1000.0,
            achieved_rate: 990.0,
            p99_ms: Some(12.0),
            converged: true,
            disconnects: 0,
        };
        assert!(rule.passes(&ok));
        assert!(!rule.passes(&StepFigures {
            p99_ms: Some(50.1),
            ..ok
        }));
        assert!(!rule.passes(&StepFigures { p99_ms: None, ..ok }));
        assert!(!rule.passes(&StepFigures {
            achieved_rate: 900.0,
            ..ok
        }));
        assert!(!rule.passes(&StepFigures {
            converged: false,
            ..ok
        }));
        assert!(!rule.passes(&StepFigures {
            disconnects: 1,
            ..ok
        }));
    }
}
