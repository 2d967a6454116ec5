//! What changed between two texts, word by word, for the History panel.
//!
//! Texts are cut into words, each with the whitespace after it. The common
//! first and last words are cut off first (most versions differ in one
//! place), then the middle is compared with a longest-common-subsequence
//! table. A middle too large for that table (more than [`MAX_CELLS`] word
//! pairs) is shown as removed and added whole: the panel stays quick on any
//! document and no diff library weighs on the page.

/// Most word pairs the LCS table may hold (4 MB of `u32`s).
const MAX_CELLS: usize = 1_000_000;

/// How a piece of text fares between the old and the new text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// In both.
    Same,
    /// Only in the new text.
    Added,
    /// Only in the old text.
    Removed,
}

/// A run of whole words (each with the whitespace after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    /// What happened to it.
    pub(crate) change: Change,
    /// The text.
    pub(crate) text: String,
}

/// The words of `old` and `new`, marked, in reading order; runs of the same
/// change are merged.
pub(crate) fn diff(old: &str, new: &str) -> Vec<Piece> {
    let a: Vec<&str> = old.split_inclusive(char::is_whitespace).collect();
    let b: Vec<&str> = new.split_inclusive(char::is_whitespace).collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (mid_a, mid_b) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out = Vec::new();
    for line in &a[..prefix] {
        push(&mut out, Change::Same, line);
    }
    if mid_a.len().saturating_mul(mid_b.len()) <= MAX_CELLS {
        middle(&mut out, mid_a, mid_b);
    } else {
        for line in mid_a {
            push(&mut out, Change::Removed, line);
        }
        for line in mid_b {
            push(&mut out, Change::Added, line);
        }
    }
    for line in &a[a.len() - suffix..] {
        push(&mut out, Change::Same, line);
    }
    out
}

/// The LCS walk over the differing middle.
fn middle(out: &mut Vec<Piece>, a: &[&str], b: &[&str]) {
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: common lines of a[i..] and b[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if a[i] == b[j] {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            push(out, Change::Same, a[i]);
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
            // On a tie the old words go first: "removed, then added" reads
            // as a replacement.
            push(out, Change::Removed, a[i]);
            i += 1;
        } else {
            push(out, Change::Added, b[j]);
            j += 1;
        }
    }
}

fn push(out: &mut Vec<Piece>, change: Change, text: &str) {
    match out.last_mut() {
        Some(last) if last.change == change => last.text.push_str(text),
        _ => out.push(Piece {
            change,
            text: text.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(change: Change, text: &str) -> Piece {
        Piece {
            change,
            text: text.to_owned(),
        }
    }

    #[test]
    fn marks_added_and_removed_words() {
        assert_eq!(
            diff("a\nb\nc\n", "a\nB\nc\nd"),
            vec![
                piece(Change::Same, "a\n"),
                piece(Change::Removed, "b\n"),
                piece(Change::Added, "B\n"),
                piece(Change::Same, "c\n"),
                piece(Change::Added, "d"),
            ]
        );
        assert_eq!(diff("same", "same"), vec![piece(Change::Same, "same")]);
        assert_eq!(
            diff("the quick fox", "the slow fox"),
            vec![
                piece(Change::Same, "the "),
                piece(Change::Removed, "quick "),
                piece(Change::Added, "slow "),
                piece(Change::Same, "fox"),
            ]
        );
        assert_eq!(diff("", "new"), vec![piece(Change::Added, "new")]);
    }

    #[test]
    fn a_huge_middle_is_shown_whole() {
        let old: String = (0..2000).map(|i| format!("{i} ")).collect();
        let new: String = (0..2000).map(|i| format!("x{i} ")).collect();
        let pieces = diff(&old, &new);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].change, Change::Removed);
    }
}
