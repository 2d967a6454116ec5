//! A real SQLite failure: the disk fills up under a running server.
//!
//! How: the test mounts a small tmpfs of its own (`mount -t tmpfs -o
//! size=8m`), puts the data directory on it, lets the rooms write, then
//! fills what is left with a filler file, so SQLite's next commit fails
//! with "database or disk is full" (ENOSPC) like on a real full disk.
//! Deleting the filler gives the space back. Mounting needs root (or
//! CAP_SYS_ADMIN); where the mount is refused the test fails and says so
//! rather than skip. (Chosen over `ulimit -f`, which also works here but
//! fails writes with EFBIG, a different error than a full disk.)
//!
//! The promises: the room whose commit failed closes its clients with 1011
//! and is reloaded from what is durable; the other rooms keep serving; the
//! clients keep their unsaved edits, and once there is space again they
//! resend them and everything acknowledged is there; the database passes
//! `PRAGMA integrity_check`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tandem_server::store::DB_FILE;
use tandem_shared::close::CloseCode;
use tandem_testkit::{Client, TempDir, TestServer};

/// A tmpfs mounted for this test; unmounted when dropped.
struct SmallDisk {
    dir: TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = TempDir::new("disk-full");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount(8)");
        assert!(
            out.status.success(),
            "this test needs a small disk to fill: mounting a tmpfs at {} failed ({}): {}\
             \nrun the tests as root (or with CAP_SYS_ADMIN)",
            dir.path().display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let chunk = vec![0u8; 64 * 1024];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) if err.raw_os_error() == Some(28) => break, // ENOSPC
                Err(err) => panic!("filling the disk failed otherwise: {err}"),
            }
        }
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Something still holds a file there; detach it anyway.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_closes_only_the_failing_room_and_nothing_acknowledged_is_lost() {
    let disk = SmallDisk::mount("8m");
    let data = disk.path().join("data");
    let mut server = TestServer::sqlite(&data, |_| {}).await;
    let mut a1 = server.client("full-a").await;
    let mut a2 = server.client("full-a").await;
    let mut b = server.client("full-b").await;
    a1.insert(0, "a1 saved. ").await;
    a1.wait_saved().await;
    a2.pump_until("a2 sees a1", |c| c.content() == "a1 saved. ")
        .await;
    b.insert(0, "b saved. ").await;
    b.wait_saved().await;

    let filler = disk.fill();
    // Larger than a page: its commit needs new space, whatever slack the files have.
    let unsaved = format!("a1 unsaved {}. ", "x".repeat(16 * 1024));
    a1.insert(a1.len(), &unsaved).await;
    let (code, reason) = a1.expect_close().await;
    assert_eq!(code, CloseCode::Internal, "the writer: {reason}");
    let (code, reason) = a2.expect_close().await;
    assert_eq!(code, CloseCode::Internal, "the other member: {reason}");
    assert!(
        a1.saved() < a1.sent(),
        "the failed edit was never acknowledged"
    );
    assert!(
        a1.content().ends_with(&unsaved),
        "the writer keeps its unsaved edit"
    );

    // The other room keeps serving: its client is still there, answered…
    b.ping().await;
    b.pump_until("b's pong", |c| c.pongs == 1).await;
    assert_eq!(b.closed, None);
    // …and newcomers get its document; the failed room reloads from disk.
    assert_eq!(server.client("full-b").await.content(), "b saved. ");
    assert_eq!(server.client("full-a").await.content(), "a1 saved. ");

    std::fs::remove_file(&filler).expect("free the space");
    let mut a1 = Client::connect_with(&server.ws_url("full-a"), a1.doc().clone()).await;
    a1.wait_saved().await;
    let mut a2 = Client::connect_with(&server.ws_url("full-a"), a2.doc().clone()).await;
    a2.wait_saved().await;
    b.insert(b.len(), "b again.").await;
    b.wait_saved().await;
    let expected_a = format!("a1 saved. {unsaved}");
    assert_eq!(a1.content(), expected_a);
    assert_eq!(server.client("full-a").await.content(), expected_a);
    for client in [a1, a2, b] {
        client.close().await;
    }
    server.stop().await;

    let conn = rusqlite::Connection::open(data.join(DB_FILE)).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    drop(conn);
    let server = TestServer::sqlite(&data, |_| {}).await;
    assert_eq!(server.client("full-a").await.content(), expected_a);
    assert_eq!(server.client("full-b").await.content(), "b saved. b again.");
}
