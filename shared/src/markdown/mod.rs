//! Markdown: how a document's `content` text is highlighted as it is typed,
//! rendered in the preview and exported as HTML. One code path for the page
//! and the server, so the preview and `GET /api/rooms/{room}/html` cannot
//! drift (a browser test compares them).
//!
//! - [`document`]: the text as top-level blocks, updated incrementally edit
//!   by edit; each block caches its highlighting and its HTML.
//! - [`highlight`]: one block's source as styled runs for the editor.
//! - [`render`]: one block as sanitised HTML for the preview and the export.
//! - [`policy`]: what a document may put in a page (URLs, raw HTML).
//! - [`linkify`]: GitHub's extended autolinks.
//! - [`refs`]: link and footnote definitions shared across blocks.
//! - [`edit`]: the shortcuts and toolbar actions, as edits of the text.
//! - [`offsets`]: UTF-8 bytes ↔ UTF-16 units.
//!
//! The parser is pulldown-cmark (CommonMark 0.31 plus GitHub's extensions);
//! why it and not comrak is in docs/ARCHITECTURE.md, "Markdown".

pub mod document;
pub mod edit;
pub mod highlight;
pub mod linkify;
pub mod offsets;
mod options;
pub mod policy;
pub mod refs;
pub mod render;

pub use document::{Block, Heading, MarkdownDoc};

/// The HTML of a whole document: what the preview shows, block after block.
pub fn render_html(text: &str) -> String {
    MarkdownDoc::new(text).render_all()
}

/// The stylesheet of an exported page (also what a printed one looks like).
pub const EXPORT_CSS: &str = include_str!("export.css");

/// A standalone HTML page of the document: its [`render_html`] in an
/// `<article class="markdown-body">`, with [`EXPORT_CSS`] inline and a
/// policy of its own that lets nothing load or run wherever the file is
/// opened (a saved file has no server to send one).
pub fn standalone_page(title: &str, text: &str) -> String {
    let body = render_html(text);
    let mut page = String::with_capacity(body.len() + EXPORT_CSS.len() + 512);
    page.push_str(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>",
    );
    let title = title.trim();
    policy::escape(
        if title.is_empty() {
            "Untitled document"
        } else {
            title
        },
        &mut page,
    );
    page.push_str("</title>\n<style>\n");
    page.push_str(EXPORT_CSS);
    page.push_str("</style>\n</head>\n<body>\n<article class=\"markdown-body\">\n");
    page.push_str(&body);
    page.push_str("</article>\n</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_wraps_the_same_rendering() {
        let text = "# Plan\n\n- [x] <b>bold</b> [x](javascript:alert(1))\n";
        let page = standalone_page("A <title>", text);
        assert!(page.contains("<title>A &lt;title&gt;</title>"));
        assert!(page.contains(&render_html(text)));
        assert!(page.contains("default-src 'none'"));
        assert!(!page.contains("javascript:"));
        assert!(!page.contains("<script"));
        assert!(standalone_page("  ", "").contains("<title>Untitled document</title>"));
    }
}
