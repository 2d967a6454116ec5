//! Highlighting one block of Markdown source, for the layer the editor draws
//! under its text.
//!
//! The block is parsed with the same parser and options as the preview, so
//! what is highlighted as a heading, a link or a table is exactly what the
//! preview shows as one. Every byte gets a set of [`Style`] flags from the
//! elements around it; bytes inside an element that no text, code or break
//! covers are syntax (`#`, `**`, `[`, `](url)`, list bullets, `>`, table
//! pipes, fences, escaping backslashes) and get [`Style::MARK`]. Runs of
//! equal flags become `<span class="m-…">` elements around the escaped text
//! (see [`Style::classes`]); the stylesheet decides what each looks like,
//! using only colour, backgrounds and decorations, never anything that
//! moves a character (the layer must line up with the textarea).

use pulldown_cmark::{Event, Parser, Tag};

use super::policy::escape;
use super::refs::{Refs, label_key};

/// What a byte of Markdown source is part of (bit flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style(u32);

impl Style {
    /// Syntax rather than content.
    pub const MARK: Self = Self(1);
    /// A heading (with [`Style::level`]).
    pub const HEADING: Self = Self(1 << 1);
    /// Emphasis.
    pub const EM: Self = Self(1 << 2);
    /// Strong emphasis.
    pub const STRONG: Self = Self(1 << 3);
    /// Strikethrough.
    pub const DEL: Self = Self(1 << 4);
    /// Inline code.
    pub const CODE: Self = Self(1 << 5);
    /// A code block.
    pub const PRE: Self = Self(1 << 6);
    /// A link.
    pub const LINK: Self = Self(1 << 7);
    /// An image.
    pub const IMAGE: Self = Self(1 << 8);
    /// A block quote.
    pub const QUOTE: Self = Self(1 << 9);
    /// A list item's bullet or number.
    pub const BULLET: Self = Self(1 << 10);
    /// A task's `[ ]` or `[x]`.
    pub const TASK: Self = Self(1 << 11);
    /// A thematic break.
    pub const RULE: Self = Self(1 << 12);
    /// Raw HTML.
    pub const HTML: Self = Self(1 << 13);
    /// A footnote reference or definition.
    pub const FOOTNOTE: Self = Self(1 << 14);
    /// A link reference definition.
    pub const REF_DEF: Self = Self(1 << 15);
    /// A table.
    pub const TABLE: Self = Self(1 << 16);
    /// A table's header row.
    pub const TABLE_HEAD: Self = Self(1 << 17);
    /// Inside any element (used to find syntax; never a class).
    const INSIDE: Self = Self(1 << 18);
    /// Covered by text, code or a break (used to find syntax; never a class).
    const CONTENT: Self = Self(1 << 19);
    /// The heading level, 1–6, in bits 24–26.
    const LEVEL_SHIFT: u32 = 24;

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The heading level, 0 outside headings.
    pub fn level(self) -> u32 {
        (self.0 >> Self::LEVEL_SHIFT) & 7
    }

    fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The flags that show (no bookkeeping bits).
    fn visible(self) -> Self {
        Self(self.0 & !(Self::INSIDE.0 | Self::CONTENT.0))
    }

    /// The `class` attribute for these flags, e.g. `"m-h m-h2 m-mk"`.
    pub fn classes(self) -> String {
        const NAMES: [(Style, &str); 17] = [
            (Style::HEADING, "m-h"),
            (Style::EM, "m-em"),
            (Style::STRONG, "m-st"),
            (Style::DEL, "m-del"),
            (Style::CODE, "m-code"),
            (Style::PRE, "m-pre"),
            (Style::LINK, "m-a"),
            (Style::IMAGE, "m-img"),
            (Style::QUOTE, "m-q"),
            (Style::BULLET, "m-li"),
            (Style::TASK, "m-task"),
            (Style::RULE, "m-hr"),
            (Style::HTML, "m-html"),
            (Style::FOOTNOTE, "m-fn"),
            (Style::REF_DEF, "m-ref"),
            (Style::TABLE, "m-tb"),
            (Style::TABLE_HEAD, "m-th"),
        ];
        let mut classes: Vec<String> = NAMES
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| (*name).to_owned())
            .collect();
        if self.level() > 0 {
            classes.push(format!("m-h{}", self.level()));
        }
        if self.contains(Self::MARK) {
            classes.push("m-mk".to_owned());
        }
        classes.join(" ")
    }
}

/// The style of every byte of `text` (one block), with the document's `refs`
/// (a `[label]` is a link only if the document defines it). Labels looked up
/// go to `asked`.
pub fn styles(text: &str, refs: &Refs, asked: &mut Vec<String>) -> Vec<Style> {
    let mut styles = vec![Style::default(); text.len()];
    let paint = |styles: &mut [Style], range: std::ops::Range<usize>, style: Style| {
        let end = range.end.min(styles.len());
        for s in &mut styles[range.start.min(end)..end] {
            *s = s.with(style);
        }
    };
    let callback = |link: pulldown_cmark::BrokenLink<'_>| {
        let key = label_key(&link.reference);
        let found = refs.links.get(&key).map(|target| {
            (
                pulldown_cmark::CowStr::from(target.dest.clone()),
                pulldown_cmark::CowStr::from(target.title.clone()),
            )
        });
        asked.push(key);
        found
    };
    let parser =
        Parser::new_with_broken_link_callback(text, super::options::options(), Some(callback));
    for (_, def) in parser.reference_definitions().iter() {
        paint(&mut styles, def.span.clone(), Style::REF_DEF);
    }
    // A list item's bullet runs from the item's start to its first child.
    let mut bullet_from: Option<usize> = None;
    for (event, range) in parser.into_offset_iter() {
        if let Some(from) = bullet_from.take() {
            paint(&mut styles, from..range.start, Style::BULLET);
        }
        match event {
            Event::Start(tag) => {
                let style = match tag {
                    Tag::Heading { level, .. } => {
                        Style::HEADING.with(Style((level as u32) << Style::LEVEL_SHIFT))
                    }
                    Tag::Emphasis => Style::EM,
                    Tag::Strong => Style::STRONG,
                    Tag::Strikethrough => Style::DEL,
                    Tag::CodeBlock(_) => Style::PRE,
                    Tag::Link { .. } => Style::LINK,
                    Tag::Image { .. } => Style::IMAGE,
                    Tag::BlockQuote(_) => Style::QUOTE,
                    Tag::HtmlBlock => Style::HTML,
                    Tag::FootnoteDefinition(_) => Style::FOOTNOTE,
                    Tag::Table(_) => Style::TABLE,
                    Tag::TableHead => Style::TABLE_HEAD,
                    Tag::Item => {
                        bullet_from = Some(range.start);
                        Style::default()
                    }
                    _ => Style::default(),
                };
                paint(&mut styles, range, style.with(Style::INSIDE));
            }
            Event::End(_) => {}
            Event::Text(_) | Event::SoftBreak | Event::HardBreak => {
                paint(&mut styles, range, Style::CONTENT);
            }
            Event::Code(_) => {
                paint(&mut styles, range.clone(), Style::CODE.with(Style::CONTENT));
                // The backticks around the code are syntax.
                let source = &text[range.clone()];
                let ticks = source.bytes().take_while(|b| *b == b'`').count();
                paint(&mut styles, range.start..range.start + ticks, Style::MARK);
                paint(
                    &mut styles,
                    range.end.saturating_sub(ticks)..range.end,
                    Style::MARK,
                );
            }
            Event::Html(_) | Event::InlineHtml(_) => {
                paint(&mut styles, range, Style::HTML.with(Style::CONTENT));
            }
            Event::FootnoteReference(_) => {
                paint(&mut styles, range, Style::FOOTNOTE.with(Style::CONTENT));
            }
            Event::TaskListMarker(_) => {
                paint(&mut styles, range, Style::TASK.with(Style::CONTENT));
            }
            Event::Rule => paint(&mut styles, range, Style::RULE.with(Style::CONTENT)),
            Event::InlineMath(_) | Event::DisplayMath(_) => {
                paint(&mut styles, range, Style::CONTENT);
            }
        }
    }
    for style in &mut styles {
        if style.contains(Style::INSIDE) && !style.contains(Style::CONTENT) {
            *style = style.with(Style::MARK);
        }
        *style = style.visible();
    }
    // Spaces and line breaks carry no colour: keep runs long.
    for (style, byte) in styles.iter_mut().zip(text.bytes()) {
        if matches!(byte, b' ' | b'\n') && !style.contains(Style::PRE) {
            *style = Style(style.0 & !Style::MARK.0);
        }
    }
    styles
}

/// The highlighted HTML of `text` (one block): its characters, escaped, in
/// `<span class="m-…">` runs. Its text content is exactly `text`.
pub fn highlight_html(text: &str, refs: &Refs, asked: &mut Vec<String>) -> String {
    let styles = styles(text, refs, asked);
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    let mut start = 0;
    while start < text.len() {
        let style = styles[start];
        let mut end = start + 1;
        while end < text.len() && (styles[end] == style || !text.is_char_boundary(end)) {
            end += 1;
        }
        if style == Style::default() {
            escape(&text[start..end], &mut out);
        } else {
            out.push_str("<span class=\"");
            out.push_str(&style.classes());
            out.push_str("\">");
            escape(&text[start..end], &mut out);
            out.push_str("</span>");
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hl(text: &str) -> String {
        highlight_html(text, &Refs::default(), &mut Vec::new())
    }

    #[test]
    fn headings_emphasis_and_code() {
        assert_eq!(
            hl("## Hi *there*\n"),
            "<span class=\"m-h m-h2 m-mk\">##</span><span class=\"m-h m-h2\"> Hi </span>\
             <span class=\"m-h m-em m-h2 m-mk\">*</span><span class=\"m-h m-em m-h2\">there</span>\
             <span class=\"m-h m-em m-h2 m-mk\">*</span><span class=\"m-h m-h2\">\n</span>"
        );
        assert_eq!(
            hl("a **b** `c`\n"),
            "a <span class=\"m-st m-mk\">**</span><span class=\"m-st\">b</span>\
             <span class=\"m-st m-mk\">**</span> <span class=\"m-code m-mk\">`</span>\
             <span class=\"m-code\">c</span><span class=\"m-code m-mk\">`</span>\n"
        );
        assert_eq!(
            hl("```\nx < y\n```\n"),
            "<span class=\"m-pre m-mk\">```\n</span><span class=\"m-pre\">x &lt; y\n</span>\
             <span class=\"m-pre m-mk\">```</span>\n"
        );
    }

    #[test]
    fn links_lists_tasks_quotes_tables_rules() {
        assert_eq!(
            hl("[a](u)\n"),
            "<span class=\"m-a m-mk\">[</span><span class=\"m-a\">a</span><span class=\"m-a m-mk\">](u)</span>\n"
        );
        assert_eq!(
            hl("- [x] done\n"),
            "<span class=\"m-li m-mk\">-</span><span class=\"m-li\"> </span><span class=\"m-task\">[x]</span> done\n"
        );
        assert_eq!(
            hl("> q\n"),
            "<span class=\"m-q m-mk\">&gt;</span><span class=\"m-q\"> q\n</span>"
        );
        assert_eq!(hl("***\n"), "<span class=\"m-hr\">***\n</span>");
        let table = hl("| a |\n|---|\n| 1 |\n");
        assert!(
            table.contains("<span class=\"m-tb m-th m-mk\">|</span>"),
            "{table}"
        );
        assert!(
            table.contains("<span class=\"m-tb m-mk\">|---|</span>"),
            "{table}"
        );
        assert!(table.contains("<span class=\"m-tb\"> 1 </span>"), "{table}");
        assert_eq!(
            hl("[r]: https://x.org\n"),
            "<span class=\"m-ref\">[r]: https://x.org</span>\n"
        );
    }

    #[test]
    fn the_text_is_kept_exactly() {
        for text in [
            "a <b> & \"c\"\n",
            "é👋 *x*",
            "| a | b |\n|---|---|\n",
            "\n\n",
        ] {
            let html = hl(text);
            let mut plain = String::new();
            let mut in_tag = false;
            for c in html.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => in_tag = false,
                    _ if !in_tag => plain.push(c),
                    _ => {}
                }
            }
            let plain = plain
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            assert_eq!(plain, text);
        }
    }
}
