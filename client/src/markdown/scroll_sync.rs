//! Split mode's scroll sync, as arithmetic: editor and preview show the
//! same blocks in the same order, so a scroll position in one maps to the
//! same block, the same fraction of the way through it, in the other.

/// Where to scroll the other pane: `scroll` is this pane's position, `from`
/// the tops of its blocks and `from_end` the bottom of its last one; `to`
/// and `to_end` the same in the other pane. Both lists have one entry per
/// block, in order; with none, the position is kept as a fraction of the
/// whole.
pub(crate) fn map_scroll(from: &[f64], from_end: f64, to: &[f64], to_end: f64, scroll: f64) -> f64 {
    let blocks = from.len().min(to.len());
    if blocks == 0 || from_end <= 0.0 {
        return 0.0;
    }
    // The last block whose top is at or above the position.
    let i = from[..blocks]
        .partition_point(|top| *top <= scroll)
        .saturating_sub(1);
    let (start, end) = (from[i], from.get(i + 1).copied().unwrap_or(from_end));
    let (to_start, to_stop) = (to[i], to.get(i + 1).copied().unwrap_or(to_end));
    let fraction = if end > start {
        ((scroll - start) / (end - start)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    to_start + fraction * (to_stop - to_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_block_the_same_fraction_through() {
        let editor = [0.0, 100.0, 300.0];
        let preview = [0.0, 50.0, 500.0];
        assert_eq!(map_scroll(&editor, 400.0, &preview, 600.0, 0.0), 0.0);
        assert_eq!(map_scroll(&editor, 400.0, &preview, 600.0, 200.0), 275.0);
        assert_eq!(map_scroll(&editor, 400.0, &preview, 600.0, 350.0), 550.0);
        // And back.
        assert_eq!(map_scroll(&preview, 600.0, &editor, 400.0, 275.0), 200.0);
        // Past the end or before the start: clamped to the block.
        assert_eq!(map_scroll(&editor, 400.0, &preview, 600.0, 9999.0), 600.0);
        assert_eq!(map_scroll(&[], 0.0, &[], 0.0, 10.0), 0.0);
    }
}
