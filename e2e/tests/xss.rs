//! Nothing executes from a document (issue 26): a corpus of XSS payloads
//! (`xss-corpus.txt`: OWASP's filter-evasion list, adapted so nothing points
//! at a real host, and Markdown-specific ones) written into a document and
//! rendered in real Chromium, in the preview and in the server's HTML
//! export. No script runs (every dialog function is a trap), the page sees
//! no Content-Security-Policy violation, no request leaves the origin (the
//! image policy: images are links, never loaded), and the rendered DOM holds
//! only the elements and attributes the renderer writes, with no address of
//! a refused scheme. Each payload is also rendered alone, natively, and its
//! HTML checked tag by tag.

use serde_json::json;
use tandem_e2e::{DEADLINE, run_test, tid};
use tandem_shared::markdown::policy::{UrlClass, classify_url};
use tandem_shared::markdown::render_html;

/// The corpus: payloads separated by lines of `%%%%`.
const CORPUS: &str = include_str!("xss-corpus.txt");

fn payloads() -> Vec<&'static str> {
    CORPUS
        .split("\n%%%%\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Tags the renderer writes (and the raw-HTML allowlist lets through).
const TAGS: [&str; 40] = [
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "input",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
    "span",
    "div",
    "sup",
    "br",
    "hr",
    "b",
    "i",
    "s",
    "ins",
    "u",
    "mark",
    "sub",
    "small",
    "kbd",
    "var",
    "samp",
];

/// More allowed tags (the array above is full).
const MORE_TAGS: [&str; 4] = ["q", "cite", "abbr", "wbr"];

/// Attributes the renderer writes.
const ATTRIBUTES: [&str; 12] = [
    "href",
    "title",
    "rel",
    "target",
    "class",
    "id",
    "start",
    "type",
    "aria-label",
    "data-task",
    "disabled",
    "checked",
];

/// Checks one rendering tag by tag: every `<` in the output is the
/// renderer's (the document's are escaped), so each tag must be known, with
/// known attributes, and every `href` an allowed address.
fn check_html(payload: &str, html: &str) {
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let end = rest[lt..].find('>').map_or(rest.len(), |e| lt + e);
        let tag = &rest[lt + 1..end];
        rest = &rest[(end + 1).min(rest.len())..];
        let tag = tag.trim_start_matches('/');
        let name = tag.split_whitespace().next().unwrap_or("");
        assert!(
            TAGS.contains(&name) || MORE_TAGS.contains(&name),
            "{payload:?} made a <{name}>: {html}"
        );
        let mut attrs = tag[name.len()..].trim();
        while !attrs.is_empty() {
            let name_end = attrs
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(attrs.len());
            let attr = &attrs[..name_end];
            assert!(
                ATTRIBUTES.contains(&attr),
                "{payload:?} made an attribute {attr:?}: {html}"
            );
            let after = &attrs[name_end..];
            match after.strip_prefix("=\"") {
                Some(value) => {
                    let close = value.find('"').unwrap_or(value.len());
                    if attr == "href" {
                        let decoded = value[..close]
                            .replace("&quot;", "\"")
                            .replace("&#39;", "'")
                            .replace("&lt;", "<")
                            .replace("&gt;", ">")
                            .replace("&amp;", "&");
                        // Checked apart from the policy's own code: the
                        // scheme as a browser reads it, if any, is one of three.
                        let bare: String = decoded
                            .chars()
                            .filter(|c| *c > ' ')
                            .collect::<String>()
                            .to_ascii_lowercase();
                        let scheme = bare
                            .split_once(':')
                            .map(|(s, _)| s)
                            .filter(|s| !s.contains(['/', '?', '#']));
                        assert!(
                            scheme.is_none_or(|s| ["http", "https", "mailto"].contains(&s)),
                            "{payload:?} made href={decoded:?}"
                        );
                        assert_ne!(classify_url(&decoded), UrlClass::Refused);
                    }
                    attrs = value[(close + 1).min(value.len())..].trim_start();
                }
                None => attrs = after.trim_start(),
            }
        }
    }
}

#[test]
fn every_payload_alone_renders_to_known_tags_and_safe_addresses() {
    let payloads = payloads();
    assert!(payloads.len() > 80, "the corpus is whole");
    for payload in payloads {
        check_html(payload, &render_html(payload));
    }
}

/// Installed before the document is written: traps for every dialog, and
/// the policy violations seen.
const TRAPS: &str = r#"
window.__ran = [];
window.__violations = [];
for (const name of ['alert', 'confirm', 'prompt', 'print']) {
  window[name] = (m) => { window.__ran.push(name + ': ' + m); };
}
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber + ' ' + e.sample));
return true;
"#;

/// What is wrong with a rendered tree: unknown elements or attributes,
/// handlers, styles, refused addresses.
const AUDIT: &str = r#"
const audit = (root, where) => {
  const tags = new Set(arguments[0]);
  const attrs = new Set(arguments[1]);
  const problems = [];
  for (const el of root.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (!tags.has(tag)) problems.push(`${where}: <${tag}>`);
    if (tag === 'input' && el.type !== 'checkbox') problems.push(`${where}: input ${el.type}`);
    for (const a of el.attributes) {
      if (!attrs.has(a.name) && a.name !== 'data-block') problems.push(`${where}: ${tag}[${a.name}]`);
    }
    const href = el.getAttribute('href');
    if (href !== null) {
      const scheme = href.replace(/[\u0000-\u0020]/g, '').toLowerCase().match(/^([a-z][a-z0-9+.-]*):/);
      if (scheme && !['http', 'https', 'mailto'].includes(scheme[1])) problems.push(`${where}: href=${href}`);
    }
  }
  return problems;
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_payload_runs_loads_or_escapes_in_chromium() {
    run_test("no_payload_runs_loads_or_escapes_in_chromium", async |ctx| {
        let room = "e2e-xss";
        let page = ctx.page().await;
        page.open_editor(&format!("/d/{room}")).await;
        page.click(&tid("view-split")).await;
        page.wait_for_attr(".doc-main", "data-mode", "split", DEADLINE)
            .await;
        page.eval(TRAPS).await;
        let document = format!("{}\n\nEND-OF-CORPUS\n", payloads().join("\n\n"));
        page.set_caret(&tid("editor"), 0).await;
        page.insert_text(&document).await;
        page.wait_for_text(&tid("preview"), "END-OF-CORPUS", DEADLINE)
            .await;

        let tags: Vec<&str> = TAGS.iter().chain(MORE_TAGS.iter()).copied().collect();
        let script = format!(
            "{AUDIT}\n\
             const preview = document.querySelector('[data-testid=preview]');\n\
             return fetch('/api/rooms/{room}/html').then(r => r.text()).then(page => {{\n\
               // The page's own stylesheet, once; parsed here it would break this page's policy.\n\
               const styles = page.split('<style').length - 1;\n\
               page = page.replace(/<style>[^<]*<\\/style>/, '');\n\
               const exported = new DOMParser().parseFromString(page, 'text/html');\n\
               const article = exported.querySelector('article');\n\
               const head = [...exported.head.querySelectorAll('*')].map(e => e.tagName.toLowerCase());\n\
               const offOrigin = performance.getEntriesByType('resource')\n\
                 .map(e => e.name).filter(n => !n.startsWith(location.origin + '/'));\n\
               return {{ preview: audit(preview, 'preview'), exported: audit(article, 'export'),\n\
                 scripts: exported.querySelectorAll('script').length, head, styles,\n\
                 ran: window.__ran, violations: window.__violations, offOrigin,\n\
                 blocks: preview.children.length }};\n\
             }});"
        );
        let seen = page
            .eval_with(&script, vec![json!(tags), json!(ATTRIBUTES)])
            .await;
        assert_eq!(seen["preview"], json!([]), "the preview's DOM: {seen}");
        assert_eq!(seen["exported"], json!([]), "the export's DOM: {seen}");
        assert_eq!(seen["scripts"], json!(0), "no script in the export");
        assert_eq!(seen["styles"], json!(1), "the export's one stylesheet is its own");
        assert_eq!(
            seen["head"],
            json!(["meta", "meta", "meta", "meta", "title"]),
            "the export's head is the renderer's"
        );
        assert_eq!(seen["ran"], json!([]), "no payload ran");
        assert_eq!(seen["violations"], json!([]), "no CSP violation");
        assert_eq!(seen["offOrigin"], json!([]), "nothing loaded from elsewhere");
        assert!(seen["blocks"].as_u64().unwrap_or(0) > 50, "{seen}");

        // Interacting does not run anything either: every link and box is
        // hovered and focused.
        page.eval(
            "document.querySelectorAll('[data-testid=preview] *').forEach(el => {\
               el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));\
               if (el.focus) el.focus();\
             }); return true;",
        )
        .await;
        let after = page
            .eval("return {ran: window.__ran, violations: window.__violations};")
            .await;
        assert_eq!(after, json!({"ran": [], "violations": []}));
    })
    .await;
}
