//! What a document may put in the page: the sanitiser's policy.
//!
//! A document is written by whoever holds its link, so everything it renders
//! is hostile input. The renderer ([`super::render`]) writes every tag and
//! attribute itself from parser events; the author's text only ever reaches
//! the HTML through [`escape`] (text and attribute values alike), so no
//! element, attribute, event handler or `style` can come from the document.
//! What is left to decide is here:
//!
//! - **URLs** ([`classify_url`]): links may point to `http:`, `https:` and
//!   `mailto:` addresses, to fragments (`#…`) and to relative paths. Every
//!   other scheme (`javascript:`, `data:`, `vbscript:`, `file:`, `blob:` …)
//!   is refused, after undoing the tricks browsers undo (tabs and newlines
//!   inside the scheme, leading control characters and spaces, any case).
//! - **Raw HTML** ([`RawHtml`]): a strict allowlist of inline formatting tags
//!   *without attributes* (`<kbd>`, `<sub>`, `<sup>`, `<br>`, `<mark>` …),
//!   balanced within the block they open in; comments are dropped; anything
//!   else is shown as the text the author typed.
//! - **Images** are never loaded (see [`super::render`]): the page's
//!   Content-Security-Policy allows images from Tandem's own origin only,
//!   and a picture from elsewhere would tell its host who reads the document
//!   and when. An image is shown as a link to its address.

/// What a link or image address is, for the renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlClass {
    /// `#fragment`: a place in this document. Holds the fragment (without `#`).
    Fragment(String),
    /// A relative reference, an `http(s):` or a `mailto:` address: allowed as
    /// written (tabs and newlines removed, as a browser would).
    Allowed(String),
    /// Any other scheme: never becomes an `href`.
    Refused,
}

/// Schemes a link may use.
const ALLOWED_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Classifies `url` (as the parser decoded it: entities and escapes undone).
pub fn classify_url(url: &str) -> UrlClass {
    // The URL parser strips leading and trailing C0 controls and spaces, and
    // removes every tab and newline, before it looks for a scheme.
    let cleaned: String = url
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    if let Some(fragment) = cleaned.strip_prefix('#') {
        return UrlClass::Fragment(fragment.to_owned());
    }
    match scheme(&cleaned) {
        None => UrlClass::Allowed(cleaned),
        Some(scheme) if ALLOWED_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) => {
            UrlClass::Allowed(cleaned)
        }
        Some(_) => UrlClass::Refused,
    }
}

/// The scheme of `url`, if it has one: the text before the first `:` when
/// that comes before any `/`, `?` or `#` and is a valid scheme name. Anything
/// else with a colon is refused too (a browser may read more schemes than the
/// grammar allows), so the caller treats `Some` of a non-listed name as bad.
fn scheme(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let before = &url[..colon];
    if before.contains(['/', '?', '#']) {
        return None;
    }
    Some(before)
}

/// `text` with `& < > " '` escaped: safe as element text and inside a
/// double-quoted attribute value.
pub fn escape(text: &str, out: &mut String) {
    let mut last = 0;
    for (at, byte) in text.bytes().enumerate() {
        let replacement = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[last..at]);
        out.push_str(replacement);
        last = at + 1;
    }
    out.push_str(&text[last..]);
}

/// Inline tags an author may write as raw HTML, without attributes.
const ALLOWED_TAGS: [&str; 19] = [
    "b", "i", "em", "strong", "s", "del", "ins", "u", "mark", "sub", "sup", "small", "kbd", "var",
    "samp", "code", "q", "cite", "abbr",
];

/// Allowed tags that have no end tag.
const VOID_TAGS: [&str; 2] = ["br", "wbr"];

/// Raw HTML of one block, filtered through the allowlist. Feed every raw
/// HTML piece of the block in order ([`RawHtml::push`]), then
/// [`RawHtml::finish`] closes what the block left open, so a block's HTML is
/// always balanced and cannot reach into the next one.
#[derive(Debug, Default)]
pub struct RawHtml {
    /// Allowed tags opened and not yet closed, innermost last.
    open: Vec<&'static str>,
    /// Inside an HTML comment that an earlier piece opened.
    in_comment: bool,
}

impl RawHtml {
    /// Writes `html` to `out`: allowed tags as clean tags, comments dropped,
    /// everything else escaped text.
    pub fn push(&mut self, html: &str, out: &mut String) {
        let mut rest = html;
        while !rest.is_empty() {
            if self.in_comment {
                match rest.find("-->") {
                    Some(end) => {
                        self.in_comment = false;
                        rest = &rest[end + 3..];
                    }
                    None => return,
                }
                continue;
            }
            let Some(lt) = rest.find('<') else {
                escape(rest, out);
                return;
            };
            escape(&rest[..lt], out);
            rest = &rest[lt..];
            if let Some(after) = rest.strip_prefix("<!--") {
                self.in_comment = true;
                rest = after;
                continue;
            }
            match self.tag(rest) {
                Some((len, tag, closing)) => {
                    self.emit(tag, closing, &rest[..len], out);
                    rest = &rest[len..];
                }
                None => {
                    out.push_str("&lt;");
                    rest = &rest[1..];
                }
            }
        }
    }

    /// Closes every tag still open at the end of the block.
    pub fn finish(&mut self, out: &mut String) {
        self.close_to(0, out);
        self.in_comment = false;
    }

    /// How many allowed tags are open now (see [`RawHtml::close_to`]).
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// Closes the tags opened since [`RawHtml::depth`] was `depth`: an
    /// element of the document closes the raw tags opened inside it, so
    /// they nest properly.
    pub fn close_to(&mut self, depth: usize, out: &mut String) {
        while self.open.len() > depth {
            if let Some(tag) = self.open.pop() {
                push_tag(out, tag, true);
            }
        }
    }

    /// At `rest` (starting with `<`): an allowed tag without attributes, as
    /// (its length, its name, whether it closes).
    fn tag(&self, rest: &str) -> Option<(usize, &'static str, bool)> {
        let body = &rest[1..];
        let (closing, body) = match body.strip_prefix('/') {
            Some(body) => (true, body),
            None => (false, body),
        };
        let name_len = body.bytes().take_while(u8::is_ascii_alphanumeric).count();
        if name_len == 0 {
            return None;
        }
        let name = body[..name_len].to_ascii_lowercase();
        let tail = body[name_len..].trim_start_matches([' ', '\t', '\n']);
        let tail = if closing {
            tail
        } else {
            tail.strip_prefix('/').unwrap_or(tail)
        };
        if !tail.starts_with('>') {
            return None;
        }
        let len = rest.len() - tail.len() + 1;
        let tag = ALLOWED_TAGS
            .iter()
            .chain(VOID_TAGS.iter())
            .find(|allowed| **allowed == name)?;
        Some((len, tag, closing))
    }

    fn emit(&mut self, tag: &'static str, closing: bool, written: &str, out: &mut String) {
        if VOID_TAGS.contains(&tag) {
            if !closing {
                push_tag(out, tag, false);
            }
            return;
        }
        if !closing {
            self.open.push(tag);
            push_tag(out, tag, false);
            return;
        }
        match self.open.iter().rposition(|open| *open == tag) {
            Some(at) => {
                while self.open.len() > at {
                    if let Some(open) = self.open.pop() {
                        push_tag(out, open, true);
                    }
                }
            }
            // A closing tag nothing opened: shown as written.
            None => escape(written, out),
        }
    }
}

fn push_tag(out: &mut String, tag: &str, closing: bool) {
    out.push('<');
    if closing {
        out.push('/');
    }
    out.push_str(tag);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(url: &str) -> bool {
        matches!(
            classify_url(url),
            UrlClass::Allowed(_) | UrlClass::Fragment(_)
        )
    }

    #[test]
    fn web_mail_relative_and_fragment_addresses_pass() {
        for url in [
            "https://example.com/a?b#c",
            "HTTP://EXAMPLE.COM",
            "mailto:someone@example.com",
            "/d/other-room",
            "notes/page.md",
            "?x=1",
            "./javascript:alert(1)",
            "javascript%3Aalert(1)",
        ] {
            assert!(allowed(url), "{url} should pass");
        }
        assert_eq!(
            classify_url("#section-2"),
            UrlClass::Fragment("section-2".into())
        );
    }

    #[test]
    fn script_and_data_schemes_are_refused_however_written() {
        for url in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "\u{1}javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "jav&#x09;ascript:alert(1)".replace("&#x09;", "\t").as_str(),
            "vbscript:msgbox(1)",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "data:image/svg+xml,<svg onload=alert(1)>",
            "file:///etc/passwd",
            "blob:https://example.com/x",
            "livescript:alert(1)",
            "x:y",
        ] {
            assert_eq!(classify_url(url), UrlClass::Refused, "{url:?}");
        }
    }

    #[test]
    fn escaping_covers_text_and_attributes() {
        let mut out = String::new();
        escape(r#"<a href="x" onclick='y'>&amp;"#, &mut out);
        assert_eq!(
            out,
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;"
        );
    }

    fn raw(pieces: &[&str]) -> String {
        let mut filter = RawHtml::default();
        let mut out = String::new();
        for piece in pieces {
            filter.push(piece, &mut out);
        }
        filter.finish(&mut out);
        out
    }

    #[test]
    fn allowed_tags_pass_without_attributes_and_stay_balanced() {
        assert_eq!(raw(&["<kbd>", "Ctrl", "</kbd>"]), "<kbd>Ctrl</kbd>");
        assert_eq!(raw(&["H<SUB>2</SUB>O"]), "H<sub>2</sub>O");
        assert_eq!(raw(&["a<br>b<br/>c<br />"]), "a<br>b<br>c<br>");
        // Left open: closed at the end of the block.
        assert_eq!(raw(&["<mark>", "<b>x"]), "<mark><b>x</b></mark>");
        // Closing an outer tag closes the inner ones first.
        assert_eq!(raw(&["<b><i>x</b>"]), "<b><i>x</i></b>");
        // A stray closing tag is text.
        assert_eq!(raw(&["</b>x"]), "&lt;/b&gt;x");
    }

    #[test]
    fn everything_else_is_text_and_comments_vanish() {
        assert_eq!(
            raw(&["<script>alert(1)</script>"]),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            raw(&["<b onclick=alert(1)>x</b>"]),
            "&lt;b onclick=alert(1)&gt;x&lt;/b&gt;"
        );
        assert_eq!(
            raw(&["<img src=x onerror=alert(1)>"]),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            raw(&["<b style=\"color:red\">x</b>"]),
            "&lt;b style=&quot;color:red&quot;&gt;x&lt;/b&gt;"
        );
        assert_eq!(raw(&["a<!-- hidden -->b"]), "ab");
        assert_eq!(raw(&["<!--\n", "still hidden\n", "-->", "shown"]), "shown");
        assert_eq!(raw(&["<"]), "&lt;");
        assert_eq!(
            raw(&["<svg/onload=alert(1)>"]),
            "&lt;svg/onload=alert(1)&gt;"
        );
    }
}
