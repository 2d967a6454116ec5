//! [`Nginx`]: Debian's nginx running the repository's `deploy/nginx.conf` in
//! front of two Tandem nodes, for the tests of the load balancer (the
//! server's and the browser's).
//!
//! The configuration is the shipped file with two changes only: its two
//! upstream servers become the test's nodes and its listen port a free
//! loopback one, so a test checks what an operator deploys. The binary is
//! `TANDEM_TEST_NGINX` or `/usr/sbin/nginx` (`cargo xtask test` installs it
//! when missing); a test without it fails, it never skips.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{DEADLINE, TempDir};

/// Names the nginx binary when it is not `/usr/sbin/nginx`.
pub const NGINX_ENV: &str = "TANDEM_TEST_NGINX";

/// A running nginx; stopped on drop, its workers with it.
#[derive(Debug)]
pub struct Nginx {
    /// The loopback port it listens on.
    port: u16,
    /// The nginx master process.
    child: Child,
    /// Its configuration, pid file and logs.
    dir: TempDir,
}

impl Nginx {
    /// Starts nginx with `deploy/nginx.conf`, its upstreams set to `nodes`
    /// (`host:port`), and waits until it listens.
    pub fn start(nodes: [&str; 2]) -> Self {
        let binary = std::env::var(NGINX_ENV).unwrap_or_else(|_| "/usr/sbin/nginx".into());
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf");
        let config = std::fs::read_to_string(&source).expect("read deploy/nginx.conf");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let upstreams: Vec<&str> = config
            .lines()
            .filter(|l| l.trim_start().starts_with("server 127.0.0.1:"))
            .collect();
        assert_eq!(
            upstreams.len(),
            2,
            "deploy/nginx.conf names two upstream servers"
        );
        let mut ours = config.replace("listen 8080;", &format!("listen 127.0.0.1:{port};"));
        for (line, node) in upstreams.iter().zip(nodes) {
            let address = line.split_whitespace().nth(1).expect("an address");
            ours = ours.replacen(line, &line.replacen(address, node, 1), 1);
        }
        let dir = TempDir::new("nginx");
        std::fs::create_dir_all(dir.path().join("logs")).expect("a logs folder");
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, ours).expect("write the config");
        let globals = format!(
            "daemon off; pid {0}/nginx.pid; error_log {0}/error.log;",
            dir.path().display()
        );
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&file)
            .arg("-p")
            .arg(format!("{}/", dir.path().display()))
            .args(["-g", &globals])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary} (set {NGINX_ENV}): {e}"));
        let deadline = Instant::now() + DEADLINE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen within {DEADLINE:?}: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            // Polling a port with a deadline: nginx gives no other signal.
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, child, dir }
    }

    /// `http://127.0.0.1:<port>`, what a browser opens.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The socket URL of `room` through nginx.
    pub fn ws_url(&self, room: &str) -> String {
        tandem_shared::RoomId::new(room)
            .expect("a valid room name")
            .ws_url(&format!("ws://127.0.0.1:{}", self.port))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master stops its workers before it
        // exits (killed outright, it left them running, orphaned, after
        // every test). SIGKILL only if it has not gone within the deadline.
        let asked = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        let deadline = Instant::now() + DEADLINE;
        while asked && Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `dir` goes with the struct, after nginx has stopped writing to it.
        let _ = self.dir.path();
    }
}
