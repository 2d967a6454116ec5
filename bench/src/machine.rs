//! Facts about the machine and the software a bench run measured (CPU,
//! memory, kernel, load, tool and server versions, the commit), gathered by
//! the runner before it starts and shown by the report as data.

use std::process::Command;

use crate::procs::Launcher;

/// What the report says about the machine and the software measured.
pub fn facts(launcher: &Launcher) -> Vec<(String, String)> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let command = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into())
    };
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    // Not available_parallelism: the load generator is pinned to one CPU.
    let cores = read("/proc/cpuinfo")
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or("unknown".into(), |kib| {
            format!("{:.1} GiB", kib / 1048576.0)
        });
    let npm_version = |package: &str| {
        launcher
            .yjs_dir
            .as_ref()
            .and_then(|d| {
                std::fs::read_to_string(d.join("node_modules").join(package).join("package.json"))
                    .ok()
            })
            .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
            .and_then(|v| v.get("version")?.as_str().map(str::to_string))
            .unwrap_or_else(|| "not installed".into())
    };
    let ysweet =
        launcher
            .ysweet_bin
            .as_ref()
            .filter(|b| b.is_file())
            .map_or("not installed".into(), |b| {
                format!(
                    "{} (cargo install)",
                    command(&b.to_string_lossy(), &["version"])
                )
            });
    let commit = command("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !command("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty()
        && command("git", &["status", "--porcelain", "--untracked-files=no"]) != "unknown";
    vec![
        (
            "date".into(),
            command("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        ),
        ("CPU".into(), format!("{cpu}, {cores} cores")),
        ("memory".into(), mem_gib),
        (
            "kernel".into(),
            read("/proc/sys/kernel/osrelease").trim().to_string(),
        ),
        (
            "load average at start".into(),
            read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("rustc".into(), command("rustc", &["--version"])),
        ("node".into(), command("node", &["--version"])),
        (
            "Tandem".into(),
            format!(
                "commit {commit}{} (release build)",
                if dirty { " with local changes" } else { "" }
            ),
        ),
        (
            "Yjs reference server".into(),
            format!(
                "@y/websocket-server {}, yjs {}, y-protocols {}",
                npm_version("@y/websocket-server"),
                npm_version("yjs"),
                npm_version("y-protocols")
            ),
        ),
        ("y-sweet".into(), ysweet),
    ]
}
