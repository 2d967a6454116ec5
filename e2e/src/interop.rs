//! [`YjsPeer`]: a stock Yjs client in a child process — `interop/yjs_peer.mjs`
//! (yjs + y-websocket's `WebsocketProvider`) under Node, or
//! `interop/yjs_peer.py` (pycrdt + pycrdt-websocket) under Python — driven
//! over stdin/stdout with one JSON object per line (the commands are listed
//! at the top of each script).
//!
//! `cargo xtask test` installs their packages into `target/interop`
//! (`node_modules/` and a `venv/`) and passes that folder in
//! `TANDEM_INTEROP_DIR`. Without it the tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::paths;
use tandem_testkit::try_poll;

/// How long one command may take to be answered.
const ANSWER: Duration = Duration::from_secs(15);

/// Which stock client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YjsRuntime {
    /// `yjs_peer.mjs`: yjs and y-websocket's provider, under Node.
    Node,
    /// `yjs_peer.py`: pycrdt and pycrdt-websocket, under Python.
    Python,
}

/// What a peer answers to `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YjsState {
    /// `content` as this peer has it.
    pub text: String,
    /// Whether its provider reports the document synced.
    pub synced: bool,
    /// The names in its awareness, other than its own, sorted.
    pub peers: Vec<String>,
}

/// A running stock Yjs client. Dropping it kills the process.
#[derive(Debug)]
pub struct YjsPeer {
    /// Which client, for messages.
    runtime: YjsRuntime,
    /// The name it announces in awareness.
    name: String,
    /// The process (killed on drop).
    child: Child,
    /// Where commands go.
    stdin: ChildStdin,
    /// Where answers come from, one line each.
    stdout: Lines<BufReader<ChildStdout>>,
    /// The process's stderr, quoted when something fails.
    stderr: PathBuf,
}

impl YjsPeer {
    /// Starts the `runtime` client on `room` of the server at `ws_base`
    /// (`ws://127.0.0.1:<port>`; the peer connects to `/yjs/{room}`) as
    /// `name`, with the share `key` if any. It connects in the background;
    /// [`YjsPeer::wait_until`] waits for what it should see.
    pub async fn start(
        runtime: YjsRuntime,
        ws_base: &str,
        room: &str,
        name: &str,
        key: Option<&str>,
    ) -> Self {
        let installed = installed_dir();
        let (program, script) = match runtime {
            YjsRuntime::Node => (PathBuf::from("node"), node_script(&installed)),
            YjsRuntime::Python => (
                installed.join("venv/bin/python"),
                interop_source().join("yjs_peer.py"),
            ),
        };
        let stderr = paths::fresh_dir("yjs-peer").join("stderr.log");
        let stderr_file = std::fs::File::create(&stderr)
            .unwrap_or_else(|err| panic!("cannot create {}: {err}", stderr.display()));
        let mut command = Command::new(&program);
        command
            .arg(&script)
            .arg(format!("{ws_base}/yjs"))
            .arg(room)
            .arg(name)
            .args(key)
            .current_dir(&installed)
            // Python answers through a pipe: no buffering between lines.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr_file)
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|err| {
            panic!(
                "cannot start the {runtime:?} Yjs peer ({} {}): {err}",
                program.display(),
                script.display()
            )
        });
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            unreachable!("stdin and stdout are piped");
        };
        Self {
            runtime,
            name: name.to_owned(),
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            stderr,
        }
    }

    /// Inserts `text` at `index` of `content`, as the app would.
    pub async fn insert(&mut self, index: u32, text: &str) {
        self.call(json!({"cmd": "insert", "index": index, "text": text}))
            .await;
    }

    /// Puts this peer's awareness cursor at `index` (Node peer only).
    pub async fn cursor(&mut self, index: u32) {
        self.call(json!({"cmd": "cursor", "index": index})).await;
    }

    /// Sends a malformed update frame on the provider's socket (Node peer only).
    pub async fn bad_update(&mut self) {
        self.call(json!({"cmd": "bad_update"})).await;
    }

    /// The document and awareness as this peer has them now.
    pub async fn state(&mut self) -> YjsState {
        let answer = self.call(json!({"cmd": "state"})).await;
        let peers = answer["peers"]
            .as_array()
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        match (answer["text"].as_str(), answer["synced"].as_bool()) {
            (Some(text), Some(synced)) => YjsState {
                text: text.to_owned(),
                synced,
                peers,
            },
            _ => panic!(
                "the {:?} Yjs peer answered `state` with {answer}",
                self.runtime
            ),
        }
    }

    /// Waits until this peer's state satisfies `pred` (described by `what`);
    /// returns that state.
    pub async fn wait_until(
        &mut self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&YjsState) -> bool,
    ) -> YjsState {
        let found = try_poll(deadline, async || {
            let state = self.state().await;
            if pred(&state) {
                Ok(state)
            } else {
                Err(format!("{state:?}"))
            }
        })
        .await;
        match found {
            Ok(state) => state,
            Err(seen) => panic!(
                "waited {deadline:?} for the {:?} Yjs peer {} to show {what}; last saw {seen}\n{}",
                self.runtime,
                self.name,
                self.stderr_tail()
            ),
        }
    }

    /// Waits until this peer is synced and its text is exactly `expected`.
    pub async fn wait_for_text(&mut self, expected: &str, deadline: Duration) -> YjsState {
        self.wait_until(&format!("the text {expected:?}"), deadline, |s| {
            s.synced && s.text == expected
        })
        .await
    }

    /// Asks the peer to quit and waits for it to exit.
    pub async fn quit(mut self) {
        let line = format!("{}\n", json!({"cmd": "quit"}));
        let _ = self.stdin.write_all(line.as_bytes()).await;
        let _ = self.stdin.flush().await;
        if tokio::time::timeout(ANSWER, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    /// Sends one command and reads its answer.
    async fn call(&mut self, command: Value) -> Value {
        let line = format!("{command}\n");
        let sent = async {
            self.stdin.write_all(line.as_bytes()).await?;
            self.stdin.flush().await
        };
        if let Err(err) = sent.await {
            panic!(
                "the {:?} Yjs peer {} does not take commands ({err}); has it exited?\n{}",
                self.runtime,
                self.name,
                self.stderr_tail()
            );
        }
        let answer = match tokio::time::timeout(ANSWER, self.stdout.next_line()).await {
            Ok(Ok(Some(answer))) => answer,
            Ok(Ok(None)) => panic!(
                "the {:?} Yjs peer {} exited instead of answering {command}\n{}",
                self.runtime,
                self.name,
                self.stderr_tail()
            ),
            Ok(Err(err)) => panic!(
                "cannot read the {:?} Yjs peer's answer: {err}",
                self.runtime
            ),
            Err(_) => panic!(
                "the {:?} Yjs peer {} did not answer {command} within {ANSWER:?}\n{}",
                self.runtime,
                self.name,
                self.stderr_tail()
            ),
        };
        serde_json::from_str(&answer).unwrap_or_else(|err| {
            panic!(
                "the {:?} Yjs peer answered {command} with a line that is not JSON ({err}): {answer}",
                self.runtime
            )
        })
    }

    /// The end of the process's stderr.
    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!(
            "its stderr ({}):\n{}",
            self.stderr.display(),
            if tail.is_empty() { "(empty)" } else { &tail }
        )
    }
}

/// `interop/` in the repository: the peer scripts and their package lists.
fn interop_source() -> PathBuf {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR"));
    e2e.parent().unwrap_or(e2e).join("interop")
}

/// `TANDEM_INTEROP_DIR`, checked: it must hold what `cargo xtask test` installs.
fn installed_dir() -> PathBuf {
    let Some(dir) = std::env::var_os(crate::env::INTEROP_DIR).filter(|v| !v.is_empty()) else {
        panic!(
            "{} is not set: the interop tests need the stock Yjs clients that `cargo xtask test` \
             installs (npm packages and a Python venv under target/interop). Run `cargo xtask test`, \
             or after it: {}=$PWD/target/interop cargo test -p tandem-e2e --test interop",
            crate::env::INTEROP_DIR,
            crate::env::INTEROP_DIR,
        );
    };
    let dir = PathBuf::from(dir);
    for needed in [
        "node_modules/yjs/package.json",
        "node_modules/y-websocket/package.json",
        "venv/bin/python",
    ] {
        if !dir.join(needed).exists() {
            panic!(
                "{}={} lacks {needed}: install the interop clients with `cargo xtask test`",
                crate::env::INTEROP_DIR,
                dir.display()
            );
        }
    }
    dir
}

/// The Node script, copied next to the installed `node_modules` (Node
/// resolves `import 'yjs'` from the script's own folder). Copied once per
/// test process from `interop/`, so an edit there is always what runs; the
/// copy is renamed into place, so concurrent processes never see half a file.
fn node_script(installed: &Path) -> PathBuf {
    static COPIED: OnceLock<PathBuf> = OnceLock::new();
    COPIED
        .get_or_init(|| {
            let source = interop_source().join("yjs_peer.mjs");
            let target = installed.join("yjs_peer.mjs");
            let staging = installed.join(format!(".yjs_peer.mjs.{}", std::process::id()));
            if let Err(err) =
                std::fs::copy(&source, &staging).and_then(|_| std::fs::rename(&staging, &target))
            {
                panic!(
                    "cannot copy {} to {}: {err}",
                    source.display(),
                    target.display()
                );
            }
            target
        })
        .clone()
}
