//! [`StoredCopy`]: the offline copy of a document as a page's browser keeps
//! it in IndexedDB (see `client/src/editor/local_copy.rs`), read back and
//! decoded here with yrs, so a test can say what text it holds.

use base64::Engine as _;
use serde_json::Value;
use yrs::updates::decoder::Decode as _;
use yrs::{GetString as _, Transact as _, Update};

/// What a browser stored for one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCopy {
    /// How many records (incremental updates) the copy is made of.
    pub records: usize,
    /// Their bytes in all.
    pub bytes: usize,
    /// The document body they add up to.
    pub body: String,
    /// Whether the copy is flagged as holding edits the server has not
    /// acknowledged.
    pub unsaved: bool,
}

/// Reads the copy of `room` in the page, resolving `done(…)` with its
/// records (base64) and flag. Never creates the database: a page that has
/// not made it yet has no records.
pub(crate) const READ: &str = r#"
const [room, done] = arguments;
const empty = {records: [], unsaved: false};
const base64 = bytes => {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
};
indexedDB.databases().then(list => {
  if (!list.some(d => d.name === 'tandem')) { done(empty); return; }
  const open = indexedDB.open('tandem');
  open.onerror = () => done({error: String(open.error)});
  open.onsuccess = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains('updates')) { db.close(); done(empty); return; }
    const tx = db.transaction(['updates', 'unsaved'], 'readonly');
    const all = tx.objectStore('updates').getAll(IDBKeyRange.bound([room], [room, []]));
    const flag = tx.objectStore('unsaved').get(room);
    tx.oncomplete = () => {
      db.close();
      done({records: all.result.map(base64), unsaved: flag.result !== undefined});
    };
    tx.onerror = () => done({error: String(tx.error)});
  };
}, e => done({error: String(e)}));
"#;

impl StoredCopy {
    /// Decodes what [`READ`] returned.
    pub(crate) fn decode(value: &Value) -> Result<Self, String> {
        if let Some(error) = value.get("error") {
            return Err(format!("the page could not read it: {error}"));
        }
        let records = value["records"]
            .as_array()
            .ok_or_else(|| format!("no records in {value}"))?;
        let doc = tandem_shared::doc::new_doc();
        let body = doc.get_or_insert_text(tandem_shared::doc::CONTENT);
        let mut bytes = 0;
        for record in records {
            let encoded = record.as_str().ok_or("a record is not a string")?;
            let update = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format!("a record is not base64: {e}"))?;
            bytes += update.len();
            let update =
                Update::decode_v1(&update).map_err(|e| format!("a record does not decode: {e}"))?;
            doc.transact_mut()
                .apply_update(update)
                .map_err(|e| format!("a record does not apply: {e}"))?;
        }
        let body = body.get_string(&doc.transact());
        Ok(Self {
            records: records.len(),
            bytes,
            body,
            unsaved: value["unsaved"] == true,
        })
    }
}
