//! Brotli and gzip copies of the built client, made once at build time so
//! the server sends them without compressing anything per request.
//!
//! `cargo xtask build` calls [`precompress`] on `dist/` after Trunk: each
//! file gets a `.br` and a `.gz` beside it, at the highest level of each
//! format, unless that copy would not be smaller. The server
//! (`server/src/http.rs`) picks the copy the request's `Accept-Encoding`
//! allows. `index.html` is left alone: the server hashes its inline scripts
//! into the page's Content-Security-Policy and always sends it as is.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::Result;

/// Files never given compressed copies (see the module doc).
const IDENTITY_ONLY: [&str; 1] = ["index.html"];

/// What [`precompress`] wrote, to print one line per format.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// Files given at least one compressed copy.
    pub files: usize,
    /// Bytes of those files before compression.
    pub raw: u64,
    /// Bytes of their `.br` copies.
    pub br: u64,
    /// Bytes of their `.gz` copies.
    pub gz: u64,
}

/// Writes `<file>.br` and `<file>.gz` beside every file under `dir`
/// (recursively), skipping [`IDENTITY_ONLY`], existing copies, and any copy
/// that would not be smaller than its file. Stale copies from an earlier
/// build are removed first, so a copy always matches its file.
pub(crate) fn precompress(dir: &Path) -> Result<Summary> {
    let mut files = Vec::new();
    list_files(dir, &mut files)?;
    let mut summary = Summary::default();
    for file in &files {
        if is_copy(file) {
            // Trunk empties dist/ on each build; this only matters when
            // precompress runs twice over the same output.
            continue;
        }
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        if IDENTITY_ONLY.contains(&name.as_ref()) {
            continue;
        }
        let raw = fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let br = brotli_bytes(&raw)?;
        let gz = gzip_bytes(&raw)?;
        let mut wrote = false;
        for (extension, bytes, total) in [("br", br, &mut summary.br), ("gz", gz, &mut summary.gz)]
        {
            let copy = with_extension(file, extension);
            if bytes.len() < raw.len() {
                fs::write(&copy, &bytes)
                    .map_err(|e| format!("cannot write {}: {e}", copy.display()))?;
                *total += bytes.len() as u64;
                wrote = true;
            } else if copy.exists() {
                fs::remove_file(&copy)
                    .map_err(|e| format!("cannot remove {}: {e}", copy.display()))?;
            }
        }
        if wrote {
            summary.files += 1;
            summary.raw += raw.len() as u64;
        }
    }
    Ok(summary)
}

/// `bytes` compressed with brotli at quality 11 and the largest window (the
/// maximum; decoders need no more memory for it than the file's size).
pub(crate) fn brotli_bytes(bytes: &[u8]) -> Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 24,
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)
        .map_err(|e| format!("brotli failed: {e}"))?;
    Ok(out)
}

/// `bytes` compressed with gzip at level 9.
pub(crate) fn gzip_bytes(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| format!("gzip failed: {e}"))
}

fn is_copy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "br" || extension == "gz")
}

/// `dist/x.js` → `dist/x.js.br`.
fn with_extension(path: &Path, extension: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

fn list_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
        if kind.is_dir() {
            list_files(&path, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::env;
    use std::io::Read as _;

    #[test]
    fn copies_decode_to_the_file_and_only_shrinking_ones_are_kept() {
        let dir = env::temp_dir().join(format!("xtask-compress-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("public")).expect("test file I/O");
        let text = "let x = 1;\n".repeat(500);
        fs::write(dir.join("app-0123456789abcdef.js"), &text).expect("test file I/O");
        fs::write(dir.join("public/tiny.txt"), "a").expect("test file I/O");
        fs::write(dir.join("index.html"), &text).expect("test file I/O");

        let summary = precompress(&dir).expect("test file I/O");
        assert_eq!(summary.files, 1);

        let mut decoded = Vec::new();
        let br = fs::read(dir.join("app-0123456789abcdef.js.br")).expect("test file I/O");
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut decoded)
            .expect("test file I/O");
        assert_eq!(decoded, text.as_bytes());
        let mut decoded = Vec::new();
        let gz = fs::read(dir.join("app-0123456789abcdef.js.gz")).expect("test file I/O");
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut decoded)
            .expect("test file I/O");
        assert_eq!(decoded, text.as_bytes());
        assert!(!dir.join("public/tiny.txt.br").exists());
        assert!(!dir.join("public/tiny.txt.gz").exists());
        assert!(!dir.join("index.html.br").exists());
        assert!(!dir.join("index.html.gz").exists());

        // A second run leaves the copies as they are and copies no copy.
        precompress(&dir).expect("test file I/O");
        assert!(!dir.join("app-0123456789abcdef.js.br.br").exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
