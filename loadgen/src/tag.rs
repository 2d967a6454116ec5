//! The text a load writer inserts names its writer and sequence number, as
//! `«w.s»`, so every receiver can map an update back to the moment it was
//! sent (kept in the same process: no clocks are compared across processes).
//!
//! Receivers find tags by scanning the update bytes rather than decoding the
//! update: a v1 update stores inserted strings as plain UTF-8, and `«`/`»`
//! (two bytes each) do not occur in the rest of a small update's encoding in
//! this arrangement, while a scan costs a fraction of a decode — which
//! matters when one load generator plays 500 clients.

/// A sent update's identity: which writer, which of its updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    /// Index of the writer among the run's writers.
    pub writer: u32,
    /// The writer's update number, from 0.
    pub seq: u32,
}

const OPEN: [u8; 2] = [0xC2, 0xAB]; // «
const CLOSE: [u8; 2] = [0xC2, 0xBB]; // »

impl Tag {
    /// The text to insert for this tag.
    pub fn text(self) -> String {
        format!("«{}.{}»", self.writer, self.seq)
    }

    /// Length of [`Tag::text`] in UTF-16 code units (and in characters).
    pub fn utf16_len(self) -> u32 {
        2 + digits(self.writer) + 1 + digits(self.seq)
    }
}

fn digits(mut n: u32) -> u32 {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

/// Calls `found` for every well-formed tag in `bytes`, in order.
pub fn scan(bytes: &[u8], mut found: impl FnMut(Tag)) {
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i..].starts_with(&OPEN)
            && let Some((tag, len)) = parse_at(&bytes[i + 2..])
        {
            found(tag);
            i += 2 + len;
            continue;
        }
        i += 1;
    }
}

/// Parses `w.s»` at the start of `bytes`; returns the tag and bytes used.
fn parse_at(bytes: &[u8]) -> Option<(Tag, usize)> {
    let (writer, a) = number(bytes)?;
    if bytes.get(a) != Some(&b'.') {
        return None;
    }
    let (seq, b) = number(&bytes[a + 1..])?;
    let end = a + 1 + b;
    bytes[end..]
        .starts_with(&CLOSE)
        .then_some((Tag { writer, seq }, end + 2))
}

fn number(bytes: &[u8]) -> Option<(u32, usize)> {
    let len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 10 {
        return None;
    }
    let text = std::str::from_utf8(&bytes[..len]).ok()?;
    Some((text.parse().ok()?, len))
}

#[cfg(test)]
mod tests {
    use yrs::{Text, Transact};

    use super::*;

    fn tags_in(bytes: &[u8]) -> Vec<Tag> {
        let mut tags = Vec::new();
        scan(bytes, |t| tags.push(t));
        tags
    }

    #[test]
    fn tags_survive_a_real_update() {
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        for seq in [0, 9, 10, 12345, u32::MAX / 2] {
            let tag = Tag { writer: 7, seq };
            let mut txn = doc.transact_mut();
            let len = text.len(&txn);
            text.insert(&mut txn, len, &tag.text());
            assert_eq!(text.len(&txn) - len, tag.utf16_len());
            let update = txn.encode_update_v1();
            assert_eq!(tags_in(&update), [tag]);
        }
    }

    #[test]
    fn malformed_tags_are_ignored() {
        for text in [
            "«1.»",
            "«.2»",
            "«1.2",
            "1.2»",
            "«a.2»",
            "«12345678901.1»",
            "«9999999999.1»",
            "«1,2»",
        ] {
            assert!(tags_in(text.as_bytes()).is_empty(), "{text}");
        }
        assert_eq!(
            tags_in("x«1.2»«3.4»y«5.6".as_bytes()),
            [Tag { writer: 1, seq: 2 }, Tag { writer: 3, seq: 4 }]
        );
    }
}
