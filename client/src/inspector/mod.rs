//! The frame inspector's model: every frame this tab sent and received,
//! classified and kept in a bounded history, plus the formatting of its
//! detail views. The connection task records frames; the `InspectorPanel`
//! component shows them.
//!
//! - [`record`]: the history and one frame's record (pure, tested).
//! - [`classify`]: a frame's kind and one-line summary (pure, tested).
//! - [`hex`], [`pretty`]: hex dumps and indented JSON (pure, tested).

mod classify;
mod hex;
mod pretty;
mod record;

pub(crate) use classify::Category;
pub(crate) use hex::hex_dump;
pub(crate) use pretty::pretty_json;
pub(crate) use record::{Body, Direction, Frame, FrameLog, FrameRecord, KEPT_BYTES, clock, size};
