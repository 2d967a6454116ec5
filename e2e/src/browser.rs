//! [`Browser`]: one chromedriver per test binary, and Chromium sessions
//! opened through it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::ClientBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::OnceCell;

use crate::page::Page;
use crate::paths;

/// How long chromedriver may take to answer `/status` after it starts.
const STARTUP: Duration = Duration::from_secs(30);

/// Runs chromedriver (`$0 "$@"`) in a process group of its own and, when
/// its standard input closes, stops the whole group: chromedriver and every
/// Chromium it started (chromedriver leaves them running when it is killed).
/// The test binary holds the other end of that pipe, and the kernel closes it
/// whenever the process ends, however it ends: the shared [`Browser`] lives
/// in a `static`, which Rust never drops, so this is what cleans up at the
/// end of a test run.
const LIFELINE: &str = r#""$0" "$@" </dev/null &
stop() { trap '' TERM; kill -TERM 0 2>/dev/null; wait; }
trap stop EXIT
trap 'exit 1' HUP INT TERM
while read -r _; do :; done
"#;

/// A running chromedriver, from which each test opens its own sessions.
#[derive(Debug)]
pub struct Browser {
    /// `http://127.0.0.1:<port>/`, chromedriver's WebDriver endpoint.
    webdriver: String,
    /// The Chromium binary sessions start.
    chromium: PathBuf,
    /// chromedriver's output, quoted when something fails.
    log: PathBuf,
    /// The lifeline shell around chromedriver.
    child: Child,
    /// The write end of the lifeline: dropping it stops chromedriver.
    lifeline: Option<ChildStdin>,
}

impl Browser {
    /// The chromedriver of this test binary, started on first use.
    pub async fn shared() -> &'static Browser {
        static SHARED: OnceCell<Browser> = OnceCell::const_new();
        SHARED.get_or_init(Browser::start).await
    }

    /// Starts a chromedriver on a free port and waits until it is ready.
    pub async fn start() -> Browser {
        let chromedriver = binary(crate::env::CHROMEDRIVER, "/usr/bin/chromedriver");
        let chromium = binary(crate::env::CHROMIUM, "/usr/bin/chromium");
        let port = free_port();
        let dir = paths::process_dir();
        let tmp = dir.join("tmp");
        if let Err(err) = std::fs::create_dir_all(&tmp) {
            panic!("cannot create {}: {err}", tmp.display());
        }
        let log = dir.join(format!("chromedriver-{port}.log"));
        let output = File::create(&log)
            .and_then(|f| Ok((f.try_clone()?, f)))
            .unwrap_or_else(|err| panic!("cannot create {}: {err}", log.display()));

        let mut command = Command::new("sh");
        // Its own group, so the lifeline's `kill 0` reaches only chromedriver and Chromium.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .arg("-c")
            .arg(LIFELINE)
            .arg(&chromedriver)
            .arg(format!("--port={port}"))
            // Chromium inherits it: profiles and crash dumps stay under target/.
            .env("TMPDIR", &tmp)
            .stdin(Stdio::piped())
            .stdout(output.0)
            .stderr(output.1)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", chromedriver.display()));
        let lifeline = child.stdin.take();
        let browser = Browser {
            webdriver: format!("http://127.0.0.1:{port}/"),
            chromium,
            log,
            child,
            lifeline,
        };

        let ready = tandem_testkit::try_poll(STARTUP, async || {
            if browser.is_ready(port).await {
                Ok(())
            } else {
                Err("no answer".to_owned())
            }
        })
        .await;
        if ready.is_err() {
            panic!(
                "{} did not answer on port {port} within {STARTUP:?}; its log:\n{}",
                chromedriver.display(),
                browser.log_tail()
            );
        }
        browser
    }

    /// Opens a new Chromium session with its own fresh profile, whose pages
    /// resolve paths against `base` (the server's `http://127.0.0.1:<port>`).
    pub async fn session(&self, base: &str) -> Page {
        self.session_with_prefs(base, json!({})).await
    }

    /// [`Browser::session`] with Chromium preferences set in its profile
    /// (`goog:chromeOptions.prefs`), e.g. site data blocked.
    pub async fn session_with_prefs(&self, base: &str, prefs: Value) -> Page {
        let profile = paths::fresh_dir("profile");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
                // Network events only: what frames() reads.
                "perfLoggingPrefs": {"enableNetwork": true, "enablePage": false},
                "prefs": prefs,
            },
            "goog:loggingPrefs": {"performance": "ALL"},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a json! object literal is an object");
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.webdriver)
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "cannot open a Chromium session ({}) through chromedriver at {}: {err}\n\
                     chromedriver's log:\n{}",
                    self.chromium.display(),
                    self.webdriver,
                    self.log_tail()
                )
            });
        Page::new(client, base, profile)
    }

    /// Whether chromedriver answers `GET /status` with `"ready": true`.
    async fn is_ready(&self, port: u16) -> bool {
        let attempt = async {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            stream
                .write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .await?;
            // Read until the answer says it (chromedriver may keep the
            // connection open, so end-of-stream is not the signal).
            let mut response = Vec::new();
            let mut chunk = [0; 4096];
            loop {
                let n = stream.read(&mut chunk).await?;
                response.extend_from_slice(&chunk[..n]);
                let text: String = String::from_utf8_lossy(&response)
                    .split_whitespace()
                    .collect();
                if n == 0 || text.contains("\"ready\":") {
                    return Ok::<_, std::io::Error>(text.contains("\"ready\":true"));
                }
            }
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), attempt).await,
            Ok(Ok(true))
        )
    }

    /// The end of chromedriver's log.
    fn log_tail(&self) -> String {
        paths::log_tail(&self.log)
    }
}

impl Drop for Browser {
    /// Closes the lifeline (the shell stops chromedriver and waits for it),
    /// then reaps the shell; kills it if it lingers.
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$var`, else `default`; it must exist.
fn binary(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from);
    if !Path::new(&path).is_file() {
        panic!(
            "{} does not exist (set {var} to override). Install Chromium and its driver with \
             `apt-get install -y chromium chromium-driver`, or run `cargo xtask test`, which does.",
            path.display()
        );
    }
    path
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|err| panic!("cannot find a free port: {err}"))
}
