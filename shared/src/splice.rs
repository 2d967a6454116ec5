//! The smallest edit that turns one text into another, in UTF-16 code units.
//!
//! A text field reports only its new value on `input`. [`splice`] finds the
//! one change (delete a run, insert a run, at one index) that explains it, by
//! common prefix and suffix, so a keystroke becomes a one-character CRDT
//! operation and never "replace everything". Indexes count UTF-16 code units,
//! like `selectionStart` and like the yrs document ([`crate::doc`]), and
//! never fall between the two halves of a surrogate pair. The browser's editor
//! binding turns input into edits with it; the server's history restore turns
//! the current text into an old version's with it.

use std::ops::Range;

/// One change: at `index` of the old text, remove `delete` units, then insert
/// `insert` (a range of the new text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// Where the change starts, in the old text (and in the new one).
    pub index: usize,
    /// How many units of the old text are removed.
    pub delete: usize,
    /// Which units of the new text are inserted.
    pub insert: Range<usize>,
}

impl Splice {
    /// Whether the two texts were equal.
    pub fn is_empty(&self) -> bool {
        self.delete == 0 && self.insert.is_empty()
    }
}

/// The splice that turns `old` into `new`.
///
/// `caret`, when known, is the caret position in `new` right after the edit
/// (the field's `selectionEnd`). It settles the ambiguous cases: typing `a`
/// inside `aa` could be an insert at 1 or at 2; the caret says which, so the
/// operation lands where the person typed, which is where other people's
/// cursors and concurrent edits expect it. A wrong caret still gives a correct
/// (only larger) splice.
pub fn splice(old: &[u16], new: &[u16], caret: Option<usize>) -> Splice {
    let shortest = old.len().min(new.len());

    let mut suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(shortest)
        .take_while(|(a, b)| a == b)
        .count();
    if let Some(caret) = caret {
        // The inserted text ends at the caret, so the common tail starts after it.
        suffix = suffix.min(new.len().saturating_sub(caret));
    }
    // Never start the common tail on the second half of a surrogate pair.
    if suffix > 0 && is_low_surrogate(old[old.len() - suffix]) {
        suffix -= 1;
    }

    let mut prefix = old
        .iter()
        .zip(new)
        .take(shortest - suffix)
        .take_while(|(a, b)| a == b)
        .count();
    // Never end the common head on the first half of a surrogate pair.
    if prefix > 0 && is_high_surrogate(old[prefix - 1]) {
        prefix -= 1;
    }

    Splice {
        index: prefix,
        delete: old.len() - prefix - suffix,
        insert: prefix..new.len() - suffix,
    }
}

fn is_high_surrogate(unit: u16) -> bool {
    (0xD800..0xDC00).contains(&unit)
}

fn is_low_surrogate(unit: u16) -> bool {
    (0xDC00..0xE000).contains(&unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    /// The splice, checked to rebuild `new` from `old` and to keep surrogate
    /// pairs whole, returned as (index, deleted text, inserted text).
    fn check(old: &str, new: &str, caret: Option<usize>) -> (usize, String, String) {
        let (o, n) = (units(old), units(new));
        let s = splice(&o, &n, caret);
        let mut rebuilt = o[..s.index].to_vec();
        rebuilt.extend_from_slice(&n[s.insert.clone()]);
        rebuilt.extend_from_slice(&o[s.index + s.delete..]);
        assert_eq!(rebuilt, n, "{old:?} -> {new:?}: {s:?}");
        let deleted = String::from_utf16(&o[s.index..s.index + s.delete]).expect("whole pairs");
        let inserted = String::from_utf16(&n[s.insert.clone()]).expect("whole pairs");
        (s.index, deleted, inserted)
    }

    fn edit(index: usize, deleted: &str, inserted: &str) -> (usize, String, String) {
        (index, deleted.to_owned(), inserted.to_owned())
    }

    #[test]
    fn ascii_insert_delete_replace_in_the_middle() {
        assert_eq!(check("hello world", "hello, world", None), edit(5, "", ","));
        assert_eq!(check("hello world", "helloworld", None), edit(5, " ", ""));
        assert_eq!(
            check("hello world", "hello there", None),
            edit(6, "world", "there")
        );
        assert_eq!(check("abcdef", "aXYZf", None), edit(1, "bcde", "XYZ"));
    }

    #[test]
    fn ends_and_empties() {
        assert_eq!(check("", "abc", None), edit(0, "", "abc"));
        assert_eq!(check("abc", "", None), edit(0, "abc", ""));
        assert_eq!(check("abc", "abcd", None), edit(3, "", "d"));
        assert_eq!(check("abc", "xabc", None), edit(0, "", "x"));
        assert!(splice(&units("same"), &units("same"), None).is_empty());
        assert!(splice(&[], &[], Some(0)).is_empty());
    }

    #[test]
    fn emoji_are_never_split() {
        // 😀 is D83D DE00 and 😃 is D83D DE03: they share their first unit.
        assert_eq!(check("a😀b", "a😃b", None), edit(1, "😀", "😃"));
        assert_eq!(check("😀", "😀😀", None), edit(0, "", "😀"));
        assert_eq!(check("😀😀", "😀", Some(2)), edit(2, "😀", ""));
        assert_eq!(check("😀😀", "😀", Some(0)), edit(0, "😀", ""));
        assert_eq!(check("x😀y", "xy", Some(1)), edit(1, "😀", ""));
        assert_eq!(check("😀😃", "😀👍😃", Some(4)), edit(2, "", "👍"));
        // 🎉 (D83C DF89) and 🏉 (D83C DFC9) share the high surrogate too.
        assert_eq!(check("🎉 party", "🏉 party", None), edit(0, "🎉", "🏉"));
        assert_eq!(check("é👍🏽", "é👍🏿", None), edit(3, "🏽", "🏿"));
    }

    #[test]
    fn the_caret_places_ambiguous_edits() {
        // Typing 'a' after the first 'a' of "aa".
        assert_eq!(check("aa", "aaa", Some(2)), edit(1, "", "a"));
        // Without a caret the ambiguity resolves towards the start.
        assert_eq!(check("aa", "aaa", None), edit(0, "", "a"));
        // Backspace on the second 'a' of "aaa".
        assert_eq!(check("aaa", "aa", Some(1)), edit(1, "a", ""));
        // Forward delete at the caret.
        assert_eq!(check("abcd", "acd", Some(1)), edit(1, "b", ""));
        // Replacing a selection.
        assert_eq!(check("abcd", "axd", Some(2)), edit(1, "bc", "x"));
        // A caret that does not match the change still gives a correct splice.
        let (_, deleted, inserted) = check("hello world", "hello, world", Some(0));
        assert!(inserted.contains(','), "{deleted:?} -> {inserted:?}");
    }

    #[test]
    fn large_paste_is_one_insert() {
        let pasted = "lorem ipsum ".repeat(9_000);
        let old = "before after";
        let new = format!("before {pasted}after");
        let (index, deleted, inserted) = check(old, &new, Some(7 + pasted.len()));
        assert_eq!((index, deleted.as_str()), (7, ""));
        assert_eq!(inserted, pasted);
    }

    #[test]
    fn random_edits_rebuild_the_new_text() {
        // A small deterministic generator keeps the test dependency-free.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let alphabet = ['a', 'b', ' ', 'é', '😀', '😃', '\n'];
        for _ in 0..2_000 {
            let old: String = (0..next(12))
                .map(|_| alphabet[next(alphabet.len())])
                .collect();
            let new: String = (0..next(12))
                .map(|_| alphabet[next(alphabet.len())])
                .collect();
            let caret = match next(3) {
                0 => None,
                _ => Some(next(units(&new).len() + 1)),
            };
            check(&old, &new, caret);
        }
    }
}
