//! Every source path docs/ARCHITECTURE.md names exists: the map cannot go
//! stale without `cargo xtask lint` (and the lint step of `cargo xtask
//! test`) saying where. The convention it reads is stated at the top of
//! ARCHITECTURE.md:
//!
//! - A backticked name with a `/` in it, or ending in `.rs`, is a path
//!   (`server/src/room/actor.rs`, `room/pipeline`, `store/`), unless it is
//!   a URL path or a pattern (it starts with `/`, or holds a space, `{`,
//!   `…`, `://` or `=`) or build output (it starts with `target/`).
//! - A path whose first segment is a top-level folder or file of the
//!   repository is read from the root; any other from the source folder of
//!   its section: the backticked path ending in `/` in the nearest heading
//!   above it (`## Server modules (`server/src/`)`), subsections inheriting
//!   their section's.
//! - In a table whose first column is headed `module`, every backticked
//!   name in that column is a path too (`state` is `server/src/state.rs`).
//! - A path exists when it names a file or folder as written, or a `.rs`
//!   file once `.rs` is added (`room/actor` is `room/actor.rs` or the
//!   folder `room/actor/`); a `*` matches any run of characters in the last
//!   segment.

use std::fs;
use std::path::{Path, PathBuf};

/// The document checked, from the repository root.
pub(crate) const DOC: &str = "docs/ARCHITECTURE.md";

/// Checks [`DOC`] under `root`; `Err` lists every path that does not exist.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let path = root.join(DOC);
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {DOC}: {e}"))?;
    let named = named_paths(&text)?;
    let missing: Vec<String> = named
        .iter()
        .filter(|n| !exists(root, n))
        .map(|n| {
            format!(
                "  {DOC}:{}: `{}` ({})",
                n.line,
                n.written,
                n.resolved.display()
            )
        })
        .collect();
    if missing.is_empty() {
        println!("{DOC}: the {} source paths it names exist", named.len());
        Ok(())
    } else {
        Err(format!(
            "{DOC} names paths that do not exist:\n{}",
            missing.join("\n")
        ))
    }
}

/// A path the document names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Named {
    /// Its line (1-based).
    pub(crate) line: usize,
    /// As written between the backticks.
    pub(crate) written: String,
    /// From the repository root, base applied.
    pub(crate) resolved: PathBuf,
}

/// Every path `text` names, resolved from the repository root.
pub(crate) fn named_paths(text: &str) -> Result<Vec<Named>, String> {
    // (heading level, base) of the sections enclosing the current line.
    let mut sections: Vec<(usize, Option<String>)> = Vec::new();
    let mut module_table = false;
    let mut in_code = false;
    let mut named = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if let Some(level) = heading_level(line) {
            sections.retain(|(l, _)| *l < level);
            let base = backticked(line)
                .into_iter()
                .find(|t| t.ends_with('/') && is_path(t))
                .map(str::to_string);
            sections.push((level, base));
            module_table = false;
            continue;
        }
        let base = sections.iter().rev().find_map(|(_, b)| b.clone());
        let row = line.trim_start().starts_with('|');
        if !row {
            module_table = false;
        } else if cells(line).first().is_some_and(|c| c.trim() == "module") {
            module_table = true;
        }
        let first_cell = if row && module_table {
            cells(line).first().map(|c| c.to_string())
        } else {
            None
        };
        let mut candidates: Vec<&str> = backticked(line)
            .into_iter()
            .filter(|t| is_path(t))
            .collect();
        if let Some(cell) = &first_cell {
            for token in backticked(cell) {
                if !candidates.contains(&token) && plain_name(token) {
                    candidates.push(token);
                }
            }
        }
        for written in candidates {
            let resolved = if from_root(written) {
                PathBuf::from(written)
            } else {
                let Some(base) = &base else {
                    return Err(format!(
                        "{DOC}:{number}: `{written}` is relative, but no heading above it names its source folder (e.g. `server/src/`)"
                    ));
                };
                Path::new(base).join(written)
            };
            named.push(Named {
                line: number,
                written: written.to_string(),
                resolved,
            });
        }
    }
    Ok(named)
}

/// `## …` → 2.
fn heading_level(line: &str) -> Option<usize> {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    (hashes > 0 && line[hashes..].starts_with(' ')).then_some(hashes)
}

/// The spans between backticks on a line.
fn backticked(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// The cells of a table row.
fn cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').collect()
}

/// Whether a backticked span is a source path by the convention.
fn is_path(token: &str) -> bool {
    (token.contains('/') || token.ends_with(".rs")) && plain_name(token)
}

/// No URL path, command or pattern: nothing but a name.
fn plain_name(token: &str) -> bool {
    !token.is_empty()
        && !token.starts_with('/')
        && !token.starts_with("target/")
        && !token.starts_with('.')
        && !token.contains(' ')
        && !token.contains('{')
        && !token.contains('…')
        && !token.contains("://")
        && !token.contains('=')
        && !token.contains('(')
}

/// Whether the first segment names a top-level entry of the repository.
fn from_root(token: &str) -> bool {
    const TOP: [&str; 16] = [
        "shared",
        "server",
        "client",
        "public",
        "testkit",
        "e2e",
        "loadgen",
        "bench",
        "xtask",
        "deploy",
        "docs",
        "fuzz",
        "interop",
        "Cargo.toml",
        "README.md",
        "Trunk.toml",
    ];
    let first = token.split('/').next().unwrap_or_default();
    TOP.contains(&first) || first == ".ci"
}

/// Whether `named` exists under `root`, by the rules in the module doc.
fn exists(root: &Path, named: &Named) -> bool {
    let path = root.join(&named.resolved);
    let text = named.resolved.to_string_lossy();
    if text.contains('*') {
        return glob_matches(&path);
    }
    let mut with_rs = path.clone().into_os_string();
    with_rs.push(".rs");
    path.exists() || PathBuf::from(with_rs).is_file()
}

/// Whether a file in the pattern's folder matches its last segment (`*` = any run).
fn glob_matches(pattern: &Path) -> bool {
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else {
        return false;
    };
    let name = name.to_string_lossy();
    let parts: Vec<&str> = name.split('*').collect();
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|entry| {
        let candidate = entry.file_name().to_string_lossy().into_owned();
        let mut rest = candidate.as_str();
        for (i, part) in parts.iter().enumerate() {
            if i == 0 {
                let Some(after) = rest.strip_prefix(part) else {
                    return false;
                };
                rest = after;
            } else if i == parts.len() - 1 {
                return rest.ends_with(part);
            } else {
                match rest.find(part) {
                    Some(at) => rest = &rest[at + part.len()..],
                    None => return false,
                }
            }
        }
        rest.is_empty()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_TEXT: &str = "\
# Architecture

Paths: `server/src/lib.rs`, `docs/ARCHITECTURE.md`, `GET /api/rooms/{room}`, `/ws/`.

## Server modules (`server/src/`)

| module | concept |
|---|---|
| `state` | the state |
| `room/actor`, `room/gone` | rooms |

### One actor per room

The actor (`room/actor.rs`) and its tests `server/tests/sync*.rs`.

```
room/not_a_path_in_code
```
";

    fn scratch() -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "xtask-doc-paths-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        for file in [
            "server/src/lib.rs",
            "server/src/state.rs",
            "server/src/room/actor.rs",
            "server/tests/sync.rs",
            "docs/ARCHITECTURE.md",
        ] {
            let path = root.join(file);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(&path, "").expect("write");
        }
        root
    }

    #[test]
    fn reads_paths_by_the_convention() {
        let named = named_paths(DOC_TEXT).expect("reads");
        let written: Vec<(&str, String)> = named
            .iter()
            .map(|n| (n.written.as_str(), n.resolved.display().to_string()))
            .collect();
        assert_eq!(
            written,
            [
                ("server/src/lib.rs", "server/src/lib.rs".to_string()),
                ("docs/ARCHITECTURE.md", "docs/ARCHITECTURE.md".to_string()),
                ("state", "server/src/state".to_string()),
                ("room/actor", "server/src/room/actor".to_string()),
                ("room/gone", "server/src/room/gone".to_string()),
                ("room/actor.rs", "server/src/room/actor.rs".to_string()),
                ("server/tests/sync*.rs", "server/tests/sync*.rs".to_string()),
            ]
        );
    }

    #[test]
    fn a_stale_name_is_reported_with_its_line() {
        let root = scratch();
        fs::write(root.join(DOC), DOC_TEXT).expect("write the doc");
        let outcome = check(&root);
        let _ = fs::remove_dir_all(&root);
        let err = outcome.expect_err("room/gone does not exist");
        assert!(
            err.contains("docs/ARCHITECTURE.md:10: `room/gone`"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 2, "only that one: {err}");
    }

    #[test]
    fn a_relative_path_needs_a_section_base() {
        let err = named_paths("# Map\n\nThe actor is `room/actor`.\n").expect_err("no base");
        assert!(err.contains("no heading above it"), "{err}");
    }
}
