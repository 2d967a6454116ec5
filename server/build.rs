//! Builds the table of the web client embedded in the `tandem` binary.
//!
//! When `TANDEM_EMBED_CLIENT` names a built client (`dist/`, with the
//! `.br` and `.gz` copies `cargo xtask build` writes), every file under it
//! is compiled into the binary with `include_bytes!`, with its path and
//! modification time, and `http::bundle` serves them from memory.
//! `cargo xtask dist` sets it; a plain `cargo build` or `cargo test` leaves
//! it unset, embeds nothing and needs no built client.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The variable naming the client to embed (an absolute path is safest:
/// a relative one is taken from the server crate's directory).
const EMBED: &str = "TANDEM_EMBED_CLIENT";

fn main() {
    println!("cargo:rerun-if-env-changed={EMBED}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let table = match std::env::var_os(EMBED).filter(|dir| !dir.is_empty()) {
        None => "&[]".to_owned(),
        Some(dir) => {
            let dir = PathBuf::from(dir);
            let dir = if dir.is_absolute() {
                dir
            } else {
                Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join(dir)
            };
            println!("cargo:rerun-if-changed={}", dir.display());
            let mut files = Vec::new();
            collect(&dir, &dir, &mut files);
            assert!(
                files.iter().any(|(path, _, _)| path == "index.html"),
                "{EMBED}={} holds no index.html: build the client first (`cargo xtask build`)",
                dir.display()
            );
            files.sort();
            let mut table = String::from("&[\n");
            for (path, file, modified) in &files {
                println!("cargo:rerun-if-changed={}", file.display());
                writeln!(
                    table,
                    "    EmbeddedFile {{ path: {path:?}, bytes: include_bytes!({:?}), modified: {modified} }},",
                    file.display().to_string()
                )
                .expect("write to a String");
            }
            table.push(']');
            table
        }
    };
    let code = format!(
        "/// Every file of the embedded client (empty: none was embedded).\n\
         static FILES: &[EmbeddedFile] = {table};\n"
    );
    std::fs::write(out.join("embedded_client.rs"), code).expect("write embedded_client.rs");
}

/// Every file under `dir`: its path relative to `root` (with `/`), where
/// it is, and when it was last modified (seconds since the Unix epoch).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf, u64)>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{EMBED}: cannot read {}: {err}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|err| panic!("{EMBED}: {}: {err}", dir.display()));
        let path = entry.path();
        let meta = std::fs::metadata(&path)
            .unwrap_or_else(|err| panic!("{EMBED}: {}: {err}", path.display()));
        if meta.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, files);
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .expect("under the root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        files.push((relative, path, modified));
    }
}
