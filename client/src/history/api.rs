//! The version-history endpoints (see docs/PROTOCOL.md): list, one
//! version's text with who wrote what in it, name the current state,
//! restore. The page's share key
//! goes in `Authorization: Bearer`, never in the URL (which gets logged).

use tandem_shared::RoomId;
use tandem_shared::authors::AuthorsExport;
use tandem_shared::history::{NameVersion, VersionEntry};

use crate::error::ClientError;
use crate::net;

/// The room's versions, newest first.
pub(crate) async fn list_versions(
    room: &RoomId,
    key: Option<&str>,
) -> Result<Vec<VersionEntry>, ClientError> {
    let text = request("GET", &format!("/api/rooms/{room}/versions"), None, key).await?;
    serde_json::from_str(&text).map_err(|e| ClientError::BadResponse(e.to_string()))
}

/// The body of version `id`, with who wrote what in it.
pub(crate) async fn version_authors(
    room: &RoomId,
    id: u64,
    key: Option<&str>,
) -> Result<AuthorsExport, ClientError> {
    let text = request(
        "GET",
        &format!("/api/rooms/{room}/versions/{id}/authors"),
        None,
        key,
    )
    .await?;
    serde_json::from_str(&text).map_err(|e| ClientError::BadResponse(e.to_string()))
}

/// Names the current state `label`; answers the new version.
pub(crate) async fn name_version(
    room: &RoomId,
    label: &str,
    key: Option<&str>,
) -> Result<VersionEntry, ClientError> {
    let body = serde_json::to_string(&NameVersion {
        label: label.to_owned(),
    })
    .map_err(|e| ClientError::BadResponse(e.to_string()))?;
    let text = request(
        "POST",
        &format!("/api/rooms/{room}/versions"),
        Some(&body),
        key,
    )
    .await?;
    serde_json::from_str(&text).map_err(|e| ClientError::BadResponse(e.to_string()))
}

/// Restores version `id`; answers the version recording the restore.
pub(crate) async fn restore_version(
    room: &RoomId,
    id: u64,
    key: Option<&str>,
) -> Result<VersionEntry, ClientError> {
    let text = request(
        "POST",
        &format!("/api/rooms/{room}/versions/{id}/restore"),
        None,
        key,
    )
    .await?;
    serde_json::from_str(&text).map_err(|e| ClientError::BadResponse(e.to_string()))
}

/// One request; the body of a 2xx answer, or why not (the server's
/// `{"error": "…"}` reason when it gives one).
async fn request(
    method: &str,
    url: &str,
    json_body: Option<&str>,
    key: Option<&str>,
) -> Result<String, ClientError> {
    let response = net::fetch(method, url, json_body, key).await?;
    net::read_text(&response).await
}
