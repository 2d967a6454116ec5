//! Authors' tints in the page: each run of one author's text wrapped in a
//! `<span class="au" data-au="{author}">`, in the editor's highlight layer
//! (whose characters are the body's, one for one) and in the preview (whose
//! characters are laid against the block's source, `super::align`).
//!
//! A container holds one element per Markdown block (`data-block`, see
//! `crate::markdown::reconcile`). Each tinted block carries a signature of
//! the runs it was tinted with (`data-tint`): painting redoes only the
//! blocks whose runs changed or whose element is new, so a keystroke
//! re-tints the one block it changed. The colours are custom properties
//! on the container (`--au{n}l`, `--au{n}d`: light and dark tints of author
//! `n`), so a new colour or name repaints no block.

use std::collections::HashMap;

use tandem_shared::authors::Run;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, Node};

use super::align::align;
use super::state::Shown;

/// The block elements of `container` (`data-block`, the id), in order.
fn block_children(container: &Element) -> Vec<(u64, Element)> {
    let children = container.children();
    (0..children.length())
        .filter_map(|i| {
            let child = children.item(i)?;
            let id = child.get_attribute("data-block")?.parse().ok()?;
            Some((id, child))
        })
        .collect()
}

/// One block as the runs see it.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// Its id (`data-block`).
    pub(crate) id: u64,
    /// Its first UTF-16 unit in the body.
    pub(crate) start: u32,
    /// Its length in units.
    pub(crate) len: u32,
    /// Its Markdown source, when its element shows something else than
    /// the source (the preview); `None` when its text nodes are the source.
    pub(crate) source: Option<Vec<u16>>,
}

/// Class of a tinted stretch.
const TINTED: &str = "au";

/// Sets the colours of `shown` on `container`.
pub(crate) fn set_colors(container: &HtmlElement, shown: &[Shown]) {
    let style = container.style();
    for (i, author) in shown.iter().enumerate() {
        let _ = style.set_property(&format!("--au{i}l"), &author.tint_light);
        let _ = style.set_property(&format!("--au{i}d"), &author.tint_dark);
        let _ = style.set_property(&format!("--au{i}c"), &author.color);
    }
}

/// Tints every block of `container` whose runs changed since it was last
/// tinted (or that is new). Returns how many blocks it tinted.
pub(crate) fn paint(container: &Element, blocks: &[Block], runs: &[Run]) -> usize {
    let Some(document) = container.owner_document() else {
        return 0;
    };
    let by_id: HashMap<u64, &Block> = blocks.iter().map(|b| (b.id, b)).collect();
    let mut painted = 0;
    for (id, element) in block_children(container) {
        let Some(block) = by_id.get(&id) else {
            continue;
        };
        let relative = runs_in(runs, block.start, block.start + block.len);
        let signature = signature(&relative);
        if element.get_attribute("data-tint").as_deref() == Some(signature.as_str()) {
            continue;
        }
        untint(&element);
        tint_block(&document, &element, block, &relative);
        let _ = element.set_attribute("data-tint", &signature);
        painted += 1;
    }
    painted
}

/// Removes every tint from `container`.
pub(crate) fn clear(container: &Element) {
    for (_, element) in block_children(container) {
        if element.has_attribute("data-tint") {
            untint(&element);
            let _ = element.remove_attribute("data-tint");
        }
    }
}

/// The runs overlapping `from..to`, cut to it and made relative to `from`.
fn runs_in(runs: &[Run], from: u32, to: u32) -> Vec<Run> {
    let first = runs.partition_point(|r| r.to <= from);
    runs[first..]
        .iter()
        .take_while(|r| r.from < to)
        .map(|r| Run {
            from: r.from.max(from) - from,
            to: r.to.min(to) - from,
            author: r.author,
        })
        .collect()
}

/// A short, stable text for a block's runs (FNV-1a over them).
fn signature(runs: &[Run]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |value: u64| {
        for byte in value.to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for run in runs {
        eat(u64::from(run.from));
        eat(u64::from(run.to));
        eat(run.author.map_or(u64::MAX, |a| a as u64));
    }
    format!("{hash:x}")
}

/// Undoes a block's tint: each stretch's text back in place, merged.
fn untint(element: &Element) {
    let Ok(spans) = element.query_selector_all(&format!("span.{TINTED}")) else {
        return;
    };
    for i in 0..spans.length() {
        let Some(span) = spans.item(i) else {
            continue;
        };
        let Some(parent) = span.parent_node() else {
            continue;
        };
        while let Some(child) = span.first_child() {
            let _ = parent.insert_before(&child, Some(&span));
        }
        let _ = parent.remove_child(&span);
    }
    element.normalize();
}

/// The text nodes under `node`, in order.
fn text_nodes(node: &Node, out: &mut Vec<web_sys::Text>) {
    let mut child = node.first_child();
    while let Some(current) = child {
        child = current.next_sibling();
        match current.dyn_into::<web_sys::Text>() {
            Ok(text) => out.push(text),
            Err(other) => text_nodes(&other, out),
        }
    }
}

/// Wraps the stretches of `element`'s text that `runs` (relative to the
/// block) attribute.
fn tint_block(document: &Document, element: &Element, block: &Block, runs: &[Run]) {
    let mut texts = Vec::new();
    text_nodes(element, &mut texts);
    let contents: Vec<Vec<u16>> = texts
        .iter()
        .map(|t| t.data().encode_utf16().collect())
        .collect();
    match &block.source {
        None => {
            let mut at = 0u32;
            for (text, content) in texts.iter().zip(&contents) {
                let len = content.len() as u32;
                let parts = parts_of(runs, len, |unit| Some(at + unit));
                wrap(document, text, content, &parts);
                at += len;
            }
        }
        Some(source) => {
            for ((text, content), stretches) in
                texts.iter().zip(&contents).zip(align(source, &contents))
            {
                let source_of = |unit: u32| {
                    stretches
                        .iter()
                        .find(|s| s.from <= unit && unit < s.to)
                        .map(|s| s.source + (unit - s.from))
                };
                let parts = parts_of(runs, content.len() as u32, source_of);
                wrap(document, text, content, &parts);
            }
        }
    }
}

/// A text node's units `0..len` as parts `(from, to, author)`: `author` is
/// `None` for units left as they are (no source, or no run there) and
/// `Some(run's author)` otherwise. `source_of` gives a unit's offset in the
/// block.
fn parts_of(
    runs: &[Run],
    len: u32,
    source_of: impl Fn(u32) -> Option<u32>,
) -> Vec<(u32, u32, Option<Option<usize>>)> {
    let mut parts: Vec<(u32, u32, Option<Option<usize>>)> = Vec::new();
    for unit in 0..len {
        let author = source_of(unit).and_then(|offset| {
            let i = runs.partition_point(|r| r.to <= offset);
            runs.get(i).filter(|r| r.from <= offset).map(|r| r.author)
        });
        match parts.last_mut() {
            Some(last) if last.2 == author && last.1 == unit => last.1 += 1,
            _ => parts.push((unit, unit + 1, author)),
        }
    }
    parts
}

/// Replaces `text` (whose units are `content`) by its parts, each tinted
/// one in a span; a node that is one part is wrapped whole.
fn wrap(
    document: &Document,
    text: &web_sys::Text,
    content: &[u16],
    parts: &[(u32, u32, Option<Option<usize>>)],
) {
    let Some(parent) = text.parent_node() else {
        return;
    };
    if let [(_, _, Some(author))] = parts {
        if let Some(span) = stretch(document, *author) {
            let _ = parent.insert_before(&span, Some(text));
            let _ = span.append_child(text);
        }
        return;
    }
    if parts.iter().all(|(_, _, author)| author.is_none()) {
        return;
    }
    for (from, to, author) in parts {
        let piece = String::from_utf16_lossy(&content[*from as usize..*to as usize]);
        let node: Node = document.create_text_node(&piece).into();
        let node = match author.and_then(|author| stretch(document, author)) {
            Some(span) => {
                let _ = span.append_child(&node);
                span.into()
            }
            None => node,
        };
        let _ = parent.insert_before(&node, Some(text));
    }
    let _ = parent.remove_child(text);
}

/// An empty stretch for `author` (`None`: text nobody is recorded for).
fn stretch(document: &Document, author: Option<usize>) -> Option<Element> {
    let span = document.create_element("span").ok()?;
    span.set_class_name(TINTED);
    match author {
        Some(i) => {
            let _ = span.set_attribute("data-au", &i.to_string());
            let _ = span.set_attribute("style", &format!("--l:var(--au{i}l);--d:var(--au{i}d)"));
        }
        None => {
            let _ = span.set_attribute("data-au", "none");
        }
    }
    Some(span)
}
