//! A Markdown document as a list of top-level blocks, kept up to date edit
//! by edit without parsing the whole text again.
//!
//! A block is the lines from the start of one top-level element (a
//! paragraph, heading, list, quote, table, code block …) to the start of the
//! next, blank lines included. At a block's start no container is open, so
//! everything from there on parses the same whatever came before; only link
//! and footnote definitions reach across blocks, and those go through
//! [`Refs`] (see [`super::refs`]).
//!
//! [`MarkdownDoc::update`] takes the new text, finds the edited bytes by
//! common prefix and suffix, and re-parses from the start of the block
//! *before* the edited one (an edited first line may join the block above:
//! a setext underline, a lazy continuation, an indented list item) over a
//! window of the blocks after it. As soon as that parse starts a block where
//! an old block started after the edit, the remaining old blocks are kept
//! (shifted); otherwise the window grows. So an edit re-parses a few blocks,
//! and an opened code fence re-parses to the end of the text, as it must.
//! A test checks the result against a full parse for thousands of random
//! edits.
//!
//! Each block caches its highlighted source and its HTML, computed on first
//! use, and has an id that changes whenever either would: the editor's layer
//! and the preview keep one element per id and replace only new ids.

use std::collections::HashSet;
use std::ops::Range;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::highlight::highlight_html;
use super::offsets::{ceil_boundary, floor_boundary, line_start, utf16_len};
use super::refs::{LinkTarget, Refs, label_key};
use super::render::{RenderedBlock, render_block, slug};

/// A heading of the document, for the outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// Its text without markup.
    pub text: String,
    /// The id its element has in the rendering (without `#`).
    pub id: String,
}

/// What a block defines for the rest of the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Defines {
    /// Link reference definitions, in order.
    links: Vec<(String, LinkTarget)>,
    /// Footnote labels it defines.
    footnotes: Vec<String>,
}

/// One top-level block.
#[derive(Debug, Clone)]
pub struct Block {
    /// Unique within the document; a new id means new content or rendering.
    pub id: u64,
    /// Its bytes in the text.
    pub range: Range<usize>,
    /// Its length in UTF-16 units.
    pub utf16_len: usize,
    /// Its heading, if the block is one.
    pub heading: Option<Heading>,
    /// What it defines for other blocks.
    defines: Defines,
    /// The labels its last rendering or highlighting looked up.
    asked: Vec<String>,
    /// Highlighted source, once asked for.
    highlight: Option<String>,
    /// Rendered HTML, once asked for.
    html: Option<String>,
}

/// The document: its text, its blocks, its definitions.
#[derive(Debug, Clone)]
pub struct MarkdownDoc {
    /// The current text.
    text: String,
    /// Its blocks, in order, covering it exactly.
    blocks: Vec<Block>,
    /// Everything the blocks define.
    refs: Refs,
    /// The next block id.
    next_id: u64,
}

/// Blocks after the edited one parsed at first, doubled while no old block
/// start is met again.
const FIRST_WINDOW: usize = 2;

impl MarkdownDoc {
    /// The document of `text`.
    pub fn new(text: &str) -> Self {
        let mut doc = Self {
            text: String::new(),
            blocks: Vec::new(),
            refs: Refs::default(),
            next_id: 1,
        };
        doc.replace_all(text);
        doc
    }

    /// The current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The headings of the document, with the index of their block.
    pub fn headings(&self) -> impl Iterator<Item = (usize, &Heading)> {
        self.blocks
            .iter()
            .enumerate()
            .filter_map(|(i, b)| Some((i, b.heading.as_ref()?)))
    }

    /// The index of the block holding byte `at` (the last block for the end).
    pub fn block_at(&self, at: usize) -> usize {
        self.blocks
            .partition_point(|b| b.range.start <= at)
            .saturating_sub(1)
    }

    /// Where block `index` starts, in UTF-16 units.
    pub fn utf16_start(&self, index: usize) -> usize {
        self.blocks[..index.min(self.blocks.len())]
            .iter()
            .map(|b| b.utf16_len)
            .sum()
    }

    /// The highlighted source of block `index` (see [`super::highlight`]).
    pub fn highlight(&mut self, index: usize) -> &str {
        let Self {
            text, blocks, refs, ..
        } = self;
        let block = &mut blocks[index];
        if block.highlight.is_none() {
            let mut asked = Vec::new();
            block.highlight = Some(highlight_html(&text[block.range.clone()], refs, &mut asked));
            remember(&mut block.asked, asked);
        }
        block.highlight.as_deref().unwrap_or_default()
    }

    /// The HTML of block `index` (see [`super::render`]).
    pub fn html(&mut self, index: usize) -> &str {
        let Self {
            text, blocks, refs, ..
        } = self;
        let block = &mut blocks[index];
        if block.html.is_none() {
            let RenderedBlock { html, asked } = render_block(&text[block.range.clone()], refs);
            block.html = Some(html);
            remember(&mut block.asked, asked);
        }
        block.html.as_deref().unwrap_or_default()
    }

    /// The whole rendering: every block's HTML in order.
    pub fn render_all(&mut self) -> String {
        let mut out = String::new();
        for i in 0..self.blocks.len() {
            out.push_str(self.html(i));
        }
        out
    }

    /// Brings the document to `new_text`, re-parsing only around the edit.
    /// Returns whether any block changed.
    pub fn update(&mut self, new_text: &str) -> bool {
        if new_text == self.text {
            return false;
        }
        let old = std::mem::take(&mut self.text);
        let (edit_start, old_end, new_end) = edited(&old, new_text);
        self.text = new_text.to_owned();
        if self.blocks.is_empty() || new_text.is_empty() {
            self.replace_all(new_text);
            return true;
        }
        let delta = new_text.len() as isize - old.len() as isize;
        let edited = self.block_at(edit_start);
        let first = edited.saturating_sub(1);
        let restart = self.blocks[first].range.start;
        // Old blocks starting at or after the edit's end, at their new place.
        let kept_from = self.blocks.partition_point(|b| b.range.start < old_end);
        let mut window = FIRST_WINDOW;
        let (starts, resume) = loop {
            let window_end_block = (kept_from + window).min(self.blocks.len());
            let window_end = match self.blocks.get(window_end_block) {
                Some(block) => shift(block.range.start, delta),
                None => new_text.len(),
            };
            let starts: Vec<usize> = block_starts(&new_text[restart..window_end])
                .into_iter()
                .map(|s| s + restart)
                .collect();
            // The first start past the edit where an old block started.
            let resume = starts.iter().enumerate().find_map(|(i, &start)| {
                if start < new_end || start >= window_end || start == restart {
                    return None;
                }
                let old_start = (start as isize - delta) as usize;
                let j = self.blocks[kept_from..]
                    .binary_search_by_key(&old_start, |b| b.range.start)
                    .ok()?;
                Some((i, kept_from + j))
            });
            if resume.is_some() || window_end == new_text.len() {
                break (starts, resume);
            }
            window *= 2;
        };
        let (new_starts, resumed_at) = match resume {
            Some((i, j)) => (&starts[..i], j),
            None => (&starts[..], self.blocks.len()),
        };
        let end_of_new = resume.map_or(new_text.len(), |(i, _)| starts[i]);
        let mut replacement = Vec::with_capacity(new_starts.len());
        for (k, &start) in new_starts.iter().enumerate() {
            let end = new_starts.get(k + 1).copied().unwrap_or(end_of_new);
            // The block before the edited one, parsed again to see whether
            // the edit joined it: unchanged, it keeps its id and caches.
            let before = &self.blocks[first];
            if k == 0 && first < edited && before.range == (start..end) {
                replacement.push(before.clone());
                continue;
            }
            replacement.push(self.new_block(start..end));
        }
        let tail: Vec<Block> = self
            .blocks
            .drain(resumed_at..)
            .map(|mut block| {
                block.range = shift(block.range.start, delta)..shift(block.range.end, delta);
                block
            })
            .collect();
        self.blocks.truncate(first);
        self.blocks.extend(replacement);
        self.blocks.extend(tail);
        self.refresh_refs();
        true
    }

    /// Parses all of `text` again.
    fn replace_all(&mut self, text: &str) {
        self.text = text.to_owned();
        let starts = block_starts(text);
        self.blocks = Vec::with_capacity(starts.len());
        for (k, &start) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(text.len());
            let block = self.new_block(start..end);
            self.blocks.push(block);
        }
        self.refresh_refs();
    }

    fn new_block(&mut self, range: Range<usize>) -> Block {
        let source = &self.text[range.clone()];
        let (defines, heading) = facts(source);
        let id = self.next_id;
        self.next_id += 1;
        Block {
            id,
            utf16_len: utf16_len(source),
            range,
            heading,
            defines,
            asked: Vec::new(),
            highlight: None,
            html: None,
        }
    }

    /// Recomputes the document's definitions and renews the blocks that
    /// looked up a label whose meaning changed.
    fn refresh_refs(&mut self) {
        let mut refs = Refs::default();
        for block in &self.blocks {
            for (label, target) in &block.defines.links {
                refs.links
                    .entry(label.clone())
                    .or_insert_with(|| target.clone());
            }
            refs.footnotes
                .extend(block.defines.footnotes.iter().cloned());
        }
        if refs == self.refs {
            return;
        }
        let changed: HashSet<String> = refs.changed(&self.refs);
        self.refs = refs;
        for block in &mut self.blocks {
            if block.asked.iter().any(|label| changed.contains(label)) {
                block.id = self.next_id;
                self.next_id += 1;
                block.highlight = None;
                block.html = None;
                block.asked.clear();
            }
        }
    }
}

/// Adds the labels of `asked` to `known`, once each.
fn remember(known: &mut Vec<String>, asked: Vec<String>) {
    for label in asked {
        if !known.contains(&label) {
            known.push(label);
        }
    }
}

/// `at` moved by `delta`.
fn shift(at: usize, delta: isize) -> usize {
    (at as isize + delta) as usize
}

/// The edited part of `old` → `new`: (start, end in old, end in new), on
/// character boundaries of both.
fn edited(old: &str, new: &str) -> (usize, usize, usize) {
    let prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let prefix = floor_boundary(old, prefix).min(floor_boundary(new, prefix));
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let old_end = ceil_boundary(old, old.len() - suffix);
    let new_end = new.len() - (old.len() - old_end);
    (prefix, old_end, new_end)
}

/// Where the top-level blocks of `text` start: the start of the line of
/// each top-level element, and 0.
pub fn block_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut depth = 0usize;
    for (event, range) in Parser::new_ext(text, super::options::options()).into_offset_iter() {
        match event {
            Event::Start(_) => {
                if depth == 0 {
                    starts.push(line_start(text, range.start));
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ if depth == 0 => starts.push(line_start(text, range.start)),
            _ => {}
        }
    }
    starts.dedup();
    if text.is_empty() {
        starts.clear();
    }
    starts
}

/// What a block defines, and its heading if it is one.
fn facts(source: &str) -> (Defines, Option<Heading>) {
    let parser = Parser::new_ext(source, super::options::options());
    let mut defines = Defines::default();
    let mut links: Vec<(usize, String, LinkTarget)> = parser
        .reference_definitions()
        .iter()
        .map(|(label, def)| {
            (
                def.span.start,
                label_key(label),
                LinkTarget {
                    dest: def.dest.to_string(),
                    title: def.title.as_deref().unwrap_or("").to_owned(),
                },
            )
        })
        .collect();
    links.sort_by_key(|(at, _, _)| *at);
    defines.links = links.into_iter().map(|(_, k, t)| (k, t)).collect();
    let mut heading: Option<Heading> = None;
    let mut in_heading = None;
    let mut depth = 0usize;
    for event in parser {
        match event {
            Event::Start(Tag::FootnoteDefinition(label)) => {
                defines.footnotes.push(label_key(&label));
                depth += 1;
            }
            Event::Start(Tag::Heading { level, .. }) => {
                if depth == 0 {
                    in_heading = Some((level as u8, String::new()));
                }
                depth += 1;
            }
            Event::Start(_) => depth += 1,
            Event::End(TagEnd::Heading(_)) => {
                depth = depth.saturating_sub(1);
                if let Some((level, text)) = in_heading.take() {
                    let text = text.trim().to_owned();
                    heading = Some(Heading {
                        level,
                        id: format!("{}{}", super::render::ID_PREFIX, slug(&text)),
                        text,
                    });
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) | Event::Code(t) | Event::FootnoteReference(t) => {
                if let Some((_, text)) = &mut in_heading {
                    text.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, text)) = &mut in_heading {
                    text.push(' ');
                }
            }
            _ => {}
        }
    }
    (defines, heading)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(doc: &MarkdownDoc) -> Vec<&str> {
        doc.blocks()
            .iter()
            .map(|b| &doc.text()[b.range.clone()])
            .collect()
    }

    #[test]
    fn blocks_are_top_level_elements_with_their_blank_lines() {
        let doc = MarkdownDoc::new(
            "# Title\nText\nmore\n\n- a\n\n- b\n\n> q\n> r\n\n```\nx\n\ny\n```\n| a |\n|---|\n",
        );
        assert_eq!(
            ranges(&doc),
            [
                "# Title\n",
                "Text\nmore\n\n",
                "- a\n\n- b\n\n",
                "> q\n> r\n\n",
                "```\nx\n\ny\n```\n",
                "| a |\n|---|\n"
            ]
        );
        assert!(MarkdownDoc::new("").blocks().is_empty());
        assert_eq!(ranges(&MarkdownDoc::new("\n\nx")), ["\n\n", "x"]);
    }

    #[test]
    fn edits_that_join_and_split_blocks() {
        let mut doc = MarkdownDoc::new("Title\n\nBody\n");
        assert_eq!(ranges(&doc), ["Title\n\n", "Body\n"]);
        // A setext underline typed under a paragraph makes it a heading.
        doc.update("Title\n===\n\nBody\n");
        assert_eq!(ranges(&doc), ["Title\n===\n\n", "Body\n"]);
        assert_eq!(doc.blocks()[0].heading.as_ref().map(|h| h.level), Some(1));
        // Removing the blank line joins the paragraphs.
        doc.update("Title\n===\nBody\n");
        assert_eq!(ranges(&doc), ["Title\n===\n", "Body\n"]);
        doc.update("Title\nBody\n");
        assert_eq!(ranges(&doc), ["Title\nBody\n"]);
        // An opened fence takes everything after it.
        doc.update("```\nTitle\nBody\n");
        assert_eq!(ranges(&doc), ["```\nTitle\nBody\n"]);
        doc.update("Title\n\n```\nBody\n```\nafter\n");
        assert_eq!(ranges(&doc), ["Title\n\n", "```\nBody\n```\n", "after\n"]);
        // Indenting a paragraph after a list makes it part of the item.
        doc.update("- a\n\nb\n");
        assert_eq!(ranges(&doc), ["- a\n\n", "b\n"]);
        doc.update("- a\n\n  b\n");
        assert_eq!(ranges(&doc), ["- a\n\n  b\n"]);
    }

    #[test]
    fn unchanged_blocks_keep_their_ids() {
        let mut doc = MarkdownDoc::new("one\n\ntwo\n\nthree\n\nfour\n\nfive\n");
        let before: Vec<u64> = doc.blocks().iter().map(|b| b.id).collect();
        doc.update("one\n\ntwo\n\nthree!\n\nfour\n\nfive\n");
        let after: Vec<u64> = doc.blocks().iter().map(|b| b.id).collect();
        assert_eq!(before.len(), after.len());
        // The edited block and the one before it were parsed again.
        assert_eq!(after[0], before[0]);
        assert_ne!(after[2], before[2]);
        assert_eq!(after[3..], before[3..]);
    }

    #[test]
    fn a_changed_definition_renews_the_blocks_that_use_it() {
        // A definition belongs to the block before it (it has no element).
        let mut doc =
            MarkdownDoc::new("[a][x] and [^n]\n\nplain\n\n# H\n[x]: /one\n\n[^n]: note\n");
        let html: Vec<String> = (0..doc.blocks().len())
            .map(|i| doc.html(i).to_owned())
            .collect();
        assert!(html[0].contains("href=\"/one\""), "{}", html[0]);
        assert!(html[0].contains("footnote-ref"), "{}", html[0]);
        let ids: Vec<u64> = doc.blocks().iter().map(|b| b.id).collect();
        doc.update("[a][x] and [^n]\n\nplain\n\n# H\n[x]: /two\n\n[^n]: note\n");
        assert_ne!(doc.blocks()[0].id, ids[0], "uses [x]");
        assert_eq!(doc.blocks()[1].id, ids[1], "uses nothing");
        assert!(doc.html(0).contains("href=\"/two\""));
        doc.update("[a][x] and [^n]\n\nplain\n\n# H\n[x]: /two\n\n");
        assert!(doc.html(0).contains("[^n]"), "{}", doc.html(0));
    }

    #[test]
    fn headings_for_the_outline() {
        let doc = MarkdownDoc::new("# One `two`\n\ntext\n\nThree\n---\n\n> # not top level\n");
        let headings: Vec<(usize, u8, &str, &str)> = doc
            .headings()
            .map(|(i, h)| (i, h.level, h.text.as_str(), h.id.as_str()))
            .collect();
        assert_eq!(
            headings,
            [
                (0, 1, "One two", "user-content-one-two"),
                (2, 2, "Three", "user-content-three")
            ]
        );
    }

    /// A small deterministic generator (no dependency for one test).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    const PIECES: [&str; 24] = [
        "# ",
        "## ",
        "\n",
        "\n\n",
        "- ",
        "1. ",
        "  ",
        "> ",
        "```",
        "~~~",
        "---",
        "===",
        "| a | b |",
        "|---|---|",
        "*",
        "**",
        "`",
        "[x]",
        "[x]: /u",
        "[^1]",
        "[^1]: n",
        "<div>",
        "text",
        "é👋",
    ];

    #[test]
    fn incremental_blocks_match_a_full_parse_after_random_edits() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..60 {
            let mut text = String::new();
            for _ in 0..rng.below(40) {
                text.push_str(PIECES[rng.below(PIECES.len())]);
            }
            let mut doc = MarkdownDoc::new(&text);
            for step in 0..50 {
                let at = floor_boundary(&text, rng.below(text.len() + 1));
                let end = floor_boundary(&text, (at + rng.below(8)).min(text.len()));
                let mut next = text[..at].to_owned();
                if rng.below(3) > 0 {
                    next.push_str(PIECES[rng.below(PIECES.len())]);
                }
                next.push_str(&text[end..]);
                text = next;
                doc.update(&text);
                let mut full = MarkdownDoc::new(&text);
                assert_eq!(
                    ranges(&doc),
                    ranges(&full),
                    "round {round} step {step}: {text:?}"
                );
                // Cached renderings are renewed when a definition changes.
                assert_eq!(doc.render_all(), full.render_all(), "{text:?}");
            }
        }
    }
}
