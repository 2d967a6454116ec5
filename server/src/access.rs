//! Share-link keys: who may edit a document and who may only read it.
//!
//! A key names one share link of one room and is signed with the server's
//! secret: `{id}.{tag}`, where `id` is the link's id ([`LinkId`]) and `tag`
//! the first 16 bytes of an HMAC-SHA256 under the secret, base64url. For
//! the two links every protected room starts with, `e` and `v`, the HMAC is
//! over `tandem.v1/{edit|view}/{room}`: exactly the `e.…`/`v.…` keys issued
//! before links were records, which keep working. For a link created since,
//! it is over `tandem.v2/link/{room}/{id}`. Tags are checked in constant
//! time ([`Keys::authenticate`]); what an authentic key grants is its link's
//! record (`crate::links`): its right, whether it was revoked or expired.
//! Changing the secret still revokes every key at once.
//!
//! Rooms created through `POST /api/rooms` are *protected*: a connection
//! needs an edit link's key to change them, and gets read-only access with
//! a view link's key or no key. Rooms opened by name only are open to
//! anyone who knows the name, as in Etherpad; a view key still makes a
//! connection read-only there. Keys are handed out (in `POST /api/rooms` and
//! in `welcome.share`) only for protected rooms: a name nobody has written
//! to can still be claimed, and a key given to an earlier visitor of the
//! open room would then outlive the claim.
//!
//! The secret comes from `--secret`, or is generated on first run and kept in
//! `{data_dir}/secret.key` (mode 0600).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tandem_shared::RoomId;
pub use tandem_shared::links::{LinkId, Right};

/// File holding the generated secret, inside the data directory.
pub const SECRET_FILE: &str = "secret.key";
/// Bytes of the HMAC tag kept in a key (128 bits).
const TAG_LEN: usize = 16;
/// Longest key [`Keys::authenticate`] reads: a created link's id, the dot
/// and the tag are 34 characters; anything longer is not a key.
const MAX_KEY_LEN: usize = 64;

/// Whether a connection holding `key` (`None`: no valid key) may only read:
/// a key's right wins; without one, protected rooms are read-only and open
/// rooms are not.
pub fn read_only(key: Option<Right>, protected: bool) -> bool {
    match key {
        Some(Right::Edit) => false,
        Some(Right::Comment | Right::View) => true,
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

    /// The HMAC over what link `id` of `room` signs (see the module doc).
    fn link_mac(&self, room: &RoomId, id: &LinkId) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        let signed = match id.as_str() {
            "e" => format!("tandem.v1/edit/{room}"),
            "v" => format!("tandem.v1/view/{room}"),
            created => format!("tandem.v2/link/{room}/{created}"),
        };
        mac.update(signed.as_bytes());
        mac
    }

    /// The key of link `id` of `room`: `{id}.{tag}`.
    pub fn key_of(&self, room: &RoomId, id: &LinkId) -> String {
        let tag: [u8; 32] = self.link_mac(room, id).finalize().into_bytes().into();
        format!("{id}.{}", URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN]))
    }

    /// The key of the original link granting `right` on `room` (`e.…` or
    /// `v.…`): what `POST /api/rooms` hands out.
    pub fn key_for(&self, room: &RoomId, right: Right) -> String {
        self.key_of(room, &LinkId::original(right))
    }

    /// The link `key` names in `room`, if its tag is the server's; `None`
    /// for anything else (another room's key, a forged or damaged one).
    /// The tag is compared in constant time. Whether the link still stands,
    /// and what it grants, is its record's business (`crate::links`).
    pub fn authenticate(&self, room: &RoomId, key: &str) -> Option<LinkId> {
        if key.len() > MAX_KEY_LEN {
            return None;
        }
        let (id, tag) = key.split_once('.')?;
        let id = LinkId::new(id).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != TAG_LEN {
            return None;
        }
        self.link_mac(room, &id)
            .verify_truncated_left(&tag)
            .ok()
            .map(|()| id)
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

    /// The right an original link's key (`e.…`, `v.…`) grants on `room`,
    /// as it did before links were records; `None` for any other key. For
    /// callers that have not looked the room's links up; see
    /// `crate::links::resolve` for what a key grants now.
    pub fn verify(&self, room: &RoomId, key: &str) -> Option<Right> {
        match self.authenticate(room, key)?.as_str() {
            "e" => Some(Right::Edit),
            "v" => Some(Right::View),
            _ => None,
        }
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
    fn a_key_names_its_link_and_only_the_servers_tag_verifies() {
        let keys = Keys::from_secret(&"s".repeat(32)).expect("keys");
        let id = LinkId::from_random([7; 8]);
        let key = keys.key_of(&room("a"), &id);
        assert!(key.starts_with(&format!("{id}.")), "{key}");
        assert_eq!(key.len(), LinkId::LEN + 1 + 22);
        assert_eq!(keys.authenticate(&room("a"), &key), Some(id.clone()));
        assert_eq!(keys.verify(&room("a"), &key), None, "no original's right");
        assert_eq!(keys.authenticate(&room("b"), &key), None, "per room");
        // Another link's id with this tag, or this id with another tag.
        let other = LinkId::from_random([8; 8]);
        let tag = key.split_once('.').expect("dot").1;
        assert_eq!(
            keys.authenticate(&room("a"), &format!("{other}.{tag}")),
            None
        );
        let other_key = keys.key_of(&room("a"), &other);
        let other_tag = other_key.split_once('.').expect("dot").1;
        assert_eq!(
            keys.authenticate(&room("a"), &format!("{id}.{other_tag}")),
            None
        );
        // The originals' keys are the keys issued before links were records.
        let edit = keys.key_for(&room("a"), Right::Edit);
        assert_eq!(
            edit,
            keys.key_of(&room("a"), &LinkId::original(Right::Edit))
        );
        assert_eq!(
            keys.authenticate(&room("a"), &edit),
            Some(LinkId::original(Right::Edit))
        );
        for junk in [
            "",
            ".",
            "x.AAAAAAAAAAAAAAAAAAAAAA",
            &format!("{key}.extra"),
            &"A".repeat(MAX_KEY_LEN + 1),
        ] {
            assert_eq!(keys.authenticate(&room("a"), junk), None, "{junk:?}");
        }
    }

    /// The original links' keys are byte for byte the keys issued before
    /// links were records (HMAC of `tandem.v1/{right}/{room}`), so every
    /// link shared before keeps working.
    #[test]
    fn keys_issued_before_links_were_records_still_verify() {
        let keys = Keys::from_secret(&"s".repeat(32)).expect("keys");
        let mut mac = Hmac::<Sha256>::new_from_slice(&[b's'; 32]).expect("mac");
        mac.update(b"tandem.v1/view/a");
        let tag: [u8; 32] = mac.finalize().into_bytes().into();
        let old_key = format!("v.{}", URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN]));
        assert_eq!(keys.key_for(&room("a"), Right::View), old_key);
        assert_eq!(keys.verify(&room("a"), &old_key), Some(Right::View));
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
