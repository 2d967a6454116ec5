//! Accessibility checks on a page, with axe-core (the engine behind
//! Lighthouse's accessibility audit), pinned in `e2e/tools/package.json`
//! and installed by `cargo xtask test` into `target/e2e-tools`, whose path
//! it passes in `TANDEM_E2E_TOOLS`.
//!
//! The page's Content-Security-Policy stays as it ships: axe is not loaded
//! by a `<script>` the policy would refuse, but run through WebDriver's
//! "execute script", which Chromium evaluates from DevTools, outside the
//! page's script-src (the way CSP-bypassing test harnesses inject it).
//!
//! [`assert_accessible`] fails on any violation of impact serious or
//! critical, listing each rule with the elements it found; moderate and
//! minor ones fail too unless [`ACCEPTED`] names the rule with the reason.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::Page;
use crate::env::TOOLS;

/// Moderate or minor findings accepted, each with the reason. Empty: every
/// finding is fixed.
pub const ACCEPTED: &[(&str, &str)] = &[];

/// One rule axe found broken, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// axe's rule id (`color-contrast`).
    pub rule: String,
    /// `critical`, `serious`, `moderate` or `minor`.
    pub impact: String,
    /// What the rule asks, in axe's words.
    pub help: String,
    /// A CSS selector of each element found, with axe's summary of what is
    /// wrong with it.
    pub nodes: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} ({}): {}", self.rule, self.impact, self.help)?;
        for node in &self.nodes {
            writeln!(f, "    {node}")?;
        }
        Ok(())
    }
}

/// axe-core's source, read once.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let Some(dir) = std::env::var_os(TOOLS).filter(|v| !v.is_empty()) else {
            panic!(
                "{TOOLS} is not set: the accessibility tests need axe-core, which `cargo xtask \
                 test` installs into target/e2e-tools. Run `cargo xtask test`, or after it: \
                 {TOOLS}=$PWD/target/e2e-tools cargo test -p tandem-e2e --test accessibility"
            );
        };
        let path = PathBuf::from(dir).join("node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}; install it with `cargo xtask test`",
                path.display()
            )
        })
    })
}

/// Runs axe-core over the whole page as it is now and returns every
/// violation, of any impact.
pub async fn audit(page: &Page) -> Vec<Violation> {
    let loaded = page
        .eval("return typeof window.axe === 'object' && typeof window.axe.run === 'function'")
        .await;
    if loaded != json!(true) {
        page.eval(&format!("{}\n;return true;", axe_source())).await;
    }
    // WebDriver waits for the promise the script returns.
    let found = page
        .eval(
            "return window.axe.run(document, {resultTypes: ['violations']}).then(r =>\
               r.violations.map(v => ({rule: v.id, impact: v.impact || 'minor', help: v.help,\
                 nodes: v.nodes.map(n => n.target.join(' ') + ': ' +\
                   (n.failureSummary || '').replace(/\\s+/g, ' ').trim())})));",
        )
        .await;
    let Value::Array(found) = found else {
        panic!("axe returned no list of violations: {found}");
    };
    found
        .iter()
        .map(|v| Violation {
            rule: text(&v["rule"]),
            impact: text(&v["impact"]),
            help: text(&v["help"]),
            nodes: v["nodes"]
                .as_array()
                .map(|nodes| nodes.iter().map(text).collect())
                .unwrap_or_default(),
        })
        .collect()
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// The violations that fail a check: serious and critical ones, and
/// moderate or minor ones [`ACCEPTED`] does not name.
pub fn failing(found: &[Violation]) -> Vec<&Violation> {
    found
        .iter()
        .filter(|v| {
            matches!(v.impact.as_str(), "serious" | "critical")
                || !ACCEPTED.iter().any(|(rule, _)| *rule == v.rule)
        })
        .collect()
}

/// Audits `page` as it is now and fails the test, naming `view`, when a
/// violation fails ([`failing`]).
pub async fn assert_accessible(page: &Page, view: &str) {
    let found = audit(page).await;
    let failing = failing(&found);
    if !failing.is_empty() {
        let list: String = failing.iter().map(ToString::to_string).collect();
        panic!(
            "{} accessibility violation(s) in {view}:\n{list}",
            failing.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(rule: &str, impact: &str) -> Violation {
        Violation {
            rule: rule.into(),
            impact: impact.into(),
            help: String::new(),
            nodes: vec!["#x: fix it".into()],
        }
    }

    #[test]
    fn serious_and_critical_always_fail_and_the_rest_unless_accepted() {
        let found = [
            violation("color-contrast", "serious"),
            violation("aria-valid-attr-value", "critical"),
            violation("region", "moderate"),
        ];
        let rules: Vec<&str> = failing(&found).iter().map(|v| v.rule.as_str()).collect();
        assert_eq!(rules, ["color-contrast", "aria-valid-attr-value", "region"]);
    }
}
