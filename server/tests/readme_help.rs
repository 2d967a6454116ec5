//! README's "Server options" shows `tandem --help` as it is: the test runs
//! the binary and compares its output with the block, line for line
//! (trailing spaces aside), so a new flag, command or changed default
//! cannot leave the README behind.

use std::path::Path;
use std::process::Command;

/// The fenced block after `marker` in `text`.
fn block_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("README has no {marker:?}"));
    let fence = text[start..].find("```text\n").expect("a ```text block") + start + 8;
    let end = text[fence..].find("\n```").expect("the block's end") + fence;
    &text[fence..end]
}

#[test]
fn the_readme_shows_the_help_as_it_is() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("read README.md");
    let shown = block_after(&readme, "Output of `cargo run -p tandem-server -- --help`:");
    let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
    command.arg("--help");
    // `[env: NAME=value]` would show the runner's settings.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TANDEM_") {
            command.env_remove(name);
        }
    }
    let output = command.output().expect("run tandem --help");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    // Trailing spaces aside (clap indents blank lines; the README does not).
    let help: String = help
        .trim_end()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    let help = help.as_str();
    if shown != help {
        let first = shown
            .lines()
            .zip(help.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| shown.lines().count().min(help.lines().count()));
        panic!(
            "README's help block differs from `tandem --help` at line {}:\nREADME: {:?}\nbinary: {:?}\n\nthe whole help:\n{help}",
            first + 1,
            shown.lines().nth(first),
            help.lines().nth(first)
        );
    }
}
