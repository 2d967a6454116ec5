//! `tandem rooms list | export | import | delete`: documents from the
//! command line, through a running server.
//!
//! List, export and delete ask the server's admin API (`crate::admin`),
//! which knows which rooms are open and refuses to delete one that is;
//! they send the admin token, which this command derives from the
//! server's secret as the server does (`--admin-token`, else `--secret`,
//! else `{--data-dir}/secret.key`: run it on the server's machine, as the
//! server's user). Import needs no token: it creates a protected document
//! through `POST /api/rooms`, as *New document* does, and types the file
//! into it through the edit link (`tandem connect`'s put), waiting for
//! `saved`; then it prints the edit and view links.
//!
//! Files are Markdown named `{room}.md`; a document's title, when it has
//! one, goes in a front matter block (`---`, `title: "…"`, `---`) that
//! import reads back.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context as _;
use axum::http::{Method, StatusCode};
use clap::{Args, Subcommand};
use tandem_shared::{CreatedRoom, RoomId};

use super::connect::{self, Target};
use super::http_client::ServerUrl;
use crate::access::{Keys, SECRET_FILE};
use crate::admin::{AdminRoom, AdminText};
use crate::config::Secret;
use crate::store::RoomSummary;

/// `tandem rooms …`.
#[derive(Debug, Subcommand)]
pub enum RoomsCommand {
    /// Every document: whether it is open, its size, updates, last change and versions
    List {
        #[command(flatten)]
        admin: AdminArgs,
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Write documents as Markdown files, ROOM.md (a title goes in front matter)
    Export {
        #[command(flatten)]
        admin: AdminArgs,
        /// The rooms to export
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        rooms: Vec<String>,
        /// Export every room
        #[arg(long)]
        all: bool,
        /// The directory to write into (created if missing)
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Replace files that exist
        #[arg(long)]
        force: bool,
    },
    /// Create a protected document from a Markdown file and print its edit and view links
    Import {
        #[command(flatten)]
        server: ServerArgs,
        /// The Markdown file
        file: PathBuf,
        /// The room's name (default: a fresh random one); refused if taken
        #[arg(long)]
        name: Option<String>,
        /// The title (default: the file's front matter title, else its name)
        #[arg(long)]
        title: Option<String>,
        /// The address people open, for the printed links (default: --server)
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Delete a document with its versions; refused while anyone has it open
    Delete {
        #[command(flatten)]
        admin: AdminArgs,
        /// The room
        room: String,
    },
}

/// Which server to ask.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server, on its own plain-HTTP address
    #[arg(
        long,
        env = "TANDEM_SERVER_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
}

/// Which server to ask, and how to prove the asker may.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The admin token (default: derived from the server's secret)
    #[arg(long, env = "TANDEM_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The server's --secret, when it runs with one
    #[arg(long, env = "TANDEM_SECRET", hide_env_values = true)]
    secret: Option<Secret>,
    /// The server's data directory, holding secret.key
    #[arg(long, env = "TANDEM_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
}

impl AdminArgs {
    /// The server and the token to send it.
    fn connect(&self) -> anyhow::Result<(ServerUrl, String)> {
        let server = ServerUrl::parse(&self.server.server)?;
        let token = match (&self.admin_token, &self.secret) {
            (Some(token), _) => token.clone(),
            (None, Some(secret)) => Keys::from_secret(&secret.0)?.admin_token(),
            (None, None) => Keys::load(&self.data_dir)
                .with_context(|| {
                    format!(
                        "the admin token comes from the server's secret, {}: run this on the \
                         server's machine as its user, or pass --data-dir, --secret or --admin-token",
                        self.data_dir.join(SECRET_FILE).display()
                    )
                })?
                .admin_token(),
        };
        Ok((server, token))
    }
}

/// Runs `tandem rooms …`.
pub(super) async fn run(command: RoomsCommand) -> anyhow::Result<ExitCode> {
    match command {
        RoomsCommand::List { admin, json } => list(&admin, json).await,
        RoomsCommand::Export {
            admin,
            rooms,
            all,
            out,
            force,
        } => export(&admin, rooms, all, &out, force).await,
        RoomsCommand::Import {
            server,
            file,
            name,
            title,
            public_url,
        } => import(&server, &file, name, title, public_url).await,
        RoomsCommand::Delete { admin, room } => delete(&admin, &room).await,
    }
}

async fn list(admin: &AdminArgs, json: bool) -> anyhow::Result<ExitCode> {
    let (server, token) = admin.connect()?;
    let rooms: Vec<AdminRoom> = server
        .json(
            Method::GET,
            "/api/admin/rooms",
            Some(&token),
            None,
            StatusCode::OK,
        )
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rooms)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 7]> = rooms
        .iter()
        .map(|r| {
            [
                r.summary.room.to_string(),
                open_column(r),
                human_bytes(r.summary.bytes),
                r.summary.updates.to_string(),
                changed(r.summary.changed_at),
                r.summary.versions.to_string(),
                if r.summary.protected { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    let header = [
        "ROOM",
        "OPEN",
        "SIZE",
        "UPDATES",
        "LAST CHANGE",
        "VERSIONS",
        "PROTECTED",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 7]| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(header));
    for row in &rows {
        println!("{}", line(row.each_ref().map(String::as_str)));
    }
    println!("{} room(s)", rooms.len());
    Ok(ExitCode::SUCCESS)
}

/// `here`, `2 elsewhere`, `here, 2 elsewhere`, or `-`.
fn open_column(room: &AdminRoom) -> String {
    let mut open = Vec::new();
    if room.loaded_here {
        open.push("here".to_owned());
    }
    if let Some(count) = room.connections_elsewhere.filter(|&c| c > 0) {
        open.push(format!("{count} elsewhere"));
    }
    if open.is_empty() {
        "-".to_owned()
    } else {
        open.join(", ")
    }
}

/// `2026-12-01T10:03:07Z`, or `-` when unknown.
fn changed(at_ms: i64) -> String {
    if at_ms <= 0 {
        return "-".to_owned();
    }
    let at = UNIX_EPOCH + Duration::from_millis(at_ms as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `22 B`, `4.1 KB`, `1.3 MB`: the page's sizes.
pub(super) fn human_bytes(bytes: u64) -> String {
    tandem_shared::describe::size(bytes)
}

async fn export(
    admin: &AdminArgs,
    rooms: Vec<String>,
    all: bool,
    out: &Path,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let (server, token) = admin.connect()?;
    let rooms: Vec<RoomId> = if all {
        let listed: Vec<AdminRoom> = server
            .json(
                Method::GET,
                "/api/admin/rooms",
                Some(&token),
                None,
                StatusCode::OK,
            )
            .await?;
        listed.into_iter().map(|r| r.summary.room).collect()
    } else {
        rooms
            .into_iter()
            .map(|name| {
                RoomId::new(name.as_str()).with_context(|| format!("{name:?} is not a room name"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for room in &rooms {
        let path = out.join(format!("{room}.md"));
        if path.exists() && !force {
            anyhow::bail!(
                "{} exists; pass --force to replace it ({} room(s) written before it)",
                path.display(),
                rooms.iter().position(|r| r == room).unwrap_or(0)
            );
        }
        let text: AdminText = server
            .json(
                Method::GET,
                &format!("/api/admin/rooms/{room}/text"),
                Some(&token),
                None,
                StatusCode::OK,
            )
            .await
            .with_context(|| format!("exporting {room}"))?;
        std::fs::write(&path, to_markdown(&text.title, &text.body))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "{room} -> {} ({} chars{})",
            path.display(),
            text.body.chars().count(),
            if text.title.is_empty() {
                String::new()
            } else {
                format!(", titled {:?}", text.title)
            }
        );
    }
    println!("{} room(s) exported", rooms.len());
    Ok(ExitCode::SUCCESS)
}

async fn import(
    server: &ServerArgs,
    file: &Path,
    name: Option<String>,
    title: Option<String>,
    public_url: Option<String>,
) -> anyhow::Result<ExitCode> {
    let server = ServerUrl::parse(&server.server)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (front_title, body) = from_markdown(&text);
    let title = title
        .or(front_title)
        .or_else(|| {
            file.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    if let Some(name) = &name {
        RoomId::new(name.as_str())
            .with_context(|| format!("--name {name:?} is not a room name"))?;
    }
    let request = match &name {
        Some(name) => serde_json::json!({ "name": name }),
        None => serde_json::json!({}),
    };
    let created: CreatedRoom = server
        .json(
            Method::POST,
            "/api/rooms",
            None,
            Some(&request),
            StatusCode::CREATED,
        )
        .await
        .context("creating the document")?;
    let target = Target {
        socket: created.room.ws_url(server.base()),
        room: created.room.clone(),
        key: Some(created.edit_key.clone()),
    };
    connect::put(&target, title.clone(), body.to_owned())
        .await
        .with_context(|| format!("writing {} into {}", file.display(), created.room))?;
    let base = public_url.unwrap_or_else(|| server.base().to_owned());
    let base = base.trim_end_matches('/');
    println!(
        "imported {} as {} ({} chars, titled {title:?})",
        file.display(),
        created.room,
        body.chars().count()
    );
    println!(
        "edit link: {base}{}",
        created.room.page_path(Some(&created.edit_key))
    );
    println!(
        "view link: {base}{}",
        created.room.page_path(Some(&created.view_key))
    );
    Ok(ExitCode::SUCCESS)
}

async fn delete(admin: &AdminArgs, room: &str) -> anyhow::Result<ExitCode> {
    let room = RoomId::new(room).with_context(|| format!("{room:?} is not a room name"))?;
    let (server, token) = admin.connect()?;
    let deleted: RoomSummary = server
        .json(
            Method::DELETE,
            &format!("/api/admin/rooms/{room}"),
            Some(&token),
            None,
            StatusCode::OK,
        )
        .await
        .with_context(|| format!("deleting {room}"))?;
    println!(
        "deleted {room}: {} update(s), {} version(s), {}",
        deleted.updates,
        deleted.versions,
        human_bytes(deleted.bytes)
    );
    Ok(ExitCode::SUCCESS)
}

/// A document as a Markdown file: the body, after a front matter block
/// with the title when there is one.
fn to_markdown(title: &str, body: &str) -> String {
    if title.is_empty() {
        return body.to_owned();
    }
    // A JSON string is a YAML double-quoted scalar.
    let quoted = serde_json::Value::String(title.to_owned()).to_string();
    format!("---\ntitle: {quoted}\n---\n{body}")
}

/// The title of a file's front matter (if it starts with one that has a
/// `title:`) and the body after it; a file without one is all body.
fn from_markdown(text: &str) -> (Option<String>, &str) {
    let Some(rest) = text.strip_prefix("---\n") else {
        return (None, text);
    };
    // The block ends at a line `---`.
    let (head, body) = if let Some(end) = rest.find("\n---\n") {
        (&rest[..end], &rest[end + 5..])
    } else if let Some(head) = rest.strip_suffix("\n---") {
        (head, "")
    } else {
        return (None, text);
    };
    let title = head.lines().find_map(|line| {
        let value = line.strip_prefix("title:")?.trim();
        if value.starts_with('"') {
            serde_json::from_str::<String>(value).ok()
        } else {
            Some(value.trim_matches('\'').to_owned())
        }
    });
    match title {
        Some(title) => (Some(title), body),
        // Front matter of another tool, without a title: keep it as text.
        None => (None, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_travel_in_front_matter() {
        for (title, body) in [
            ("Trip plan", "# Day 1\n\nOslo.\n"),
            ("Quotes \"and\" colons: yes", "---\nnot front matter\n"),
            ("", "just a body"),
            ("Ünïcödé", ""),
        ] {
            let file = to_markdown(title, body);
            let (read_title, read_body) = from_markdown(&file);
            assert_eq!(read_title.unwrap_or_default(), title, "{file:?}");
            assert_eq!(read_body, body, "{file:?}");
        }
    }

    #[test]
    fn other_front_matter_and_plain_files_stay_body() {
        let hugo = "---\ndate: 2026-01-01\n---\nbody\n";
        assert_eq!(from_markdown(hugo), (None, hugo));
        assert_eq!(from_markdown("---\nunclosed"), (None, "---\nunclosed"));
        assert_eq!(
            from_markdown("---\ntitle: Bare words\n---\nx"),
            (Some("Bare words".into()), "x")
        );
        assert_eq!(from_markdown("# Hello"), (None, "# Hello"));
    }

    #[test]
    fn the_open_column_says_where() {
        let room = |here, elsewhere| AdminRoom {
            summary: RoomSummary {
                room: RoomId::new("r").expect("room"),
                protected: false,
                bytes: 0,
                updates: 0,
                log_updates: 0,
                changed_at: 0,
                versions: 0,
            },
            loaded_here: here,
            connections_elsewhere: elsewhere,
        };
        assert_eq!(open_column(&room(false, None)), "-");
        assert_eq!(open_column(&room(true, Some(0))), "here");
        assert_eq!(open_column(&room(true, Some(2))), "here, 2 elsewhere");
        assert_eq!(open_column(&room(false, Some(1))), "1 elsewhere");
        assert_eq!(changed(0), "-");
        assert_eq!(changed(1_000), "1970-01-01T00:00:01Z");
    }
}
