//! Retention: which of a room's checkpoints are dropped as they age, so a
//! long-lived document keeps a bounded history (a day of everything, a
//! month of hours, then days) and every version a person named.

use std::collections::HashSet;

use super::policy::HistoryPolicy;
use crate::store::Version;

/// The versions retention drops from `versions` at `now_ms` (Unix ms): past
/// [`HistoryPolicy::keep_all`], all but the newest of each UTC hour; past
/// [`HistoryPolicy::keep_hourly`], all but the newest of each UTC day. Named
/// versions are never dropped, nor counted as a bucket's keeper (so naming
/// one does not cost its neighbours their place).
pub fn thin(versions: &[Version], now_ms: i64, policy: &HistoryPolicy) -> Vec<u64> {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    let keep_all = policy.keep_all.as_millis() as i64;
    let keep_hourly = policy.keep_hourly.as_millis() as i64;
    let mut newest_first: Vec<&Version> = versions.iter().collect();
    newest_first.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    // (is a day bucket, bucket number): the first version seen in a bucket
    // is its newest and stays.
    let mut kept: HashSet<(bool, i64)> = HashSet::new();
    let mut dropped = Vec::new();
    for version in newest_first {
        let age = now_ms.saturating_sub(version.at);
        if version.label.is_some() || age <= keep_all {
            continue;
        }
        let bucket = if age <= keep_hourly {
            (false, version.at.div_euclid(HOUR))
        } else {
            (true, version.at.div_euclid(DAY))
        };
        if !kept.insert(bucket) {
            dropped.push(version.id);
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::VersionKind;

    fn version(id: u64, at: i64, label: Option<&str>) -> Version {
        Version {
            id,
            at,
            authors: Vec::new(),
            label: label.map(str::to_string),
            kind: VersionKind::Edit,
            restored_from: None,
            changes: Vec::new(),
        }
    }

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    #[test]
    fn retention_keeps_a_day_then_hourly_then_daily_and_every_named_one() {
        let now = 100 * DAY;
        let policy = HistoryPolicy::default();
        let versions = vec![
            // Within the day: all kept.
            version(1, now - 5 * MIN, None),
            version(2, now - 10 * MIN, None),
            // Two days ago, same hour: the newer stays.
            version(3, now - 2 * DAY + 20 * MIN, None),
            version(4, now - 2 * DAY + 10 * MIN, None),
            // ...and a named one in that hour is never dropped.
            version(5, now - 2 * DAY + 5 * MIN, Some("Draft sent to Ana")),
            // Forty days ago, same day, different hours: only the newest stays.
            version(6, now - 40 * DAY + 5 * HOUR, None),
            version(7, now - 40 * DAY + 2 * HOUR, None),
            version(8, now - 40 * DAY + HOUR, Some("old but named")),
        ];
        let mut dropped = thin(&versions, now, &policy);
        dropped.sort_unstable();
        assert_eq!(dropped, vec![4, 7]);
    }
}
