//! Split mode's scroll sync, as arithmetic: editor and preview show the
//! same blocks in the same order, so a scroll position in one maps to the
//! same block, the same fraction of the way through it, in the other.
//!
//! A block's top is a layout read, so the mapping asks for the tops it
//! needs only: a binary search over one pane's blocks and two tops of the
//! other (about twenty reads on the 251-block paper instead of 502).

/// One pane's blocks, as the mapping reads them.
pub(crate) struct Pane<F: Fn(usize) -> f64> {
    /// How many blocks.
    pub(crate) blocks: usize,
    /// The top of block `i`, relative to the pane's scrolled content.
    pub(crate) top: F,
    /// The bottom of the last block.
    pub(crate) end: f64,
}

/// Where to scroll the other pane (`to`) when this one (`from`) is at
/// `scroll`. Both panes have one block per block of the document, in
/// order; with none, the position is 0.
pub(crate) fn map_scroll<F, G>(from: &Pane<F>, to: &Pane<G>, scroll: f64) -> f64
where
    F: Fn(usize) -> f64,
    G: Fn(usize) -> f64,
{
    let blocks = from.blocks.min(to.blocks);
    if blocks == 0 || from.end <= 0.0 {
        return 0.0;
    }
    // The last block whose top is at or above the position.
    let (mut low, mut high) = (0, blocks);
    while low < high {
        let mid = low + (high - low) / 2;
        if (from.top)(mid) <= scroll {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    let i = low.saturating_sub(1);
    let next = |pane_top: &dyn Fn(usize) -> f64, end: f64| {
        if i + 1 < blocks { pane_top(i + 1) } else { end }
    };
    let (start, stop) = ((from.top)(i), next(&from.top, from.end));
    let (to_start, to_stop) = ((to.top)(i), next(&to.top, to.end));
    let fraction = if stop > start {
        ((scroll - start) / (stop - start)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    to_start + fraction * (to_stop - to_start)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn pane<'a>(
        tops: &'a [f64],
        end: f64,
        reads: &'a Cell<usize>,
    ) -> Pane<impl Fn(usize) -> f64 + 'a> {
        Pane {
            blocks: tops.len(),
            top: move |i| {
                reads.set(reads.get() + 1);
                tops[i]
            },
            end,
        }
    }

    #[test]
    fn the_same_block_the_same_fraction_through() {
        let reads = Cell::new(0);
        let editor = pane(&[0.0, 100.0, 300.0], 400.0, &reads);
        let preview = pane(&[0.0, 50.0, 500.0], 600.0, &reads);
        assert_eq!(map_scroll(&editor, &preview, 0.0), 0.0);
        assert_eq!(map_scroll(&editor, &preview, 200.0), 275.0);
        assert_eq!(map_scroll(&editor, &preview, 350.0), 550.0);
        // And back.
        assert_eq!(map_scroll(&preview, &editor, 275.0), 200.0);
        // Past the end or before the start: clamped to the block.
        assert_eq!(map_scroll(&editor, &preview, 9999.0), 600.0);
        let none = pane(&[], 0.0, &reads);
        assert_eq!(map_scroll(&none, &none, 10.0), 0.0);
    }

    #[test]
    fn a_long_document_costs_a_few_reads() {
        let tops: Vec<f64> = (0..251).map(|i| f64::from(i) * 40.0).collect();
        let other: Vec<f64> = (0..251).map(|i| f64::from(i) * 90.0).collect();
        let reads = Cell::new(0);
        let editor = pane(&tops, 251.0 * 40.0, &reads);
        let preview = pane(&other, 251.0 * 90.0, &reads);
        assert_eq!(map_scroll(&editor, &preview, 4020.0), 100.0 * 90.0 + 45.0);
        assert!(reads.get() <= 12, "{} reads", reads.get());
    }
}
