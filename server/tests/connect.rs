//! `tandem connect` against a live room: the binary run as a person runs
//! it in a terminal, next to native clients typing into the same room of a
//! real server. It follows their edits, decodes the frames as the page's
//! inspector does, and edits through the session: `--append`, and `--put`
//! as the smallest splice, which merges with an edit made concurrently.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use tandem_server::access::Right;
use tandem_shared::RoomId;
use tandem_testkit::{Client, DEADLINE, TempDir, TestServer, edit, poll, test_keys};

/// A `tandem connect` process, with everything it printed so far.
struct Terminal {
    child: Child,
    /// Standard output, line by line.
    out: Arc<Mutex<Vec<String>>>,
    /// Standard error, line by line.
    err: Arc<Mutex<Vec<String>>>,
}

impl Terminal {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .arg("connect")
            .args(args)
            .env_remove("TANDEM_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tandem connect");
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        for (stream, lines) in [
            (
                Box::new(child.stdout.take().expect("piped")) as Box<dyn std::io::Read + Send>,
                out.clone(),
            ),
            (Box::new(child.stderr.take().expect("piped")), err.clone()),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().expect("lines").push(line);
                }
            });
        }
        Self { child, out, err }
    }

    fn out(&self) -> Vec<String> {
        self.out.lock().expect("lines").clone()
    }

    fn printed(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.out().join("\n"),
            self.err.lock().expect("lines").join("\n")
        )
    }

    /// Waits until a line of stdout satisfies `wanted`; returns it.
    async fn line(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        poll(what, DEADLINE, async || {
            self.out()
                .into_iter()
                .find(|line| wanted(line))
                .ok_or_else(|| self.printed())
        })
        .await
    }

    /// Waits until it exits; its exit code.
    async fn exit_code(&mut self) -> i32 {
        let child = &mut self.child;
        let status = poll("tandem connect to exit", DEADLINE, async || {
            child
                .try_wait()
                .expect("poll the child")
                .ok_or_else(|| "still running".to_owned())
        })
        .await;
        status.code().unwrap_or(-1)
    }

    /// Ctrl-C, as a person ends it.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill(1)");
        assert!(status.success());
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn page(server: &TestServer, room: &str, key: Option<&str>) -> String {
    format!(
        "{}{}",
        server.url(),
        RoomId::new(room).expect("room").page_path(key)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_prints_the_document_and_follows_a_native_clients_edits() {
    let (server, _store) = TestServer::memory().await;
    let mut writer = server.client("followed").await;
    writer.insert(0, "First line").await;
    writer.wait_saved().await;

    let mut terminal = Terminal::start(&[&page(&server, "followed", None)]);
    terminal
        .line("the document", |line| line == "First line")
        .await;
    writer.insert(writer.len(), ", and more").await;
    writer.insert(0, ">> ").await;
    writer.delete(0, 3).await;
    terminal
        .line("the append", |line| line == "insert ', and more' at 10")
        .await;
    terminal
        .line("the insert", |line| line == "insert '>> ' at 0")
        .await;
    terminal
        .line("the delete", |line| line == "delete 3 at 0")
        .await;
    terminal.interrupt();
    assert_eq!(terminal.exit_code().await, 0, "{}", terminal.printed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_are_decoded_as_the_inspector_decodes_them() {
    let (mut server, _store) = TestServer::memory().await;
    let room = RoomId::new("watched").expect("room");
    let key = test_keys().key_for(&room, Right::Edit);
    let mut writer = server.client("watched").await;
    writer.insert(0, "Hi").await;
    writer.wait_saved().await;

    let socket = format!("ws://{}/ws/watched", server.addr);
    let terminal = Terminal::start(&["--frames", &socket, "--key", &key]);
    let hello = terminal
        .line("the hello", |l| {
            l.contains(" ↑ text ") && l.contains("hello")
        })
        .await;
    assert!(hello.contains(&format!("key: \"{key}\"")), "{hello}");
    terminal
        .line("the welcome", |l| {
            l.contains(" ↓ text ") && l.contains("welcome") && l.contains("room: \"watched\"")
        })
        .await;
    terminal
        .line("the server's step 1", |l| {
            l.contains(" ↓ binary ")
                && l.contains("sync_step1")
                && l.contains("state vector with 1 client")
        })
        .await;
    terminal
        .line("the server's step 2, with what it changed", |l| {
            l.contains(" ↓ binary ") && l.contains("sync_step2") && l.contains("insert 'Hi' at 0")
        })
        .await;
    terminal
        .line("our step 2", |l| {
            l.contains(" ↑ binary ") && l.contains("sync_step2")
        })
        .await;
    writer.insert(2, " there").await;
    let update = terminal
        .line("the relayed update", |l| {
            l.contains(" ↓ binary ") && l.contains("update") && l.contains("insert ' there' at 2")
        })
        .await;
    // `12:03:07.123 ↓ binary     22 B  update      insert ' there' at 2`
    assert!(
        update.contains(" B  update "),
        "the size and the kind: {update}"
    );
    terminal
        .line("our saved", |l| {
            l.contains(" ↓ text ") && l.contains("saved") && l.contains("updates: 1")
        })
        .await;

    // The server going away: its close, with the table's name.
    server.stop().await;
    terminal
        .line("the close", |l| {
            l.contains(" ↓ close ") && l.contains("1001 going away: ")
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_is_a_splice_that_merges_with_a_concurrent_editor() {
    let (server, _store) = TestServer::memory().await;
    let url = server.ws_url("shared-draft");
    let mut editor = Client::connect(&url).await;
    editor.insert(0, "alpha beta gamma").await;
    editor.wait_saved().await;
    // The editor goes offline and types "X " before "beta" meanwhile.
    let offline = editor.doc().clone();
    editor.close().await;
    let text = offline.get_or_insert_text(tandem_shared::doc::CONTENT);
    let _unsent = edit::insert(&offline, &text, 6, "X ");

    let dir = TempDir::new("connect-put");
    let file = dir.path().join("draft.md");
    std::fs::write(&file, "alpha beta gamma\ndelta").expect("write the file");
    let mut put = Terminal::start(&[
        "--put",
        file.to_str().expect("utf-8"),
        &page(&server, "shared-draft", None),
    ]);
    assert_eq!(put.exit_code().await, 0, "{}", put.printed());
    assert!(
        put.printed().contains("saved; closing"),
        "{}",
        put.printed()
    );

    // Back online, the editor's edit and the put's merge: a replacement
    // would have deleted the text "X " was typed into, and moved it.
    let mut editor = Client::connect_with(&url, offline).await;
    editor.wait_saved().await;
    let merged = "alpha X beta gamma\ndelta";
    editor
        .pump_until("the editor sees both edits", |c| c.content() == merged)
        .await;
    let reader = server.client("shared-draft").await;
    assert_eq!(reader.content(), merged);

    // A put of the same text changes nothing and says so.
    std::fs::write(&file, merged).expect("write the file");
    let mut again = Terminal::start(&[
        "--put",
        file.to_str().expect("utf-8"),
        &page(&server, "shared-draft", None),
    ]);
    assert_eq!(again.exit_code().await, 0, "{}", again.printed());
    assert!(
        again.printed().contains("nothing to change"),
        "{}",
        again.printed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_waits_for_saved_and_a_view_link_is_refused() {
    let (server, _store) = TestServer::memory().await;
    let room = RoomId::new("appended").expect("room");
    let mut append = Terminal::start(&["--append", " world", &page(&server, "appended", None)]);
    assert_eq!(append.exit_code().await, 0, "{}", append.printed());
    let mut again = Terminal::start(&["--append", "!", &page(&server, "appended", None)]);
    assert_eq!(again.exit_code().await, 0, "{}", again.printed());
    let reader = server.client("appended").await;
    assert_eq!(reader.content(), " world!");

    let view = test_keys().key_for(&room, Right::View);
    let mut refused = Terminal::start(&["--append", "no", &page(&server, "appended", Some(&view))]);
    assert_eq!(refused.exit_code().await, 1);
    assert!(
        refused.printed().contains("view-only"),
        "{}",
        refused.printed()
    );

    let mut in_url = Terminal::start(&[&format!("ws://{}/ws/appended?key={view}", server.addr)]);
    assert_eq!(in_url.exit_code().await, 1);
    assert!(
        in_url.printed().contains("never in the URL"),
        "{}",
        in_url.printed()
    );
}
