//! One block of Markdown to HTML: the preview's and the export's rendering.
//!
//! Every tag and attribute is written here from pulldown-cmark's events; the
//! document's text reaches the output only escaped (see [`super::policy`]).
//! What the HTML looks like:
//!
//! - CommonMark plus GitHub's tables (alignment as `class="align-…"`, never a
//!   `style`), task lists, strikethrough, extended autolinks
//!   ([`super::linkify`]), footnotes and alerts (`> [!NOTE]`).
//! - Headings carry `id="user-content-{slug}"` (GitHub's prefix, so a
//!   heading can never take the id of an element of the page), and links to
//!   `#slug` point there.
//! - Links open in a new tab, `rel="nofollow noopener noreferrer"`; a link
//!   whose address the policy refuses is its text in a
//!   `<span class="md-refused-link">`.
//! - Images are not loaded: each is a link to its address showing "Image"
//!   and its alternative text (policy in README, "Markdown").
//! - Task items are `<li class="task-list-item">` with a disabled checkbox
//!   whose `data-task` is the UTF-16 offset of its `[` in the block: the
//!   preview enables the boxes for editors and turns a click into an edit
//!   there.
//! - A footnote reference shows its label (`[^note]` shows "note") and links
//!   to the definition, which is rendered where it is written (so each block
//!   renders alone, and the preview scrolls block by block with the text).

use std::ops::Range;

use pulldown_cmark::{
    Alignment, BlockQuoteKind, CodeBlockKind, CowStr, Event, LinkType, Parser, Tag, TagEnd,
    TextMergeWithOffset,
};

use super::linkify;
use super::offsets::utf16_len;
use super::policy::{RawHtml, UrlClass, classify_url, escape};
use super::refs::{Refs, footnote_key, label_key};

/// What a link the renderer writes carries besides its address.
const LINK_ATTRS: &str = r#" rel="nofollow noopener noreferrer" target="_blank""#;

/// The prefix of every id the rendering gives an element.
pub const ID_PREFIX: &str = "user-content-";

/// A block rendered: its HTML and the labels it looked up in `refs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBlock {
    /// The block's HTML, balanced.
    pub html: String,
    /// Labels (link keys and `^`footnote keys) the block asked for.
    pub asked: Vec<String>,
}

/// Renders one block of Markdown with the document's `refs`.
pub fn render_block(text: &str, refs: &Refs) -> RenderedBlock {
    let mut asked = Vec::new();
    let mut writer = Writer::new(text, refs);
    {
        let callback = |link: pulldown_cmark::BrokenLink<'_>| {
            let key = label_key(&link.reference);
            let found = refs.links.get(&key).map(|target| {
                (
                    CowStr::from(target.dest.clone()),
                    CowStr::from(target.title.clone()),
                )
            });
            asked.push(key);
            found
        };
        let parser =
            Parser::new_with_broken_link_callback(text, super::options::options(), Some(callback));
        for (event, range) in TextMergeWithOffset::new(parser.into_offset_iter()) {
            writer.event(event, range);
        }
    }
    writer.raw.finish(&mut writer.out);
    asked.append(&mut writer.asked);
    RenderedBlock {
        html: writer.out,
        asked,
    }
}

/// The state of writing one block.
struct Writer<'a> {
    /// The block's source, for offsets.
    text: &'a str,
    /// The document's definitions.
    refs: &'a Refs,
    /// The HTML so far.
    out: String,
    /// Footnote labels looked up (link labels are recorded by the callback).
    asked: Vec<String>,
    /// The author's raw HTML through the allowlist.
    raw: RawHtml,
    /// Per open element: the raw-HTML depth when it opened.
    marks: Vec<usize>,
    /// Closing tags of open links and images (`</a>` or `</span>`).
    links: Vec<&'static str>,
    /// Open links and images: no autolinks, no nested anchors inside.
    in_link: usize,
    /// Inside a code block: text as it is.
    in_code_block: bool,
    /// The open heading: where its tag goes, its level, its plain text.
    heading: Option<(usize, u8, String)>,
    /// The open table: column alignments, whether in its head, the cell index.
    table: Option<(Vec<Alignment>, bool, usize)>,
    /// Where each open list item's `<li` was written.
    items: Vec<usize>,
}

impl<'a> Writer<'a> {
    fn new(text: &'a str, refs: &'a Refs) -> Self {
        Self {
            text,
            refs,
            out: String::with_capacity(text.len() + text.len() / 2 + 16),
            asked: Vec::new(),
            raw: RawHtml::default(),
            marks: Vec::new(),
            links: Vec::new(),
            in_link: 0,
            in_code_block: false,
            heading: None,
            table: None,
            items: Vec::new(),
        }
    }

    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        match event {
            Event::Start(tag) => {
                self.marks.push(self.raw.depth());
                self.start(tag);
            }
            Event::End(tag) => {
                let mark = self.marks.pop().unwrap_or(0);
                self.raw.close_to(mark, &mut self.out);
                self.end(tag);
            }
            Event::Text(text) => self.text(&text),
            Event::Code(code) => {
                self.plain(&code);
                self.out.push_str("<code>");
                escape(&code, &mut self.out);
                self.out.push_str("</code>");
            }
            Event::Html(html) | Event::InlineHtml(html) => self.raw.push(&html, &mut self.out),
            Event::FootnoteReference(label) => self.footnote_reference(&label),
            Event::SoftBreak => {
                self.plain(" ");
                self.out.push('\n');
            }
            Event::HardBreak => {
                self.plain(" ");
                self.out.push_str("<br>\n");
            }
            Event::Rule => self.out.push_str("<hr>\n"),
            Event::TaskListMarker(checked) => self.task(checked, range.start),
            // Math is not enabled; shown as written if it ever appears.
            Event::InlineMath(text) | Event::DisplayMath(text) => escape(&text, &mut self.out),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let out = &mut self.out;
        match tag {
            Tag::Paragraph => out.push_str("<p>"),
            Tag::Heading { level, .. } => {
                self.heading = Some((out.len(), level as u8, String::new()));
            }
            Tag::BlockQuote(kind) => match kind {
                None => out.push_str("<blockquote>\n"),
                Some(kind) => {
                    let (class, title) = alert(kind);
                    out.push_str(r#"<blockquote class="markdown-alert markdown-alert-"#);
                    out.push_str(class);
                    out.push_str(r#"">"#);
                    out.push_str("\n<p class=\"markdown-alert-title\">");
                    out.push_str(title);
                    out.push_str("</p>\n");
                }
            },
            Tag::CodeBlock(kind) => {
                self.in_code_block = true;
                out.push_str("<pre><code");
                if let CodeBlockKind::Fenced(info) = kind {
                    let lang: String = info
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '#'))
                        .collect();
                    if !lang.is_empty() {
                        out.push_str(" class=\"language-");
                        out.push_str(&lang);
                        out.push('"');
                    }
                }
                out.push('>');
            }
            Tag::HtmlBlock => out.push_str("<div class=\"md-html-block\">"),
            Tag::List(Some(1)) => out.push_str("<ol>\n"),
            Tag::List(Some(start)) => {
                out.push_str("<ol start=\"");
                out.push_str(&start.to_string());
                out.push_str("\">\n");
            }
            Tag::List(None) => out.push_str("<ul>\n"),
            Tag::Item => {
                self.items.push(out.len());
                out.push_str("<li>");
            }
            Tag::FootnoteDefinition(label) => {
                out.push_str("<div class=\"footnote-definition\" id=\"");
                out.push_str(ID_PREFIX);
                out.push_str("fn-");
                escape(&slug(&label), out);
                out.push_str("\">");
                out.push_str("<span class=\"footnote-definition-label\">");
                escape(&label, out);
                out.push_str("</span>");
            }
            Tag::Table(aligns) => {
                self.table = Some((aligns, false, 0));
                out.push_str("<table>\n");
            }
            Tag::TableHead => {
                if let Some(table) = &mut self.table {
                    table.1 = true;
                    table.2 = 0;
                }
                out.push_str("<thead>\n<tr>");
            }
            Tag::TableRow => {
                if let Some(table) = &mut self.table {
                    table.2 = 0;
                }
                out.push_str("<tr>");
            }
            Tag::TableCell => {
                let (head, align) = match &self.table {
                    Some((aligns, head, cell)) => {
                        (*head, aligns.get(*cell).copied().unwrap_or(Alignment::None))
                    }
                    None => (false, Alignment::None),
                };
                out.push_str(if head { "<th" } else { "<td" });
                match align {
                    Alignment::None => {}
                    Alignment::Left => out.push_str(" class=\"align-left\""),
                    Alignment::Center => out.push_str(" class=\"align-center\""),
                    Alignment::Right => out.push_str(" class=\"align-right\""),
                }
                out.push('>');
            }
            Tag::Emphasis => out.push_str("<em>"),
            Tag::Strong => out.push_str("<strong>"),
            Tag::Strikethrough => out.push_str("<del>"),
            Tag::Superscript => out.push_str("<sup>"),
            Tag::Subscript => out.push_str("<sub>"),
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => self.link(link_type, &dest_url, &title),
            Tag::Image {
                dest_url, title, ..
            } => self.image(&dest_url, &title),
            // Not enabled by `super::options::options`; kept harmless should they be.
            Tag::MetadataBlock(_) => out.push_str("<div hidden>"),
            Tag::DefinitionList => out.push_str("<dl>"),
            Tag::DefinitionListTitle => out.push_str("<dt>"),
            Tag::DefinitionListDefinition => out.push_str("<dd>"),
        }
    }

    fn end(&mut self, tag: TagEnd) {
        let out = &mut self.out;
        match tag {
            TagEnd::Paragraph => out.push_str("</p>\n"),
            TagEnd::Heading(_) => {
                if let Some((at, level, plain)) = self.heading.take() {
                    let open = format!(
                        "<h{level} id=\"{ID_PREFIX}{}\">",
                        escaped(&slug(plain.trim()))
                    );
                    out.insert_str(at, &open);
                    out.push_str(&format!("</h{level}>\n"));
                }
            }
            TagEnd::BlockQuote(_) => out.push_str("</blockquote>\n"),
            TagEnd::CodeBlock => {
                self.in_code_block = false;
                out.push_str("</code></pre>\n");
            }
            TagEnd::HtmlBlock => out.push_str("</div>\n"),
            TagEnd::List(true) => out.push_str("</ol>\n"),
            TagEnd::List(false) => out.push_str("</ul>\n"),
            TagEnd::Item => {
                self.items.pop();
                out.push_str("</li>\n");
            }
            TagEnd::FootnoteDefinition => out.push_str("</div>\n"),
            TagEnd::Table => {
                self.table = None;
                out.push_str("</tbody>\n</table>\n");
            }
            TagEnd::TableHead => {
                if let Some(table) = &mut self.table {
                    table.1 = false;
                }
                out.push_str("</tr>\n</thead>\n<tbody>\n");
            }
            TagEnd::TableRow => out.push_str("</tr>\n"),
            TagEnd::TableCell => {
                let head = match &mut self.table {
                    Some((_, head, cell)) => {
                        *cell += 1;
                        *head
                    }
                    None => false,
                };
                out.push_str(if head { "</th>" } else { "</td>" });
            }
            TagEnd::Emphasis => out.push_str("</em>"),
            TagEnd::Strong => out.push_str("</strong>"),
            TagEnd::Strikethrough => out.push_str("</del>"),
            TagEnd::Superscript => out.push_str("</sup>"),
            TagEnd::Subscript => out.push_str("</sub>"),
            TagEnd::Link | TagEnd::Image => {
                self.in_link = self.in_link.saturating_sub(1);
                out.push_str(self.links.pop().unwrap_or("</a>"));
            }
            TagEnd::MetadataBlock(_) => out.push_str("</div>"),
            TagEnd::DefinitionList => out.push_str("</dl>"),
            TagEnd::DefinitionListTitle => out.push_str("</dt>"),
            TagEnd::DefinitionListDefinition => out.push_str("</dd>"),
        }
    }

    /// Text: escaped; outside links and code, web addresses become links.
    fn text(&mut self, text: &str) {
        self.plain(text);
        if self.in_code_block || self.in_link > 0 {
            escape(text, &mut self.out);
            return;
        }
        let mut at = 0;
        for link in linkify::find(text) {
            escape(&text[at..link.range.start], &mut self.out);
            self.out.push_str("<a href=\"");
            escape(&link.href, &mut self.out);
            self.out.push('"');
            self.out.push_str(LINK_ATTRS);
            self.out.push('>');
            escape(&text[link.range.clone()], &mut self.out);
            self.out.push_str("</a>");
            at = link.range.end;
        }
        escape(&text[at..], &mut self.out);
    }

    /// Adds `text` to the open heading's plain text (for its id).
    fn plain(&mut self, text: &str) {
        if let Some((_, _, plain)) = &mut self.heading {
            plain.push_str(text);
        }
    }

    fn link(&mut self, link_type: LinkType, dest: &str, title: &str) {
        self.in_link += 1;
        let dest = if link_type == LinkType::Email {
            format!("mailto:{dest}")
        } else {
            dest.to_owned()
        };
        let out = &mut self.out;
        match classify_url(&dest) {
            UrlClass::Fragment(fragment) => {
                out.push_str("<a href=\"#");
                if !fragment.starts_with(ID_PREFIX) {
                    out.push_str(ID_PREFIX);
                }
                escape(&fragment, out);
                out.push('"');
                title_attr(title, out);
                out.push('>');
                self.links.push("</a>");
            }
            UrlClass::Allowed(href) => {
                out.push_str("<a href=\"");
                escape(&href, out);
                out.push('"');
                title_attr(title, out);
                out.push_str(LINK_ATTRS);
                out.push('>');
                self.links.push("</a>");
            }
            UrlClass::Refused => {
                out.push_str(
                    "<span class=\"md-refused-link\" title=\"Link removed: only web, mail and \
                     relative addresses are allowed\">",
                );
                self.links.push("</span>");
            }
        }
    }

    fn image(&mut self, dest: &str, title: &str) {
        let nested = self.in_link > 0;
        self.in_link += 1;
        let out = &mut self.out;
        match classify_url(dest) {
            UrlClass::Allowed(href) if !nested => {
                out.push_str("<a class=\"md-image\" href=\"");
                escape(&href, out);
                out.push('"');
                title_attr(title, out);
                out.push_str(LINK_ATTRS);
                out.push('>');
                self.links.push("</a>");
            }
            _ => {
                out.push_str("<span class=\"md-image\"");
                title_attr(title, out);
                out.push('>');
                self.links.push("</span>");
            }
        }
        self.out
            .push_str("<span class=\"md-image-label\">Image</span> ");
    }

    fn footnote_reference(&mut self, label: &str) {
        let key = label_key(label);
        self.asked.push(footnote_key(&key));
        self.plain(label);
        let out = &mut self.out;
        if self.refs.footnotes.contains(&key) {
            out.push_str("<sup class=\"footnote-ref\"><a href=\"#");
            out.push_str(ID_PREFIX);
            out.push_str("fn-");
            escape(&slug(label), out);
            out.push_str("\">");
            escape(label, out);
            out.push_str("</a></sup>");
        } else {
            out.push_str("[^");
            escape(label, out);
            out.push(']');
        }
    }

    fn task(&mut self, checked: bool, at: usize) {
        if let Some(&item) = self.items.last() {
            self.out
                .insert_str(item + "<li".len(), " class=\"task-list-item\"");
        }
        let offset = utf16_len(&self.text[..at.min(self.text.len())]);
        let out = &mut self.out;
        out.push_str(
            "<input type=\"checkbox\" class=\"task-list-item-checkbox\" aria-label=\"Done\" \
             data-task=\"",
        );
        out.push_str(&offset.to_string());
        out.push_str("\" disabled");
        if checked {
            out.push_str(" checked");
        }
        out.push_str("> ");
    }
}

fn title_attr(title: &str, out: &mut String) {
    if !title.is_empty() {
        out.push_str(" title=\"");
        escape(title, out);
        out.push('"');
    }
}

fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape(text, &mut out);
    out
}

/// The class and title of a GitHub alert.
fn alert(kind: BlockQuoteKind) -> (&'static str, &'static str) {
    match kind {
        BlockQuoteKind::Note => ("note", "Note"),
        BlockQuoteKind::Tip => ("tip", "Tip"),
        BlockQuoteKind::Important => ("important", "Important"),
        BlockQuoteKind::Warning => ("warning", "Warning"),
        BlockQuoteKind::Caution => ("caution", "Caution"),
    }
}

/// A heading's id, as GitHub makes it: ASCII letters lowercased, letters and
/// digits kept, spaces and hyphens as `-`, other punctuation dropped.
/// Headings with the same text get the same id (a link goes to the first).
pub fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if c == ' ' || c == '-' {
            slug.push('-');
        } else if c == '_' || (!c.is_ascii() && c.is_alphanumeric()) {
            slug.push(c);
        }
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(text: &str) -> String {
        render_block(text, &Refs::default()).html
    }

    #[test]
    fn commonmark_basics() {
        assert_eq!(
            html("# Hello *you*\n"),
            "<h1 id=\"user-content-hello-you\">Hello <em>you</em></h1>\n"
        );
        assert_eq!(
            html("a **b** `c` ~~d~~\n"),
            "<p>a <strong>b</strong> <code>c</code> <del>d</del></p>\n"
        );
        assert_eq!(
            html("> quote\n"),
            "<blockquote>\n<p>quote</p>\n</blockquote>\n"
        );
        assert_eq!(html("---\n"), "<hr>\n");
        assert_eq!(
            html("```rust extra\nlet a = 1 < 2;\n```\n"),
            "<pre><code class=\"language-rust\">let a = 1 &lt; 2;\n</code></pre>\n"
        );
        assert_eq!(
            html("3. x\n4. y\n"),
            "<ol start=\"3\">\n<li>x</li>\n<li>y</li>\n</ol>\n"
        );
        assert_eq!(html("a  \nb\n"), "<p>a<br>\nb</p>\n");
    }

    #[test]
    fn gfm_tables_tasks_autolinks_alerts() {
        assert_eq!(
            html("| a | b |\n|:--|--:|\n| 1 | 2 |\n"),
            "<table>\n<thead>\n<tr><th class=\"align-left\">a</th><th class=\"align-right\">b</th></tr>\n</thead>\n<tbody>\n<tr><td class=\"align-left\">1</td><td class=\"align-right\">2</td></tr>\n</tbody>\n</table>\n"
        );
        assert_eq!(
            html("- [ ] todo\n- [x] done\n"),
            "<ul>\n<li class=\"task-list-item\"><input type=\"checkbox\" class=\"task-list-item-checkbox\" aria-label=\"Done\" data-task=\"2\" disabled> todo</li>\n<li class=\"task-list-item\"><input type=\"checkbox\" class=\"task-list-item-checkbox\" aria-label=\"Done\" data-task=\"13\" disabled checked> done</li>\n</ul>\n"
        );
        assert_eq!(
            html("see www.example.com.\n"),
            "<p>see <a href=\"http://www.example.com\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">www.example.com</a>.</p>\n"
        );
        assert_eq!(
            html("> [!NOTE]\n> Read me\n"),
            "<blockquote class=\"markdown-alert markdown-alert-note\">\n<p class=\"markdown-alert-title\">Note</p>\n<p>Read me</p>\n</blockquote>\n"
        );
    }

    #[test]
    fn links_follow_the_policy() {
        assert_eq!(
            html("[a](https://x.org \"T\") [b](#Part-2) [c](javascript:alert(1))\n"),
            "<p><a href=\"https://x.org\" title=\"T\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">a</a> <a href=\"#user-content-Part-2\">b</a> <span class=\"md-refused-link\" title=\"Link removed: only web, mail and relative addresses are allowed\">c</span></p>\n"
        );
        assert_eq!(
            html("<javascript:alert(1)> <https://ok.org>\n"),
            "<p><span class=\"md-refused-link\" title=\"Link removed: only web, mail and relative addresses are allowed\">javascript:alert(1)</span> <a href=\"https://ok.org\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">https://ok.org</a></p>\n"
        );
        assert_eq!(
            html("![a cat](https://cats.example/c.png)\n"),
            "<p><a class=\"md-image\" href=\"https://cats.example/c.png\" rel=\"nofollow noopener noreferrer\" target=\"_blank\"><span class=\"md-image-label\">Image</span> a cat</a></p>\n"
        );
        assert_eq!(
            html("![x](data:image/png;base64,AAAA)\n"),
            "<p><span class=\"md-image\"><span class=\"md-image-label\">Image</span> x</span></p>\n"
        );
    }

    #[test]
    fn raw_html_is_filtered_and_balanced() {
        assert_eq!(
            html("Press <kbd>Ctrl</kbd>\n"),
            "<p>Press <kbd>Ctrl</kbd></p>\n"
        );
        assert_eq!(html("*a <b>b* c\n"), "<p><em>a <b>b</b></em> c</p>\n");
        assert_eq!(
            html("<script>alert(1)</script>\n"),
            "<div class=\"md-html-block\">&lt;script&gt;alert(1)&lt;/script&gt;\n</div>\n"
        );
        assert_eq!(
            html("x <img src=x onerror=alert(1)>\n"),
            "<p>x &lt;img src=x onerror=alert(1)&gt;</p>\n"
        );
    }

    #[test]
    fn references_come_from_the_document() {
        let mut refs = Refs::default();
        refs.links.insert(
            "docs".into(),
            super::super::refs::LinkTarget {
                dest: "https://docs.example".into(),
                title: String::new(),
            },
        );
        refs.footnotes.insert("1".into());
        let block = render_block("See [the Docs][DOCS] and [^1] [^2] [nothing].\n", &refs);
        assert_eq!(
            block.html,
            "<p>See <a href=\"https://docs.example\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">the Docs</a> and <sup class=\"footnote-ref\"><a href=\"#user-content-fn-1\">1</a></sup> [^2] [nothing].</p>\n"
        );
        for label in ["docs", "^1", "^2", "nothing"] {
            assert!(
                block.asked.iter().any(|a| a == label),
                "{label} in {:?}",
                block.asked
            );
        }
        assert_eq!(
            html("[^1]: The note.\n"),
            "<div class=\"footnote-definition\" id=\"user-content-fn-1\"><span class=\"footnote-definition-label\">1</span><p>The note.</p>\n</div>\n"
        );
    }
}
