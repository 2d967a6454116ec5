//! Where other people's carets and selections go in the editor, as a list
//! of pieces for the mirror that is laid over the `<textarea>`.
//!
//! A textarea cannot style ranges of its text, so the page draws a mirror:
//! an element with the same font, padding and wrapping, holding the same text
//! (transparent), in which selections are highlighted spans and carets are
//! zero-width markers. This module decides the pieces; the component draws
//! them. Offsets are UTF-16 units, like the document.

use std::ops::Range;

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
    fn selection(&self) -> Range<usize> {
        self.anchor.min(self.head)..self.anchor.max(self.head)
    }
}

/// One piece of the mirror, in text order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A run of the text, highlighted by the selections of the listed cursors
    /// (indexes into the cursor list; empty when not selected).
    Text {
        /// UTF-16 units of the text.
        range: Range<usize>,
        /// Whose selections cover the run.
        selected_by: Vec<usize>,
    },
    /// The caret of the cursor at this index.
    Caret(usize),
}

/// The pieces for a text of `len` units and `cursors` (clamped to the text).
/// Text runs are split exactly where a selection starts or ends or a caret
/// sits, so each highlighted run has one set of owners.
pub(crate) fn layout(len: usize, cursors: &[PlacedCursor]) -> Vec<Piece> {
    let clamp = |c: &PlacedCursor| PlacedCursor {
        anchor: c.anchor.min(len),
        head: c.head.min(len),
    };
    let cursors: Vec<PlacedCursor> = cursors.iter().map(clamp).collect();
    let mut cuts: Vec<usize> = vec![0, len];
    for cursor in &cursors {
        cuts.extend([cursor.anchor, cursor.head]);
    }
    cuts.sort_unstable();
    cuts.dedup();

    let mut pieces = Vec::new();
    for (i, &at) in cuts.iter().enumerate() {
        pieces.extend(
            cursors
                .iter()
                .enumerate()
                .filter(|(_, c)| c.head == at)
                .map(|(n, _)| Piece::Caret(n)),
        );
        let Some(&next) = cuts.get(i + 1) else {
            break;
        };
        let selected_by = cursors
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                let selection = c.selection();
                selection.start <= at && next <= selection.end && !selection.is_empty()
            })
            .map(|(n, _)| n)
            .collect();
        pieces.push(Piece::Text {
            range: at..next,
            selected_by,
        });
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(anchor: usize, head: usize) -> PlacedCursor {
        PlacedCursor { anchor, head }
    }

    fn text(range: Range<usize>, selected_by: &[usize]) -> Piece {
        Piece::Text {
            range,
            selected_by: selected_by.to_vec(),
        }
    }

    #[test]
    fn no_cursors_is_one_plain_run() {
        assert_eq!(layout(5, &[]), [text(0..5, &[])]);
        assert_eq!(layout(0, &[]), []);
    }

    #[test]
    fn a_caret_splits_the_text() {
        assert_eq!(
            layout(10, &[cursor(4, 4)]),
            [text(0..4, &[]), Piece::Caret(0), text(4..10, &[])]
        );
        // At both ends of the text, and in an empty text.
        assert_eq!(
            layout(3, &[cursor(0, 0)]),
            [Piece::Caret(0), text(0..3, &[])]
        );
        assert_eq!(
            layout(3, &[cursor(3, 3)]),
            [text(0..3, &[]), Piece::Caret(0)]
        );
        assert_eq!(layout(0, &[cursor(0, 0)]), [Piece::Caret(0)]);
    }

    #[test]
    fn a_selection_is_highlighted_with_its_caret_at_the_head() {
        // Forward: the caret ends the selection.
        assert_eq!(
            layout(10, &[cursor(2, 6)]),
            [
                text(0..2, &[]),
                text(2..6, &[0]),
                Piece::Caret(0),
                text(6..10, &[])
            ]
        );
        // Backward: the caret starts it.
        assert_eq!(
            layout(10, &[cursor(6, 2)]),
            [
                text(0..2, &[]),
                Piece::Caret(0),
                text(2..6, &[0]),
                text(6..10, &[])
            ]
        );
    }

    #[test]
    fn overlapping_selections_share_the_overlap() {
        assert_eq!(
            layout(10, &[cursor(1, 5), cursor(3, 8)]),
            [
                text(0..1, &[]),
                text(1..3, &[0]),
                text(3..5, &[0, 1]),
                Piece::Caret(0),
                text(5..8, &[1]),
                Piece::Caret(1),
                text(8..10, &[]),
            ]
        );
    }

    #[test]
    fn carets_at_the_same_place_both_show_and_stale_offsets_are_clamped() {
        assert_eq!(
            layout(4, &[cursor(2, 2), cursor(9, 9)]),
            [
                text(0..2, &[]),
                Piece::Caret(0),
                text(2..4, &[]),
                Piece::Caret(1)
            ]
        );
        assert_eq!(
            layout(4, &[cursor(2, 2), cursor(2, 2)]),
            [
                text(0..2, &[]),
                Piece::Caret(0),
                Piece::Caret(1),
                text(2..4, &[])
            ]
        );
    }
}
