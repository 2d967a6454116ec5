//! Editing traces (josephg/editing-traces, `sequential_traces/` format) and
//! their conversion to the UTF-16 offsets Tandem documents use.
//!
//! A trace is gzipped JSON: `{startContent, endContent, txns: [{patches:
//! [[position, numDeleted, inserted], …]}, …]}`, positions and counts in
//! Unicode code points (like `Array.splice` on code points). Tandem's yrs
//! documents count UTF-16 code units ([`tandem_shared::doc::new_doc`]), so
//! each patch is converted against the text as it stands at that point:
//! [`Utf16Converter`] keeps the text in chunks that cache their lengths in
//! both units, so a conversion walks chunks, not characters.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// One patch in code points, as the trace gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Patch {
    /// Where the edit starts, in code points.
    pub position: usize,
    /// How many code points it deletes there.
    pub deleted: usize,
    /// What it inserts there (after the deletion).
    pub inserted: String,
}

/// A whole trace, its transactions flattened into patches.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The text before the first patch.
    pub start_content: String,
    /// The text after the last patch: what every replica must end with.
    pub end_content: String,
    /// Every patch, in order.
    pub patches: Vec<Patch>,
}

#[derive(Deserialize)]
struct RawTrace {
    #[serde(rename = "startContent", default)]
    start_content: String,
    #[serde(rename = "endContent")]
    end_content: String,
    txns: Vec<RawTxn>,
}

#[derive(Deserialize)]
struct RawTxn {
    patches: Vec<(usize, usize, String)>,
}

impl Trace {
    /// Reads a `.json.gz` (or plain `.json`) trace file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read trace {}", path.display()))?;
        let json = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut text = String::new();
            flate2::read::GzDecoder::new(bytes.as_slice())
                .read_to_string(&mut text)
                .with_context(|| format!("cannot gunzip {}", path.display()))?;
            text
        } else {
            String::from_utf8(bytes).context("trace is not UTF-8")?
        };
        Self::parse(&json).with_context(|| format!("{} is not an editing trace", path.display()))
    }

    /// Parses the JSON text of a trace.
    pub fn parse(json: &str) -> anyhow::Result<Self> {
        let raw: RawTrace = serde_json::from_str(json)?;
        let patches = raw
            .txns
            .into_iter()
            .flat_map(|t| t.patches)
            .map(|(position, deleted, inserted)| Patch {
                position,
                deleted,
                inserted,
            })
            .collect();
        Ok(Self {
            start_content: raw.start_content,
            end_content: raw.end_content,
            patches,
        })
    }
}

/// One patch in UTF-16 code units, ready for `Text::remove_range`/`insert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utf16Edit {
    /// Where the edit starts.
    pub index: u32,
    /// How many code units to remove there.
    pub remove: u32,
    /// What to insert there.
    pub insert: String,
}

/// Why a patch does not fit the text it is applied to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "patch at code point {position} deleting {deleted} does not fit a text of {len} code points"
)]
pub struct OutOfRange {
    position: usize,
    deleted: usize,
    len: usize,
}

/// Target size of a chunk, in code points: small enough that locating a
/// position inside one is quick, big enough that there are few to walk.
const CHUNK: usize = 512;

#[derive(Debug, Clone, Default)]
struct Chunk {
    text: String,
    chars: usize,
    utf16: usize,
}

impl Chunk {
    fn new(text: String) -> Self {
        let chars = text.chars().count();
        let utf16 = text.encode_utf16().count();
        Self { text, chars, utf16 }
    }
}

/// Tracks the text through a trace and converts each patch to UTF-16.
#[derive(Debug, Clone)]
pub struct Utf16Converter {
    /// Never empty; only the first chunk may be empty (an empty text).
    chunks: Vec<Chunk>,
    chars: usize,
}

impl Utf16Converter {
    /// A converter starting from `text`.
    pub fn new(text: &str) -> Self {
        let mut chunks = Vec::new();
        let mut current = String::new();
        let mut count = 0;
        for c in text.chars() {
            current.push(c);
            count += 1;
            if count == CHUNK {
                chunks.push(Chunk::new(std::mem::take(&mut current)));
                count = 0;
            }
        }
        if count > 0 || chunks.is_empty() {
            chunks.push(Chunk::new(current));
        }
        let chars = chunks.iter().map(|c| c.chars).sum();
        Self { chunks, chars }
    }

    /// The text as it stands.
    pub fn text(&self) -> String {
        self.chunks.iter().map(|c| c.text.as_str()).collect()
    }

    /// Applies `patch` and returns it in UTF-16 units.
    pub fn apply(&mut self, patch: &Patch) -> Result<Utf16Edit, OutOfRange> {
        let out_of_range = || OutOfRange {
            position: patch.position,
            deleted: patch.deleted,
            len: self.chars,
        };
        if patch.position + patch.deleted > self.chars {
            return Err(out_of_range());
        }
        // Find the chunk holding the position; a position on a boundary
        // belongs to the earlier chunk (so appends go to its end).
        let mut before_chars = 0;
        let mut before_utf16 = 0;
        let mut at = 0;
        while before_chars + self.chunks[at].chars < patch.position {
            before_chars += self.chunks[at].chars;
            before_utf16 += self.chunks[at].utf16;
            at += 1;
        }
        let offset = patch.position - before_chars;
        let (byte, utf16_in) = locate(&self.chunks[at].text, offset);
        let index = before_utf16 + utf16_in;

        // Delete, possibly across chunks.
        let mut left = patch.deleted;
        let mut removed_utf16 = 0;
        let (mut chunk, mut start) = (at, byte);
        while left > 0 {
            let c = &mut self.chunks[chunk];
            let tail = &c.text[start..];
            let mut end = start;
            let mut taken = 0;
            for ch in tail.chars().take(left) {
                end += ch.len_utf8();
                removed_utf16 += ch.len_utf16();
                taken += 1;
            }
            if taken > 0 {
                let gone = c.text[start..end].encode_utf16().count();
                c.text.replace_range(start..end, "");
                c.chars -= taken;
                c.utf16 -= gone;
                left -= taken;
            }
            if left > 0 {
                chunk += 1;
                start = 0;
                if chunk == self.chunks.len() {
                    return Err(out_of_range());
                }
            }
        }
        self.chars -= patch.deleted;

        // Insert at the original position (its byte offset is unchanged).
        if !patch.inserted.is_empty() {
            let c = &mut self.chunks[at];
            c.text.insert_str(byte, &patch.inserted);
            let added = Chunk::new(patch.inserted.clone());
            c.chars += added.chars;
            c.utf16 += added.utf16;
            self.chars += added.chars;
            if c.chars > 2 * CHUNK {
                let split = locate(&c.text, c.chars / 2).0;
                let second = c.text.split_off(split);
                *c = Chunk::new(std::mem::take(&mut c.text));
                self.chunks.insert(at + 1, Chunk::new(second));
            }
        }
        if self.chunks.len() > 1 && self.chunks.iter().any(|c| c.chars == 0) {
            self.chunks.retain(|c| c.chars > 0);
            if self.chunks.is_empty() {
                self.chunks.push(Chunk::default());
            }
        }
        Ok(Utf16Edit {
            index: to_u32(index),
            remove: to_u32(removed_utf16),
            insert: patch.inserted.clone(),
        })
    }
}

/// Byte offset and UTF-16 offset of code point `offset` in `text`.
fn locate(text: &str, offset: usize) -> (usize, usize) {
    let mut utf16 = 0;
    for (seen, (byte, ch)) in text.char_indices().enumerate() {
        if seen == offset {
            return (byte, utf16);
        }
        utf16 += ch.len_utf16();
    }
    (text.len(), utf16)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Converts every patch of `trace` (the first `limit`, if given); also
/// returns the text they produce.
pub fn to_utf16(trace: &Trace, limit: Option<usize>) -> anyhow::Result<(Vec<Utf16Edit>, String)> {
    let mut converter = Utf16Converter::new(&trace.start_content);
    let count = limit.unwrap_or(usize::MAX).min(trace.patches.len());
    let mut edits = Vec::with_capacity(count);
    for (i, patch) in trace.patches.iter().take(count).enumerate() {
        let edit = converter
            .apply(patch)
            .with_context(|| format!("patch {i} of the trace"))?;
        if edit.remove > 0 || !edit.insert.is_empty() {
            edits.push(edit);
        }
    }
    Ok((edits, converter.text()))
}

#[cfg(test)]
mod tests {
    use yrs::{GetString, Text, Transact};

    use super::*;

    fn patch(position: usize, deleted: usize, inserted: &str) -> Patch {
        Patch {
            position,
            deleted,
            inserted: inserted.into(),
        }
    }

    #[test]
    fn parses_the_trace_format() {
        let json = r#"{"startContent":"","endContent":"hi!","txns":[
            {"time":"2020-01-01","patches":[[0,0,"hx"],[1,1,"i"]]},
            {"patches":[[2,0,"!"]]}]}"#;
        let trace = Trace::parse(json).expect("parses");
        assert_eq!(trace.patches.len(), 3);
        assert_eq!(trace.patches[1], patch(1, 1, "i"));
        let (edits, text) = to_utf16(&trace, None).expect("applies");
        assert_eq!(text, trace.end_content);
        assert_eq!(edits.len(), 3);
        assert!(
            Trace::parse(r#"{"txns":[]}"#).is_err(),
            "endContent is required"
        );
    }

    #[test]
    fn positions_become_utf16_offsets() {
        // "😀" is one code point and two UTF-16 units; "é" one and one.
        let mut conv = Utf16Converter::new("a😀b");
        let edit = conv.apply(&patch(2, 1, "é")).expect("fits");
        assert_eq!(
            edit,
            Utf16Edit {
                index: 3,
                remove: 1,
                insert: "é".into()
            }
        );
        let edit = conv.apply(&patch(1, 1, "")).expect("fits");
        assert_eq!((edit.index, edit.remove), (1, 2));
        assert_eq!(conv.text(), "aé");
        assert!(conv.apply(&patch(2, 1, "")).is_err());
        assert!(conv.apply(&patch(3, 0, "x")).is_err());
    }

    #[test]
    fn long_random_edits_match_a_yrs_utf16_doc() {
        // Many edits over a text far larger than a chunk, with astral
        // characters, checked against a String model and a yrs document.
        let alphabet: Vec<char> = "ab😀é\n🎉z".chars().collect();
        let mut rng = fastrand_like(7);
        let mut model: Vec<char> = Vec::new();
        let mut conv = Utf16Converter::new("");
        let doc = tandem_shared::doc::new_doc();
        let text = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        for step in 0..6000 {
            let len = model.len();
            let position = rng() % (len + 1);
            let deleted = if step % 3 == 0 {
                (rng() % 40).min(len - position)
            } else {
                0
            };
            let inserted: String = (0..rng() % 30)
                .map(|_| alphabet[rng() % alphabet.len()])
                .collect();
            let p = patch(position, deleted, &inserted);
            let edit = conv.apply(&p).expect("in range");
            model.splice(position..position + deleted, inserted.chars());
            let mut txn = doc.transact_mut();
            if edit.remove > 0 {
                text.remove_range(&mut txn, edit.index, edit.remove);
            }
            text.insert(&mut txn, edit.index, &edit.insert);
        }
        let expected: String = model.iter().collect();
        assert_eq!(conv.text(), expected);
        assert_eq!(text.get_string(&doc.transact()), expected);
        assert!(conv.chunks.len() > 10, "the text spans many chunks");
    }

    /// A tiny deterministic generator (xorshift) so the test needs no crate.
    fn fastrand_like(seed: u64) -> impl FnMut() -> usize {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 16) as usize
        }
    }
}
