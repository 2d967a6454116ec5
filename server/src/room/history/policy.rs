//! When a room's checkpoints are taken and how long they are kept: the
//! policy `--history-interval`, `--history-keep-all` and
//! `--history-keep-hourly` set. Their defaults are written here once, as
//! the command line spells them: `crate::config` uses these strings as its
//! defaults, and [`HistoryPolicy::default`] reads them.

use std::time::Duration;

/// `--history-interval`'s default: a checkpoint 10 minutes after the first
/// edit since the previous one.
pub const DEFAULT_INTERVAL: &str = "10m";
/// `--history-keep-all`'s default: every checkpoint of the last day.
pub const DEFAULT_KEEP_ALL: &str = "1day";
/// `--history-keep-hourly`'s default: hourly ones for 30 days.
pub const DEFAULT_KEEP_HOURLY: &str = "30days";

/// When checkpoints are taken and how long they are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPolicy {
    /// A checkpoint this long after the first edit since the previous one.
    pub interval: Duration,
    /// Every checkpoint younger than this is kept...
    pub keep_all: Duration,
    /// ...then the newest of each hour up to this age, then the newest of
    /// each day forever. Named versions are kept until deleted.
    pub keep_hourly: Duration,
}

impl Default for HistoryPolicy {
    /// [`DEFAULT_INTERVAL`], [`DEFAULT_KEEP_ALL`], [`DEFAULT_KEEP_HOURLY`].
    fn default() -> Self {
        Self {
            interval: parse(DEFAULT_INTERVAL),
            keep_all: parse(DEFAULT_KEEP_ALL),
            keep_hourly: parse(DEFAULT_KEEP_HOURLY),
        }
    }
}

/// One of the defaults above, which a test reads back.
fn parse(text: &str) -> Duration {
    humantime::parse_duration(text).unwrap_or_else(|_| unreachable!("{text:?} is a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_ten_minutes_a_day_and_thirty_days() {
        assert_eq!(
            HistoryPolicy::default(),
            HistoryPolicy {
                interval: Duration::from_secs(10 * 60),
                keep_all: Duration::from_secs(24 * 3600),
                keep_hourly: Duration::from_secs(30 * 24 * 3600),
            }
        );
    }
}
