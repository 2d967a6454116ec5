//! Where other people's carets and selections go in the editor: the
//! arithmetic of the overlay laid over the `<textarea>`, apart from the DOM.
//!
//! A textarea cannot style ranges of its text, so the page draws over it:
//! a caret is a thin mark with a name label, a selection is a tinted shape.
//! Where a character is on screen is measured in the highlight layer under
//! the textarea, which holds the same characters with the same metrics (see
//! `components::RemoteCursors`); this module finds the block and character
//! of an offset, shapes a selection from its two ends, and keeps name
//! labels inside the editor and off one another. Offsets are UTF-16 units,
//! like the document.

/// One person's cursor, resolved to offsets in the current text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlacedCursor {
    /// Where the selection started.
    pub(crate) anchor: usize,
    /// The caret.
    pub(crate) head: usize,
}

impl PlacedCursor {
    /// The selected range, empty for a plain caret.
    pub(crate) fn selection(&self) -> std::ops::Range<usize> {
        self.anchor.min(self.head)..self.anchor.max(self.head)
    }
}

/// A box on screen, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Rect {
    pub(crate) left: f64,
    pub(crate) top: f64,
    pub(crate) right: f64,
    pub(crate) bottom: f64,
}

impl Rect {
    /// The same box, `dx` and `dy` further.
    pub(crate) fn moved(self, dx: f64, dy: f64) -> Self {
        Self {
            left: self.left + dx,
            top: self.top + dy,
            right: self.right + dx,
            bottom: self.bottom + dy,
        }
    }

    fn overlaps(&self, other: &Rect) -> bool {
        self.left < other.right
            && other.left < self.right
            && self.top < other.bottom
            && other.top < self.bottom
    }
}

/// The block holding UTF-16 offset `offset` of a text made of blocks of
/// `lens` units, and the offset within it; `None` past the last unit (the
/// end of the text belongs to no character).
pub(crate) fn locate(lens: &[usize], offset: usize) -> Option<(usize, usize)> {
    let mut start = 0;
    for (i, len) in lens.iter().enumerate() {
        if offset < start + len {
            return Some((i, offset - start));
        }
        start += len;
    }
    None
}

/// A selection's shape, as editors draw it, from the caret boxes of its two
/// ends (`start` before `end`) and the text's left and right edges: on one
/// line, the span between them; over several, the rest of the first line,
/// the full width between, and the start of the last.
pub(crate) fn selection_boxes(start: Rect, end: Rect, left: f64, right: f64) -> Vec<Rect> {
    let same_line = (start.top - end.top).abs() < (start.bottom - start.top) / 2.0;
    if same_line {
        return vec![Rect {
            left: start.left,
            top: start.top,
            right: end.left.max(start.left),
            bottom: start.bottom,
        }];
    }
    let mut boxes = vec![Rect {
        left: start.left,
        top: start.top,
        right: right.max(start.left),
        bottom: start.bottom,
    }];
    if end.top > start.bottom {
        boxes.push(Rect {
            left,
            top: start.bottom,
            right,
            bottom: end.top,
        });
    }
    boxes.push(Rect {
        left,
        top: end.top,
        right: end.left.max(left),
        bottom: end.bottom,
    });
    boxes
}

/// Where a name label goes: hung to the left of its caret, lifted above
/// others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LabelPlace {
    /// It would cross the right edge: it hangs to the left of the caret.
    pub(crate) flipped: bool,
    /// How many label heights it is lifted, so it covers no label placed
    /// before it.
    pub(crate) level: u32,
}

/// A caret's name label as measured: the caret's box and the label's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Label {
    /// The caret's box.
    pub(crate) caret: Rect,
    /// The label's width.
    pub(crate) width: f64,
    /// The label's height.
    pub(crate) height: f64,
}

/// The highest a label is lifted.
const MAX_LEVEL: u32 = 8;

/// Places `labels` (in drawing order): one that would cross `edge` hangs to
/// the left of its caret; each is lifted, one label height (and a 2 px gap)
/// at a time, until it covers none placed before it. The label sits on top
/// of its caret (`bottom: calc(100% + 0.05em)` in the stylesheet, about
/// 1 px), starting 1 px left of it (or ending 1 px right of it, flipped).
pub(crate) fn place_labels(labels: &[Label], edge: f64) -> Vec<LabelPlace> {
    let mut placed: Vec<Rect> = Vec::new();
    labels
        .iter()
        .map(|label| {
            let x = label.caret.left;
            let flipped = x - 1.0 + label.width > edge;
            let left = if flipped {
                x + 1.0 - label.width
            } else {
                x - 1.0
            };
            let bottom = label.caret.top - 1.0;
            let base = Rect {
                left,
                top: bottom - label.height,
                right: left + label.width,
                bottom,
            };
            let step = label.height + 2.0;
            let lifted = |level: u32| base.moved(0.0, -step * f64::from(level));
            let mut level = 0;
            while level < MAX_LEVEL && placed.iter().any(|p| p.overlaps(&lifted(level))) {
                level += 1;
            }
            placed.push(lifted(level));
            LabelPlace { flipped, level }
        })
        .collect()
}

/// How close (CSS pixels) the pointer must come to a caret to show its label.
const HOVER_SLOP: f64 = 6.0;

/// Whether the pointer at (`x`, `y`) is over the caret `caret`.
pub(crate) fn is_over(caret: &Rect, x: f64, y: f64) -> bool {
    x >= caret.left - HOVER_SLOP
        && x <= caret.right + HOVER_SLOP
        && y >= caret.top
        && y <= caret.bottom
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(left: f64, top: f64, right: f64, bottom: f64) -> Rect {
        Rect {
            left,
            top,
            right,
            bottom,
        }
    }

    #[test]
    fn offsets_are_found_in_their_block() {
        let lens = [3, 0, 5];
        assert_eq!(locate(&lens, 0), Some((0, 0)));
        assert_eq!(locate(&lens, 2), Some((0, 2)));
        // An empty block holds nothing: the next offset is the next block's.
        assert_eq!(locate(&lens, 3), Some((2, 0)));
        assert_eq!(locate(&lens, 7), Some((2, 4)));
        assert_eq!(locate(&lens, 8), None);
        assert_eq!(locate(&[], 0), None);
    }

    #[test]
    fn a_selection_on_one_line_is_one_box() {
        let start = rect(10.0, 0.0, 10.0, 20.0);
        let end = rect(50.0, 0.5, 50.0, 20.5);
        assert_eq!(
            selection_boxes(start, end, 0.0, 100.0),
            [rect(10.0, 0.0, 50.0, 20.0)]
        );
    }

    #[test]
    fn a_selection_over_lines_is_first_middle_and_last() {
        let start = rect(40.0, 0.0, 40.0, 20.0);
        let end = rect(30.0, 60.0, 30.0, 80.0);
        assert_eq!(
            selection_boxes(start, end, 5.0, 100.0),
            [
                rect(40.0, 0.0, 100.0, 20.0),
                rect(5.0, 20.0, 100.0, 60.0),
                rect(5.0, 60.0, 30.0, 80.0)
            ]
        );
        // Two adjacent lines: nothing in between.
        let next = rect(30.0, 20.0, 30.0, 40.0);
        assert_eq!(selection_boxes(start, next, 5.0, 100.0).len(), 2);
    }

    #[test]
    fn labels_stay_inside_and_apart() {
        let label = |x: f64, top: f64| Label {
            caret: rect(x, top, x, top + 20.0),
            width: 60.0,
            height: 14.0,
        };
        // Two carets a character apart: the second label is lifted.
        let places = place_labels(&[label(100.0, 50.0), label(108.0, 50.0)], 500.0);
        assert_eq!(
            places,
            [
                LabelPlace {
                    flipped: false,
                    level: 0
                },
                LabelPlace {
                    flipped: false,
                    level: 1
                }
            ]
        );
        // Far apart: both at rest; near the right edge: flipped.
        let places = place_labels(&[label(100.0, 50.0), label(470.0, 50.0)], 500.0);
        assert_eq!(
            places,
            [
                LabelPlace {
                    flipped: false,
                    level: 0
                },
                LabelPlace {
                    flipped: true,
                    level: 0
                }
            ]
        );
        // On different lines they do not meet.
        let places = place_labels(&[label(100.0, 50.0), label(100.0, 90.0)], 500.0);
        assert!(places.iter().all(|p| p.level == 0));
    }

    #[test]
    fn the_pointer_is_over_a_caret_within_a_few_pixels() {
        let caret = rect(100.0, 40.0, 100.0, 60.0);
        assert!(is_over(&caret, 100.0, 50.0));
        assert!(is_over(&caret, 105.0, 41.0));
        assert!(!is_over(&caret, 110.0, 50.0));
        assert!(!is_over(&caret, 100.0, 61.0));
    }
}
