//! GitHub's extended autolinks: `https://…`, `http://…` and `www.…` in plain
//! text become links without angle brackets (GFM spec, "Autolinks
//! (extension)"). pulldown-cmark does not do this, so the renderer runs
//! [`find`] over the text it writes outside links and code.
//!
//! The rules kept from the spec: a link starts at the beginning of the text,
//! after whitespace or after one of `*`, `_`, `~`, `(`; it runs to the next
//! whitespace or `<`; its domain has at least one period and no underscore in
//! its last two labels; trailing `?`, `!`, `.`, `,`, `:`, `*`, `_`, `~` are
//! not part of it, nor is a trailing `)` without its `(`, nor a trailing
//! entity-like `&name;`. Email autolinks are not made.

use std::ops::Range;

/// One autolink found in a text: where it is, and the address it links to
/// (`http://` put before a `www.` link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autolink {
    /// Bytes of the text that become the link's text.
    pub range: Range<usize>,
    /// Its address.
    pub href: String,
}

/// The autolinks in `text`, in order.
pub fn find(text: &str) -> Vec<Autolink> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let Some(next) = rest.find(['h', 'w', 'H', 'W']) else {
            break;
        };
        let start = at + next;
        let tail = &text[start..];
        let prefix = ["https://", "http://", "www."]
            .into_iter()
            .find(|p| tail.len() >= p.len() && tail[..p.len()].eq_ignore_ascii_case(p));
        let boundary = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '*' | '_' | '~' | '('));
        match prefix {
            Some(prefix) if boundary => match link_at(text, start, prefix.len()) {
                Some(link) => {
                    at = link.range.end;
                    found.push(link);
                }
                None => at = start + prefix.len(),
            },
            _ => at = start + 1,
        }
    }
    found
}

/// The link starting at `start`, whose scheme or `www.` is `prefix_len` bytes.
fn link_at(text: &str, start: usize, prefix_len: usize) -> Option<Autolink> {
    let tail = &text[start..];
    let mut end = tail
        .find(|c: char| c.is_whitespace() || c == '<')
        .unwrap_or(tail.len());
    // Trailing punctuation is the sentence's, not the link's.
    loop {
        let link = &tail[..end];
        let Some(last) = link.chars().next_back() else {
            break;
        };
        let unbalanced = last == ')' && link.matches(')').count() > link.matches('(').count();
        if unbalanced
            || matches!(
                last,
                '?' | '!' | '.' | ',' | ':' | '*' | '_' | '~' | '\'' | '"'
            )
        {
            end -= 1;
        } else if last == ';' {
            match entity_start(link) {
                Some(amp) => end = amp,
                None => break,
            }
        } else {
            break;
        }
    }
    if end <= prefix_len {
        return None;
    }
    let link = &tail[..end];
    let domain_end = link[prefix_len..]
        .find(['/', '?', '#'])
        .map_or(link.len(), |i| prefix_len + i);
    if !valid_domain(&link[prefix_len..domain_end]) {
        return None;
    }
    let href = if link[..4].eq_ignore_ascii_case("www.") {
        format!("http://{link}")
    } else {
        link.to_owned()
    };
    Some(Autolink {
        range: start..start + end,
        href,
    })
}

/// Where a trailing `&name;` starts in `link`, if it ends with one.
fn entity_start(link: &str) -> Option<usize> {
    let amp = link.rfind('&')?;
    let name = &link[amp + 1..link.len() - 1];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(amp)
}

/// Labels of letters, digits, `_` and `-` separated by periods, at least one
/// period, and no `_` in the last two labels.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        })
        && labels
            .iter()
            .rev()
            .take(2)
            .all(|label| !label.contains('_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(text: &str) -> Vec<(&str, String)> {
        find(text)
            .into_iter()
            .map(|l| (&text[l.range.clone()], l.href))
            .collect()
    }

    #[test]
    fn web_addresses_in_text_become_links() {
        assert_eq!(
            links("see https://example.com/a?b=1 and www.commonmark.org."),
            [
                (
                    "https://example.com/a?b=1",
                    "https://example.com/a?b=1".into()
                ),
                ("www.commonmark.org", "http://www.commonmark.org".into()),
            ]
        );
        assert_eq!(
            links("(www.example.com/a_(b))"),
            [(
                "www.example.com/a_(b)",
                "http://www.example.com/a_(b)".into()
            )]
        );
        assert_eq!(
            links("www.google.com/search?q=commonmark&hl;"),
            [(
                "www.google.com/search?q=commonmark",
                "http://www.google.com/search?q=commonmark".into()
            )]
        );
        assert_eq!(links("*http://a.b*"), [("http://a.b", "http://a.b".into())]);
    }

    #[test]
    fn not_links() {
        assert!(links("xhttps://example.com").is_empty());
        assert!(links("http://localhost").is_empty());
        assert!(links("www.a_b.c_d").is_empty());
        assert!(links("what www is").is_empty());
        assert!(links("javascript:alert(1) www.").is_empty());
    }
}
