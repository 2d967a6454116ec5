//! Share-link keys: who may edit a document and who may only read it.
//!
//! A key names one right on one room and is signed with the server's secret:
//! `e.` or `v.` followed by the first 16 bytes of
//! HMAC-SHA256(secret, "tandem.v1/{right}/{room}"), base64url. Keys are
//! checked in constant time. They never expire; changing the secret revokes
//! every key at once.
//!
//! Rooms created through `POST /api/rooms` are *protected*: a connection
//! needs the edit key to change them, and gets read-only access with the view
//! key or no key. Rooms opened by name only are open to anyone who knows the
//! name, as in Etherpad; a view key still makes a connection read-only there.
//! Keys are handed out (in `POST /api/rooms` and in `welcome.share`) only for
//! protected rooms: a name nobody has written to can still be claimed, and a
//! key given to an earlier visitor of the open room would then outlive the
//! claim.
//!
//! The secret comes from `--secret`, or is generated on first run and kept in
//! `{data_dir}/secret.key` (mode 0600).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tandem_shared::RoomId;

/// File holding the generated secret, inside the data directory.
pub const SECRET_FILE: &str = "secret.key";
/// Bytes of the HMAC tag kept in a key (128 bits).
const TAG_LEN: usize = 16;

/// What a key allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// Read and change the document.
    Edit,
    /// Read the document and be present; changes are refused.
    View,
}

impl Right {
    fn prefix(self) -> &'static str {
        match self {
            Self::Edit => "e",
            Self::View => "v",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::View => "view",
        }
    }
}

/// Whether a connection holding `key` (`None`: no valid key) may only read:
/// a key's right wins; without one, protected rooms are read-only and open
/// rooms are not.
pub fn read_only(key: Option<Right>, protected: bool) -> bool {
    match key {
        Some(Right::Edit) => false,
        Some(Right::View) => true,
        None => protected,
    }
}

/// Whether a requester holding `key` may read a room (export it): every room
/// with a valid key, open rooms without one too.
pub fn may_read(key: Option<Right>, protected: bool) -> bool {
    key.is_some() || !protected
}

/// Why the secret could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// `--secret` is too short to be a secret.
    #[error("the secret must be at least 32 characters long")]
    WeakSecret,
    /// The secret file could not be read or written.
    #[error("secret file {path}: {source}")]
    File {
        /// The file in question.
        path: std::path::PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The secret file does not hold a 64-digit hex secret.
    #[error(
        "secret file {0} is corrupt; remove it to generate a new secret (this revokes all links)"
    )]
    Corrupt(std::path::PathBuf),
    /// The OS random source failed.
    #[error("no randomness for the secret: {0}")]
    Random(getrandom::Error),
}

/// Signs and checks keys with the server's secret.
#[derive(Clone)]
pub struct Keys {
    /// The HMAC key; never logged (see the Debug impl).
    secret: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { secret: <redacted> }")
    }
}

impl Keys {
    /// Keys signed with `secret` as given (at least 32 bytes).
    pub fn from_secret(secret: &str) -> Result<Self, AccessError> {
        if secret.len() < 32 {
            return Err(AccessError::WeakSecret);
        }
        Ok(Self {
            secret: secret.as_bytes().to_vec(),
        })
    }

    /// Keys with a fresh random secret that lives as long as the process.
    pub fn ephemeral() -> Result<Self, AccessError> {
        let mut secret = vec![0u8; 32];
        getrandom::fill(&mut secret).map_err(AccessError::Random)?;
        Ok(Self { secret })
    }

    /// Keys with the secret kept in `data_dir`, generated on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, AccessError> {
        let path = data_dir.join(SECRET_FILE);
        let file_error = |source| AccessError::File {
            path: path.clone(),
            source,
        };
        match Self::load(data_dir) {
            Err(AccessError::File { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                let keys = Self::ephemeral()?;
                let hex: String = keys.secret.iter().map(|b| format!("{b:02x}")).collect();
                write_private(&path, &hex).map_err(file_error)?;
                tracing::info!(path = %path.display(), "generated the share-link secret");
                Ok(keys)
            }
            loaded => loaded,
        }
    }

    fn tag(&self, room: &RoomId, right: Right) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(format!("tandem.v1/{}/{}", right.label(), room).as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The key granting `right` on `room`.
    pub fn key_for(&self, room: &RoomId, right: Right) -> String {
        let tag = self.tag(room, right);
        format!(
            "{}.{}",
            right.prefix(),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN])
        )
    }

    /// The admin API's bearer token (`tandem rooms`, see `crate::admin`):
    /// `a.` + HMAC-SHA256(secret, "tandem.v1/admin"), whole. Derived from
    /// the secret, so whoever may read the secret (and could sign an edit
    /// key for every room with it) holds it, and every node of a cluster
    /// sharing `--secret` accepts it; nothing else is stored.
    pub fn admin_token(&self) -> String {
        format!("a.{}", URL_SAFE_NO_PAD.encode(self.admin_tag()))
    }

    /// Whether `token` is [`Keys::admin_token`], compared in constant time.
    pub fn verify_admin(&self, token: &str) -> bool {
        let Some(tag) = token
            .strip_prefix("a.")
            .and_then(|tag| URL_SAFE_NO_PAD.decode(tag).ok())
        else {
            return false;
        };
        self.admin_mac().verify_slice(&tag).is_ok()
    }

    fn admin_mac(&self) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(b"tandem.v1/admin");
        mac
    }

    fn admin_tag(&self) -> [u8; 32] {
        self.admin_mac().finalize().into_bytes().into()
    }

    /// Keys with the secret kept in `data_dir` by a server, without ever
    /// creating one (for tools: a missing file is an error).
    pub fn load(data_dir: &Path) -> Result<Self, AccessError> {
        let path = data_dir.join(SECRET_FILE);
        let hex = std::fs::read_to_string(&path).map_err(|source| AccessError::File {
            path: path.clone(),
            source,
        })?;
        let secret = decode_hex(hex.trim()).ok_or(AccessError::Corrupt(path))?;
        Ok(Self { secret })
    }

    /// The right `key` grants on `room`, or `None` if it is not a valid key for it.
    pub fn verify(&self, room: &RoomId, key: &str) -> Option<Right> {
        let (prefix, tag) = key.split_once('.')?;
        let right = match prefix {
            "e" => Right::Edit,
            "v" => Right::View,
            _ => return None,
        };
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != TAG_LEN {
            return None;
        }
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(format!("tandem.v1/{}/{}", right.label(), room).as_bytes());
        // Constant-time comparison of the truncated tag.
        mac.verify_truncated_left(&tag).ok().map(|()| right)
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() < 64 || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomId {
        RoomId::new(name).expect("room")
    }

    #[test]
    fn keys_grant_exactly_what_they_name() {
        let keys = Keys::from_secret(&"s".repeat(32)).expect("keys");
        let edit = keys.key_for(&room("a"), Right::Edit);
        let view = keys.key_for(&room("a"), Right::View);
        assert!(edit.starts_with("e.") && view.starts_with("v."));
        assert_eq!(keys.verify(&room("a"), &edit), Some(Right::Edit));
        assert_eq!(keys.verify(&room("a"), &view), Some(Right::View));
        assert_eq!(keys.verify(&room("b"), &edit), None, "keys are per room");
        // A view tag relabelled as edit does not verify.
        let forged = format!("e.{}", view.split_once('.').expect("dot").1);
        assert_eq!(keys.verify(&room("a"), &forged), None);
        let other = Keys::from_secret(&"t".repeat(32)).expect("keys");
        assert_eq!(other.verify(&room("a"), &edit), None, "keys are per secret");
        for junk in [
            "",
            "e.",
            "e",
            "x.abc",
            "e.!!!",
            "e.AAAA",
            &format!("{edit}A"),
        ] {
            assert_eq!(keys.verify(&room("a"), junk), None, "{junk:?}");
        }
    }

    #[test]
    fn the_admin_token_is_the_secrets_and_no_room_key() {
        let keys = Keys::from_secret(&"s".repeat(32)).expect("keys");
        let token = keys.admin_token();
        assert!(keys.verify_admin(&token));
        assert!(!keys.verify_admin(&token[..token.len() - 1]));
        assert!(!keys.verify_admin(""));
        assert!(!keys.verify_admin(&keys.key_for(&room("admin"), Right::Edit)));
        let other = Keys::from_secret(&"t".repeat(32)).expect("keys");
        assert!(!other.verify_admin(&token), "tokens are per secret");
        for room_name in ["admin", "a", "tandem"] {
            for right in [Right::Edit, Right::View] {
                assert_ne!(keys.key_for(&room(room_name), right), token);
            }
        }
    }

    #[test]
    fn a_keys_right_wins_and_protected_rooms_are_read_only_without_one() {
        for protected in [false, true] {
            assert!(!read_only(Some(Right::Edit), protected));
            assert!(read_only(Some(Right::View), protected));
            assert!(may_read(Some(Right::View), protected));
            assert!(may_read(Some(Right::Edit), protected));
        }
        assert!(!read_only(None, false));
        assert!(read_only(None, true));
        assert!(may_read(None, false));
        assert!(!may_read(None, true), "a protected room needs a key");
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            Keys::from_secret("short"),
            Err(AccessError::WeakSecret)
        ));
    }

    #[test]
    fn the_generated_secret_is_kept_and_reused() {
        let dir = crate::store::tests::tempdir();
        let first = Keys::load_or_create(dir.path()).expect("create");
        let again = Keys::load_or_create(dir.path()).expect("load");
        let key = first.key_for(&room("r"), Right::Edit);
        assert_eq!(again.verify(&room("r"), &key), Some(Right::Edit));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(SECRET_FILE), "nothex").expect("write");
        assert!(matches!(
            Keys::load_or_create(dir.path()),
            Err(AccessError::Corrupt(_))
        ));
    }
}
