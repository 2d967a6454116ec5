//! A structural check of v1 updates, run before yrs decodes one from outside.
//!
//! yrs trusts the counts and nesting in an update: a 4-byte update whose
//! leading count claims billions of entries makes it reserve gigabytes, and
//! deeply nested `Any` values or JSON strings recurse until the stack
//! overflows (which aborts the process: no `catch_unwind` can contain it).
//! [`check_update_v1`] walks the same grammar without allocating, and
//! refuses an update when
//!
//! - a count or length is larger than the bytes that remain (every element
//!   takes at least one byte, so such a count is a lie);
//! - `Any` values or JSON content nest deeper than [`MAX_DEPTH`];
//! - a content or type tag is unknown, or the content is a subdocument
//!   (Tandem documents have none);
//! - bytes follow the delete set.
//!
//! The grammar (lib0 v1, as yrs `Update::decode` reads it):
//!
//! ```text
//! update     = varuint(n_clients) client-blocks{n_clients} delete-set
//! client-blocks = varuint(n_blocks) varuint(client) varuint(clock) block{n_blocks}
//! block      = u8(0) varuint(len)                      GC
//!            | u8(10) varuint(len)                     skip
//!            | u8(info) [id if info&0x80] [id if info&0x40]
//!              [parent if info&0xC0 == 0] content(info&0x0F)
//! content    = as yrs's `ItemContent::decode`; numbers are read with yrs's own
//!              readers (u32 where it reads u32), so both walk the same bytes
//! parent     = varuint(1) string [string if info&0x20] | varuint(other) id [string if info&0x20]
//! id         = varuint(client) varuint(clock)
//! delete-set = varuint(n_clients) (varuint(client) varuint(n) (varuint(clock) varuint(len)){n})*
//! ```

use std::fmt;

use yrs::encoding::read::{Cursor, Read};

/// Deepest nesting of `Any` values or JSON content accepted.
pub const MAX_DEPTH: usize = 32;

/// Why an update was refused by [`check_update_v1`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// The update ends before its structure does.
    Truncated,
    /// A count or length claims more entries than bytes remain.
    CountTooLarge,
    /// Values nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// An unknown block content or type tag.
    UnknownTag(u8),
    /// A subdocument: Tandem documents do not contain any.
    Subdocument,
    /// A string is not UTF-8.
    BadUtf8,
    /// Bytes follow the end of the update.
    TrailingBytes,
    /// A block of length zero.
    EmptyBlock,
    /// A clock, or a clock plus a length, past `u32::MAX`.
    ClockOverflow,
    /// A client id that does not fit in 53 bits (Yjs ids are JavaScript-safe
    /// integers; yrs asserts on larger ones).
    ClientIdTooLarge,
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("update ends inside its structure"),
            Self::CountTooLarge => f.write_str("a count is larger than the update"),
            Self::TooDeep => write!(f, "values nest deeper than {MAX_DEPTH} levels"),
            Self::UnknownTag(tag) => write!(f, "unknown tag {tag}"),
            Self::Subdocument => f.write_str("subdocuments are not supported"),
            Self::BadUtf8 => f.write_str("a string is not UTF-8"),
            Self::TrailingBytes => f.write_str("bytes after the end of the update"),
            Self::EmptyBlock => f.write_str("a block of length zero"),
            Self::ClientIdTooLarge => f.write_str("a client id is larger than 2^53"),
            Self::ClockOverflow => f.write_str("a clock runs past 2^32"),
        }
    }
}

impl std::error::Error for GuardError {}

/// What an update holds, counted while checking it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateShape {
    /// Blocks (items, GC and skips) in the update.
    pub blocks: u64,
    /// Delete-set ranges in the update.
    pub delete_ranges: u64,
    /// Skip blocks (placeholders for ranges the update does not carry).
    pub skips: u64,
}

/// Where one block of an update goes, as [`block_heads_v1`] reads it (not
/// what it holds): enough to tell which root type an item joins, which the
/// comment right's check needs (`crate::comments::check_comment_update`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHead {
    /// Its first id: client and clock.
    pub id: yrs::ID,
    /// Its length in clock units.
    pub len: u32,
    /// What kind of block, with an item's placement.
    pub kind: HeadKind,
}

/// The kinds of block an update carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadKind {
    /// An item: it joins the parent of its left or right neighbour, or the
    /// parent it names when it has neither.
    Item {
        /// The item to its left when it was made.
        origin: Option<yrs::ID>,
        /// The item to its right when it was made.
        right_origin: Option<yrs::ID>,
        /// Its parent, written only when it has no origin.
        parent: Option<HeadParent>,
    },
    /// A garbage-collected range: no content, no parent.
    Gc,
    /// A placeholder for a range the update does not carry.
    Skip,
}

/// The parent an item names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadParent {
    /// A root type, by name.
    Root(String),
    /// A type held by the item with this id.
    Nested(yrs::ID),
}

/// Checks `update` (v1 encoding) against the grammar above; see the module doc.
pub fn check_update_v1(update: &[u8]) -> Result<UpdateShape, GuardError> {
    let mut walker = Walker {
        cursor: Cursor::new(update),
        shape: UpdateShape::default(),
        heads: None,
    };
    walker.update()?;
    if walker.cursor.has_content() {
        return Err(GuardError::TrailingBytes);
    }
    Ok(walker.shape)
}

/// Checks `update` (v1 encoding) as [`check_update_v1`] does and returns
/// where each of its blocks goes, in the order it holds them.
pub fn block_heads_v1(update: &[u8]) -> Result<Vec<BlockHead>, GuardError> {
    let mut walker = Walker {
        cursor: Cursor::new(update),
        shape: UpdateShape::default(),
        heads: Some(Vec::new()),
    };
    walker.update()?;
    if walker.cursor.has_content() {
        return Err(GuardError::TrailingBytes);
    }
    Ok(walker.heads.unwrap_or_default())
}

/// Checks a v1 state vector: a count of (client, clock) pairs that fits the bytes.
pub fn check_state_vector_v1(state_vector: &[u8]) -> Result<(), GuardError> {
    let mut walker = Walker {
        cursor: Cursor::new(state_vector),
        shape: UpdateShape::default(),
        heads: None,
    };
    let entries = walker.count(2)?;
    for _ in 0..entries {
        walker.client()?;
        walker.u32()?;
    }
    if walker.cursor.has_content() {
        return Err(GuardError::TrailingBytes);
    }
    Ok(())
}

struct Walker<'a> {
    cursor: Cursor<'a>,
    shape: UpdateShape,
    /// The blocks' placements, when the caller asked for them.
    heads: Option<Vec<BlockHead>>,
}

const HAS_ORIGIN: u8 = 0x80;
const HAS_RIGHT_ORIGIN: u8 = 0x40;
const HAS_PARENT_SUB: u8 = 0x20;

impl Walker<'_> {
    fn remaining(&self) -> usize {
        self.cursor.buf.len() - self.cursor.next
    }

    // Every number is read exactly as yrs reads it (`u32` where yrs wants a
    // `u32`, with its wrapping of over-long varints), so the guard walks the
    // same structure yrs will.

    fn u64(&mut self) -> Result<u64, GuardError> {
        self.cursor
            .read_var::<u64>()
            .map_err(|_| GuardError::Truncated)
    }

    fn u32(&mut self) -> Result<u64, GuardError> {
        self.cursor
            .read_var::<u32>()
            .map(u64::from)
            .map_err(|_| GuardError::Truncated)
    }

    /// A signed varint as lib0 writes it. yrs shifts by 7 more bits per byte
    /// and overflows past 64 (a panic with overflow checks): refuse those.
    fn i64(&mut self) -> Result<(), GuardError> {
        let mut byte = self.u8()?;
        let mut shift = 6;
        while byte & 0x80 != 0 {
            if shift >= 64 {
                return Err(GuardError::CountTooLarge);
            }
            byte = self.u8()?;
            shift += 7;
        }
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, GuardError> {
        self.cursor.read_u8().map_err(|_| GuardError::Truncated)
    }

    /// A count (a `u32` to yrs) of elements that each take at least `min_bytes`.
    fn count(&mut self, min_bytes: usize) -> Result<u64, GuardError> {
        let n = self.u32()?;
        self.bounded(n, min_bytes)
    }

    /// The same for counts yrs reads as `usize` (`Any` arrays and maps).
    fn count64(&mut self, min_bytes: usize) -> Result<u64, GuardError> {
        let n = self.u64()?;
        self.bounded(n, min_bytes)
    }

    fn bounded(&self, n: u64, min_bytes: usize) -> Result<u64, GuardError> {
        if n > (self.remaining() / min_bytes.max(1)) as u64 {
            return Err(GuardError::CountTooLarge);
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<&[u8], GuardError> {
        let len = self.u32()?;
        if len > self.remaining() as u64 {
            return Err(GuardError::CountTooLarge);
        }
        self.cursor
            .read_exact(len as usize)
            .map_err(|_| GuardError::Truncated)
    }

    fn string(&mut self) -> Result<&str, GuardError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| GuardError::BadUtf8)
    }

    fn json(&mut self) -> Result<(), GuardError> {
        check_json_depth(self.string()?)
    }

    fn client(&mut self) -> Result<u64, GuardError> {
        let client = self.u64()?;
        if client >= 1 << 53 {
            return Err(GuardError::ClientIdTooLarge);
        }
        Ok(client)
    }

    fn id(&mut self) -> Result<yrs::ID, GuardError> {
        let client = self.client()?;
        // A u32 as yrs reads it, so the cast keeps every value.
        let clock = self.u32()? as u32;
        Ok(yrs::ID::new(yrs::ClientID::new(client), clock))
    }

    fn update(&mut self) -> Result<(), GuardError> {
        // Each client section takes at least 3 bytes (count, client, clock).
        let clients = self.count(3)?;
        for _ in 0..clients {
            let blocks = self.count(2)?;
            let client = yrs::ClientID::new(self.client()?);
            let mut clock = self.u32()?;
            for _ in 0..blocks {
                // The clock is at most u32::MAX here (checked below).
                let id = yrs::ID::new(client, clock as u32);
                // yrs adds each block's length to the clock in a u32.
                clock = clock.saturating_add(self.block(id)?);
                if clock > u64::from(u32::MAX) {
                    return Err(GuardError::ClockOverflow);
                }
                self.shape.blocks += 1;
            }
        }
        self.delete_set()
    }

    /// Checks one block (its first id is `id`) and returns its length in
    /// clock units.
    fn block(&mut self, id: yrs::ID) -> Result<u64, GuardError> {
        let info = self.u8()?;
        match info {
            0 | 10 => {
                let len = self.u32()?;
                if len == 0 {
                    return Err(GuardError::EmptyBlock);
                }
                if info == 10 {
                    self.shape.skips += 1;
                }
                let kind = if info == 10 {
                    HeadKind::Skip
                } else {
                    HeadKind::Gc
                };
                self.record(id, len, kind);
                return Ok(len);
            }
            _ => {}
        }
        let origin = (info & HAS_ORIGIN != 0).then(|| self.id()).transpose()?;
        let right_origin = (info & HAS_RIGHT_ORIGIN != 0)
            .then(|| self.id())
            .transpose()?;
        let mut parent = None;
        if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
            parent = Some(if self.u32()? == 1 {
                HeadParent::Root(self.string()?.to_owned())
            } else {
                HeadParent::Nested(self.id()?)
            });
            if info & HAS_PARENT_SUB != 0 {
                self.string()?;
            }
        }
        let len = self.content(info & 0x0F)?;
        let kind = HeadKind::Item {
            origin,
            right_origin,
            parent,
        };
        self.record(id, len, kind);
        Ok(len)
    }

    /// Keeps a block's placement when the caller asked for them.
    fn record(&mut self, id: yrs::ID, len: u64, kind: HeadKind) {
        if let Some(heads) = &mut self.heads {
            heads.push(BlockHead {
                id,
                len: u32::try_from(len).unwrap_or(u32::MAX),
                kind,
            });
        }
    }

    /// Checks a block's content and returns its length in clock units (as
    /// yrs counts it: UTF-16 code units for strings, entries for lists).
    fn content(&mut self, tag: u8) -> Result<u64, GuardError> {
        let len = match tag {
            1 => self.u32()?, // deleted length
            2 => {
                // yrs reads `count + 1` strings here (as Yjs writes them).
                let count = self.count(1)?;
                for _ in 0..=count {
                    self.json()?;
                }
                count + 1
            }
            3 => {
                self.bytes()?;
                1
            }
            4 => self.string()?.encode_utf16().count() as u64,
            5 => {
                self.json()?;
                1
            }
            6 => {
                self.string()?;
                self.json()?;
                1
            }
            7 => {
                // As yrs's TypeRef::decode: only an XML element carries a name.
                match self.u8()? {
                    3 => {
                        self.string()?;
                    }
                    0 | 1 | 2 | 4 | 5 | 6 | 15 => {}
                    other => return Err(GuardError::UnknownTag(other)),
                }
                1
            }
            8 => {
                let count = self.count(1)?;
                for _ in 0..count {
                    self.any(0)?;
                }
                count
            }
            9 => return Err(GuardError::Subdocument),
            other => return Err(GuardError::UnknownTag(other)),
        };
        Ok(len)
    }

    fn any(&mut self, depth: usize) -> Result<(), GuardError> {
        if depth > MAX_DEPTH {
            return Err(GuardError::TooDeep);
        }
        match self.u8()? {
            116 => {
                self.bytes()?;
            }
            117 => {
                let count = self.count64(1)?;
                for _ in 0..count {
                    self.any(depth + 1)?;
                }
            }
            118 => {
                // Each entry: a key (at least its length byte) and a value.
                let count = self.count64(2)?;
                for _ in 0..count {
                    self.string()?;
                    self.any(depth + 1)?;
                }
            }
            119 => {
                self.string()?;
            }
            120 | 121 | 126 | 127 => {}
            122 | 123 => {
                self.cursor
                    .read_exact(8)
                    .map_err(|_| GuardError::Truncated)?;
            }
            124 => {
                self.cursor
                    .read_exact(4)
                    .map_err(|_| GuardError::Truncated)?;
            }
            125 => self.i64()?,
            other => return Err(GuardError::UnknownTag(other)),
        }
        Ok(())
    }

    fn delete_set(&mut self) -> Result<(), GuardError> {
        let clients = self.count(2)?;
        for _ in 0..clients {
            self.client()?;
            let ranges = self.count(2)?;
            for _ in 0..ranges {
                let clock = self.u32()?;
                let len = self.u32()?;
                // yrs computes `clock + len` in a u32.
                if clock.saturating_add(len) > u64::from(u32::MAX) {
                    return Err(GuardError::ClockOverflow);
                }
                self.shape.delete_ranges += 1;
            }
        }
        Ok(())
    }
}

/// Refuses JSON text whose arrays and objects nest deeper than [`MAX_DEPTH`]
/// (brackets inside strings do not count).
fn check_json_depth(json: &str) -> Result<(), GuardError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in json.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(GuardError::TooDeep);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::updates::encoder::Encode;
    use yrs::{Any, Array, Doc, Map, ReadTxn, StateVector, Text, Transact, Update};

    use super::*;

    fn real_updates() -> Vec<Vec<u8>> {
        let doc = crate::doc::new_doc();
        let text = doc.get_or_insert_text("content");
        let map = doc.get_or_insert_map("meta");
        let array = doc.get_or_insert_array("list");
        let mut updates = Vec::new();
        let mut edit = |f: &dyn Fn(&mut yrs::TransactionMut)| {
            let mut txn = doc.transact_mut();
            f(&mut txn);
            updates.push(txn.encode_update_v1());
        };
        edit(&|txn| text.insert(txn, 0, "hello 👋 world"));
        edit(&|txn| text.remove_range(txn, 2, 4));
        edit(&|txn| {
            map.insert(
                txn,
                "nested",
                Any::from(vec![Any::from(1.5), Any::from("x"), Any::Null]),
            );
        });
        edit(&|txn| {
            array.insert(txn, 0, Any::Bool(true));
        });
        edit(&|txn| {
            let attrs = std::collections::HashMap::from([("bold".into(), Any::Bool(true))]);
            text.format(txn, 0, 3, attrs);
        });
        edit(&|txn| {
            text.insert_embed(
                txn,
                1,
                Any::from(std::collections::HashMap::from([(
                    "image".to_string(),
                    Any::from("a.png"),
                )])),
            );
        });
        updates.push(
            doc.transact()
                .encode_state_as_update_v1(&StateVector::default()),
        );
        updates.push(Vec::from([0, 0]));
        updates
    }

    #[test]
    fn real_updates_pass() {
        for update in real_updates() {
            assert!(check_update_v1(&update).is_ok(), "{update:?}");
            assert!(Update::decode_v1(&update).is_ok());
        }
    }

    #[test]
    fn the_empty_update_has_no_blocks() {
        assert_eq!(check_update_v1(&[0, 0]), Ok(UpdateShape::default()));
    }

    #[test]
    fn huge_counts_are_refused_before_any_allocation() {
        // One client claiming 2^32-1 blocks, in a handful of bytes.
        assert_eq!(
            check_update_v1(&[1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0]),
            Err(GuardError::CountTooLarge)
        );
        assert_eq!(
            check_update_v1(&[0xff, 0xff, 0xff, 0x7f]),
            Err(GuardError::CountTooLarge)
        );
        // A delete set claiming millions of clients.
        assert_eq!(
            check_update_v1(&[0, 0xff, 0xff, 0x7f]),
            Err(GuardError::CountTooLarge)
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        // One client (7, clock 0) with one block: info 8 (Any content, no
        // origins), parent = root type "root", one value: arrays nested 10,000 deep.
        let mut update = vec![1, 1, 7, 0, 8, 1, 4, b'r', b'o', b'o', b't', 1];
        for _ in 0..10_000 {
            update.extend([117, 1]);
        }
        update.push(126);
        update.extend([0]); // empty delete set
        assert_eq!(check_update_v1(&update), Err(GuardError::TooDeep));

        assert_eq!(check_json_depth(&"[".repeat(33)), Err(GuardError::TooDeep));
        assert_eq!(
            check_json_depth(&format!("\"{}\"", "[".repeat(100))),
            Ok(())
        );
        assert_eq!(check_json_depth(&"[".repeat(32)), Ok(()));
    }

    #[test]
    fn garbage_and_truncation_are_refused() {
        let update = real_updates().remove(0);
        for cut in 0..update.len() {
            assert!(
                check_update_v1(&update[..cut]).is_err(),
                "prefix of {cut} bytes"
            );
        }
        let mut trailing = update.clone();
        trailing.push(0);
        assert_eq!(check_update_v1(&trailing), Err(GuardError::TrailingBytes));
    }

    #[test]
    fn state_vectors_are_checked() {
        let doc = crate::doc::new_doc();
        let text = doc.get_or_insert_text("content");
        text.insert(&mut doc.transact_mut(), 0, "x");
        let sv = doc.transact().state_vector().encode_v1();
        assert_eq!(check_state_vector_v1(&sv), Ok(()));
        assert_eq!(check_state_vector_v1(&[0]), Ok(()));
        assert_eq!(
            check_state_vector_v1(&[0xff, 0xff, 0xff, 0x0f]),
            Err(GuardError::CountTooLarge)
        );
        assert_eq!(
            check_state_vector_v1(&[1, 5, 0x80]),
            Err(GuardError::Truncated)
        );
        assert_eq!(
            check_state_vector_v1(&[0, 0]),
            Err(GuardError::TrailingBytes)
        );
    }

    #[test]
    fn client_ids_past_53_bits_are_refused() {
        // Found by fuzzing (fuzz/regressions/update/client-id-53-bits):
        // yrs asserts inside ClientID::new while decoding.
        let update = include_bytes!("../../fuzz/regressions/update/client-id-53-bits");
        assert_eq!(check_update_v1(update), Err(GuardError::ClientIdTooLarge));
        assert!(
            std::panic::catch_unwind(|| Update::decode_v1(update)).is_err(),
            "still a yrs bug"
        );
        let huge_sv = [1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1];
        assert_eq!(
            check_state_vector_v1(&huge_sv),
            Err(GuardError::ClientIdTooLarge)
        );
    }

    #[test]
    fn clocks_past_32_bits_are_refused() {
        // Found by fuzzing (fuzz/regressions/update/delete-range-overflow):
        // yrs adds a delete range's clock and length in a u32.
        let update = include_bytes!("../../fuzz/regressions/update/delete-range-overflow");
        assert_eq!(check_update_v1(update), Err(GuardError::ClockOverflow));
        // A block list whose lengths run the clock past u32::MAX.
        let update = [1, 1, 7, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 5, 0];
        assert_eq!(check_update_v1(&update), Err(GuardError::ClockOverflow));
    }

    #[test]
    fn subdocuments_are_refused() {
        let doc = Doc::new();
        let map = doc.get_or_insert_map("docs");
        let mut txn = doc.transact_mut();
        map.insert(&mut txn, "sub", Doc::new());
        let update = txn.encode_update_v1();
        assert_eq!(check_update_v1(&update), Err(GuardError::Subdocument));
    }
}
