//! `cargo xtask size`: what the bytes of the web client's wasm are.
//!
//! The wasm in `dist/` has lost its function names to wasm-opt, so this
//! rebuilds the same file with names kept: the wasm cargo built for `dist/`
//! goes through wasm-bindgen and `wasm-opt -Oz --debuginfo` (the steps Trunk
//! takes, with the name section kept), and twiggy reads it. The code and data
//! of that file are the bytes `dist/` ships (within a few hundred bytes);
//! the names are extra. It prints, as Markdown for docs/BENCHMARKS.md, the
//! shipped sizes of the assets (raw, gzip and brotli, as served), the 20
//! largest items and the bytes of each crate (the crate an item's path
//! starts with; for a trait method, the implementing type's crate).
//!
//! twiggy is installed with `cargo install` when missing (a few minutes).

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::{Result, Workspace, capture, run, step_ok, step_todo, tool_version};

/// The twiggy release whose CSV this reads.
const TWIGGY_VERSION: &str = "0.8.0";

/// How many items and crates the tables list.
const TOP: usize = 20;

pub(crate) fn size(ws: &Workspace) -> Result {
    let tools = ws.build_client()?;
    let twiggy = ensure_twiggy(ws)?;
    let target = ws.target_dir();
    let cargo_wasm = target.join("wasm32-unknown-unknown/wasm-release/tandem-client.wasm");
    if !cargo_wasm.is_file() {
        return Err(format!(
            "{} is missing after the build",
            cargo_wasm.display()
        ));
    }
    let out = target.join("wasm-size");
    fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    step_todo("wasm-bindgen and wasm-opt -Oz with names kept");
    run(Command::new(ws.cargo_bin.join("wasm-bindgen"))
        .args(["--target", "web", "--out-dir"])
        .arg(&out)
        .arg(&cargo_wasm))?;
    let named = out.join("named.wasm");
    let wasm_opt = tools.binaryen_bin.join("wasm-opt");
    run(Command::new(wasm_opt)
        .args(["-Oz", "--debuginfo"])
        .arg(out.join("tandem-client_bg.wasm"))
        .arg("-o")
        .arg(&named))?;

    step_todo("twiggy top");
    let csv = capture(
        Command::new(twiggy)
            .args(["top", "-n", "1000000", "-f", "csv"])
            .arg(&named),
    )?;
    let items = parse_items(&csv)?;
    print!("{}", assets_table(&ws.root.join("dist"))?);
    print!("{}", report(&items));
    Ok(())
}

fn ensure_twiggy(ws: &Workspace) -> Result<std::path::PathBuf> {
    let path = ws.cargo_bin.join("twiggy");
    if tool_version(&path).as_deref() == Some(TWIGGY_VERSION) {
        step_ok(&format!("twiggy {TWIGGY_VERSION}: installed"));
        return Ok(path);
    }
    step_todo(&format!(
        "twiggy {TWIGGY_VERSION}: installing (a few minutes)"
    ));
    run(Command::new(&ws.cargo).args([
        "install",
        "twiggy",
        "--version",
        TWIGGY_VERSION,
        "--locked",
    ]))?;
    Ok(path)
}

/// One row of twiggy's `top`: an item and its own size in bytes.
#[derive(Debug, PartialEq)]
struct Item {
    name: String,
    bytes: u64,
}

impl Item {
    /// Function names and other custom sections: in the analysed file only.
    fn is_metadata(&self) -> bool {
        self.name.contains("function names") || self.name.starts_with("custom section")
    }

    /// The crate the item belongs to: the first path segment, or for
    /// `<Type as Trait>::method` the type's crate when it has one.
    fn krate(&self) -> &str {
        let name = self.name.trim_start_matches(['<', '&']);
        let name = name.strip_prefix("mut ").unwrap_or(name);
        if self.name.starts_with("data segment") || self.name.starts_with("data[") {
            return "(data: strings and tables)";
        }
        let end = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        let first = &name[..end];
        // `core[c5930c85a12de822]::…`: a disambiguator may sit before `::`.
        let rest = &name[end..];
        let rest = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((hash, after)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => after,
            _ => rest,
        };
        let is_path = rest.starts_with("::");
        if is_path && first.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            first
        } else if let Some(at) = name.find(" as ") {
            let rest = &name[at + 4..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        } else {
            "(other)"
        }
    }
}

/// Reads twiggy's CSV (`Name,ShallowSize,…`; names are quoted, with `""`
/// for a quote inside).
fn parse_items(csv: &str) -> Result<Vec<Item>> {
    let mut lines = csv.lines();
    match lines.next() {
        Some(header) if header.starts_with("Name,ShallowSize") => {}
        other => return Err(format!("twiggy printed an unexpected header: {other:?}")),
    }
    lines
        .filter(|l| !l.is_empty())
        .map(|line| {
            let fields = split_csv(line);
            let bytes = fields
                .get(1)
                .and_then(|b| b.parse().ok())
                .ok_or_else(|| format!("twiggy row without a size: {line}"))?;
            Ok(Item {
                name: fields.into_iter().next().unwrap_or_default(),
                bytes,
            })
        })
        .collect()
}

fn split_csv(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// The largest items and the bytes per crate, as Markdown.
fn report(items: &[Item]) -> String {
    let shipped: Vec<&Item> = items.iter().filter(|i| !i.is_metadata()).collect();
    let total: u64 = shipped.iter().map(|i| i.bytes).sum();
    let share = |bytes: u64| 100.0 * bytes as f64 / total.max(1) as f64;
    let mut out = format!("\nwasm code and data: {total} B (names and custom sections left out)\n");

    out.push_str(&format!(
        "\n| the {TOP} largest items | bytes | share |\n|---|---:|---:|\n"
    ));
    let mut largest = shipped.clone();
    largest.sort_by_key(|i| std::cmp::Reverse(i.bytes));
    for item in largest.iter().take(TOP) {
        out.push_str(&format!(
            "| `{}` | {} | {:.1}% |\n",
            shorten(&item.name),
            item.bytes,
            share(item.bytes)
        ));
    }

    let mut crates: HashMap<&str, u64> = HashMap::new();
    for item in &shipped {
        *crates.entry(item.krate()).or_default() += item.bytes;
    }
    let mut crates: Vec<(&str, u64)> = crates.into_iter().collect();
    crates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    out.push_str(&format!(
        "\n| crate (the {TOP} largest) | bytes | share |\n|---|---:|---:|\n"
    ));
    for (krate, bytes) in crates.iter().take(TOP) {
        out.push_str(&format!("| {krate} | {bytes} | {:.1}% |\n", share(*bytes)));
    }
    out
}

/// An item's name without its hash suffix and crate disambiguators, cut to
/// a readable length.
fn shorten(name: &str) -> String {
    let mut name = name.to_owned();
    if let Some(at) = name.rfind("::h")
        && name[at + 3..].chars().all(|c| c.is_ascii_hexdigit())
    {
        name.truncate(at);
    }
    while let Some(open) = name.find('[') {
        match name[open..].find(']') {
            Some(len)
                if name[open + 1..open + len]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit()) =>
            {
                name.replace_range(open..=open + len, "");
            }
            _ => break,
        }
    }
    let name = name.replace('|', "\\|").replace('`', "'");
    match name.char_indices().nth(90) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name,
    }
}

/// The assets of `dist/` a first visit loads, with their served sizes.
fn assets_table(dist: &Path) -> Result<String> {
    let mut rows = Vec::new();
    let entries = fs::read_dir(dist).map_err(|e| format!("cannot read {}: {e}", dist.display()))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "js" | "css" | "html")
        ) {
            continue;
        }
        let len = |p: &Path| fs::metadata(p).map(|m| m.len()).ok();
        let raw = len(&path).unwrap_or(0);
        let with = |ext: &str| len(&path.with_file_name(format!("{name}.{ext}")));
        rows.push((name.clone(), raw, with("gz"), with("br")));
    }
    rows.sort();
    let mut out = String::from("\n| asset | raw | gzip | brotli |\n|---|---:|---:|---:|\n");
    let show = |v: Option<u64>| v.map_or_else(|| "(sent raw)".to_owned(), |v| v.to_string());
    let mut served = 0;
    for (name, raw, gz, br) in &rows {
        served += br.unwrap_or(*raw);
        out.push_str(&format!(
            "| {name} | {raw} | {} | {} |\n",
            show(*gz),
            show(*br)
        ));
    }
    out.push_str(&format!(
        "\nfirst visit, brotli where the server has it: {served} B\n"
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str) -> Item {
        Item {
            name: name.to_owned(),
            bytes: 1,
        }
    }

    #[test]
    fn csv_rows_keep_commas_and_quotes_inside_names() {
        let csv = "Name,ShallowSize,ShallowSizePercent,RetainedSize,RetainedSizePercent\n\
                   \"\"\"function names\"\" subsection\",10,1.0,,\n\
                   \"<either_of::Either<A,B> as x::Y>::choose\",7,0.5,,\n";
        let items = parse_items(csv).expect("parses");
        assert_eq!(items[0].name, "\"function names\" subsection");
        assert!(items[0].is_metadata());
        assert_eq!(items[1].name, "<either_of::Either<A,B> as x::Y>::choose");
        assert_eq!(items[1].bytes, 7);
        assert!(parse_items("nonsense\n").is_err());
    }

    #[test]
    fn items_belong_to_their_crate() {
        assert_eq!(
            item("yrs::transaction::TransactionMut::commit::h90a4").krate(),
            "yrs"
        );
        assert_eq!(
            item("core[c5930c85a12de822]::fmt::float::x").krate(),
            "core"
        );
        assert_eq!(
            item("<tachys::view::X as tachys::view::Render>::build").krate(),
            "tachys"
        );
        assert_eq!(
            item("<f64 as core[c59]::fmt::Display>::fmt").krate(),
            "core"
        );
        assert_eq!(
            item("data segment \".rodata.13\"").krate(),
            "(data: strings and tables)"
        );
        assert_eq!(item("table[0]").krate(), "(other)");
    }

    #[test]
    fn names_lose_hashes_and_disambiguators() {
        assert_eq!(
            shorten("<f64 as core[c5930c85a12de822]::fmt::Display>::fmt"),
            "<f64 as core::fmt::Display>::fmt"
        );
        assert_eq!(
            shorten("yrs::transaction::TransactionMut::commit::h90a49f9e918a1c48"),
            "yrs::transaction::TransactionMut::commit"
        );
    }
}
