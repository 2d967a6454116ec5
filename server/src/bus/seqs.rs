//! [`SeqSet`]: which log sequence numbers of a room a node has folded into
//! its document, so it compacts only through rows it holds.
//!
//! Several nodes append to one room's log, so the rows a node holds arrive
//! out of order: its own commits at once, the others' through the bus. The
//! contiguous prefix is what compaction may replace with the node's state.

use std::collections::BTreeMap;

/// Sequence numbers held: everything up to [`SeqSet::prefix`], plus ranges
/// beyond a gap.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SeqSet {
    /// Every number up to and including this one is held.
    prefix: u64,
    /// Ranges past the prefix, by first number (inclusive ends).
    ahead: BTreeMap<u64, u64>,
}

impl SeqSet {
    /// Holds everything up to and including `last` (what a load returned).
    pub(crate) fn through(last: u64) -> Self {
        Self {
            prefix: last,
            ahead: BTreeMap::new(),
        }
    }

    /// The newest number up to which every row is held.
    pub(crate) fn prefix(&self) -> u64 {
        self.prefix
    }

    /// Notes that rows `first..=last` are held.
    pub(crate) fn insert(&mut self, first: u64, last: u64) {
        if last < first || last <= self.prefix {
            return;
        }
        let end = self.ahead.entry(first).or_insert(last);
        *end = (*end).max(last);
        while let Some((&start, &end)) = self.ahead.first_key_value() {
            if start > self.prefix + 1 {
                break;
            }
            self.prefix = self.prefix.max(end);
            self.ahead.remove(&start);
        }
    }

    /// Holds everything up to `last` as well (after reloading from the store).
    pub(crate) fn extend_through(&mut self, last: u64) {
        self.insert(1, last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_stops_at_the_first_gap() {
        let mut set = SeqSet::through(3);
        set.insert(6, 7);
        assert_eq!(set.prefix(), 3, "rows 4 and 5 are missing");
        set.insert(4, 4);
        assert_eq!(set.prefix(), 4);
        set.insert(5, 5);
        assert_eq!(set.prefix(), 7, "the gap closed");
        set.insert(2, 9);
        assert_eq!(set.prefix(), 9, "overlaps are fine");
        set.insert(12, 12);
        set.extend_through(10);
        assert_eq!(set.prefix(), 10);
        set.insert(11, 11);
        assert_eq!(set.prefix(), 12);
    }
}
