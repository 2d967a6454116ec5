//! What `/proc` says about a process: its memory, its CPU time and its
//! open-file limit. The drivers time their runs' CPU with it; the bench
//! reads its servers' memory with it.

use std::process::Command;
use std::sync::OnceLock;

/// Resident memory of process `pid`, KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// The most resident memory process `pid` has had, KiB (`VmHWM`).
pub fn peak_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// A `KiB` figure of `/proc/<pid>/status`, by its label.
fn status_kib(pid: u32, label: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(label))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The soft open-file limit of process `pid`.
pub fn max_open_files(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// CPU time (user + system) of process `pid`, seconds.
pub fn pid_cpu_secs(pid: u32) -> Option<f64> {
    cpu_secs(&format!("/proc/{pid}/stat"))
}

/// CPU time (user + system) of this process, seconds.
pub fn self_cpu_secs() -> Option<f64> {
    cpu_secs("/proc/self/stat")
}

fn cpu_secs(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the parenthesised command name, which may hold spaces.
    let (_, after) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` once (no unsafe code here).
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process_figures() {
        let me = std::process::id();
        assert!(rss_kib(me).is_some_and(|kib| kib > 0));
        assert!(peak_kib(me).is_some_and(|kib| kib > 0));
        assert!(max_open_files(me).is_some_and(|n| n > 0));
        assert!(self_cpu_secs().is_some());
    }
}
