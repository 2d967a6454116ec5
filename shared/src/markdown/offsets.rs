//! Positions in a text as Rust holds it (UTF-8 bytes) and as the browser and
//! the document count them (UTF-16 code units, see [`crate::doc`]).
//!
//! The Markdown code works on `&str` byte offsets; the page's selection and
//! every CRDT edit are UTF-16. These convert at the edge, never splitting a
//! character: a unit offset inside a surrogate pair rounds down to the
//! character's start.

/// UTF-16 units in `text`.
pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// The byte offset of UTF-16 offset `unit` in `text` (clamped to its end).
pub fn utf16_to_byte(text: &str, unit: usize) -> usize {
    let mut units = 0;
    for (at, c) in text.char_indices() {
        let next = units + c.len_utf16();
        if next > unit {
            return at;
        }
        units = next;
    }
    text.len()
}

/// The UTF-16 offset of byte offset `byte` in `text` (clamped to its end;
/// an offset inside a character counts from that character's start).
pub fn byte_to_utf16(text: &str, byte: usize) -> usize {
    utf16_len(&text[..floor_boundary(text, byte)])
}

/// The largest character boundary of `text` at or before `byte`.
pub fn floor_boundary(text: &str, byte: usize) -> usize {
    let mut at = byte.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The smallest character boundary of `text` at or after `byte`.
pub fn ceil_boundary(text: &str, byte: usize) -> usize {
    let mut at = byte.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The start of the line holding byte `at`.
pub fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The end of the line holding byte `at` (its `\n`, or the text's end).
pub fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bytes_convert_both_ways() {
        // "é" is 2 bytes / 1 unit, "👋" 4 bytes / 2 units.
        let text = "aé👋b";
        assert_eq!(utf16_len(text), 5);
        assert_eq!(utf16_to_byte(text, 0), 0);
        assert_eq!(utf16_to_byte(text, 1), 1);
        assert_eq!(utf16_to_byte(text, 2), 3);
        assert_eq!(utf16_to_byte(text, 4), 7);
        assert_eq!(utf16_to_byte(text, 5), 8);
        assert_eq!(utf16_to_byte(text, 99), 8);
        // Inside the surrogate pair: the emoji's start.
        assert_eq!(utf16_to_byte(text, 3), 3);
        for (byte, unit) in [(0, 0), (1, 1), (3, 2), (7, 4), (8, 5)] {
            assert_eq!(byte_to_utf16(text, byte), unit);
        }
        assert_eq!(byte_to_utf16(text, 2), 1, "inside é counts from its start");
    }

    #[test]
    fn boundaries_and_lines() {
        let text = "é\nab\n";
        assert_eq!(floor_boundary(text, 1), 0);
        assert_eq!(ceil_boundary(text, 1), 2);
        assert_eq!(line_start(text, 4), 3);
        assert_eq!(line_end(text, 3), 5);
        assert_eq!(line_end(text, 6), 6);
        assert_eq!(line_start(text, 0), 0);
    }
}
