//! `cargo xtask soak [--cycles N] […]`: the crash soak (`server/tests/soak.rs`)
//! against a release build, many cycles: the server is SIGKILLed at random
//! moments while native clients type, 200 cycles by default (a few
//! minutes). It prints its figures and fails if an acknowledged edit was
//! lost or replicas differ. Not part of `cargo xtask test`, which runs the
//! same test for a few cycles.

use std::path::Path;

const USAGE: &str = "\
Usage: cargo xtask soak [--cycles N] [--rooms N] [--clients N] [--kill-within-ms N] [--seed N]

  --cycles N          kill-and-restart cycles (default 200, a few minutes)
  --rooms N           rooms the clients type into (default 4)
  --clients N         native clients typing, spread over the rooms (default 16)
  --kill-within-ms N  each kill comes within this long of the clients connecting (default 400)
  --seed N            seed of every random choice (default 1)
";

/// The options and the variable of `server/tests/soak.rs` each one sets.
const OPTIONS: [(&str, &str); 5] = [
    ("--cycles", "TANDEM_SOAK_CYCLES"),
    ("--rooms", "TANDEM_SOAK_ROOMS"),
    ("--clients", "TANDEM_SOAK_CLIENTS"),
    ("--kill-within-ms", "TANDEM_SOAK_KILL_WITHIN_MS"),
    ("--seed", "TANDEM_SOAK_SEED"),
];

/// Runs the soak; `args` are what follows `soak` on the command line.
pub(crate) fn soak(workspace_root: &Path, args: &[String]) -> Result<(), String> {
    let mut soak = crate::bench::cargo(workspace_root);
    soak.args(["test", "--release", "-p", "tandem-server", "--test", "soak"])
        .args(["--", "--nocapture"])
        .env("TANDEM_SOAK_CYCLES", "200");
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "-h" || arg == "--help" {
            print!("{USAGE}");
            return Ok(());
        }
        let Some((_, var)) = OPTIONS.iter().find(|(option, _)| option == arg) else {
            return Err(format!("unknown option `{arg}` for soak\n\n{USAGE}"));
        };
        match rest.next().filter(|n| n.parse::<u64>().is_ok()) {
            Some(n) => soak.env(var, n),
            None => return Err(format!("{arg} needs a number\n\n{USAGE}")),
        };
    }
    crate::run(&mut soak)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_it_does_not_know() {
        let err = soak(Path::new("/nonexistent"), &["--fast".into()]).expect_err("refused");
        assert!(err.contains("unknown option `--fast`"), "{err}");
        let err =
            soak(Path::new("/nonexistent"), &["--cycles".into(), "x".into()]).expect_err("refused");
        assert!(err.contains("--cycles needs a number"), "{err}");
    }
}
