//! The page's components, one per file.
//!
//! Pages: [`Home`], [`EditorPage`] (which shows [`DocumentView`] or
//! [`InvalidRoom`]) and [`NotFound`]. The rest are parts of those pages.

mod connection_badge;
mod doc_stats_view;
mod document_view;
mod editor_page;
mod home;
mod invalid_room;
mod logo;
mod not_found;
mod open_by_name;
mod recent_docs;
mod save_badge;
mod share_button;
mod text_editor;
mod title_field;

pub(crate) use connection_badge::ConnectionBadge;
pub(crate) use doc_stats_view::DocStatsView;
pub(crate) use document_view::DocumentView;
pub(crate) use editor_page::EditorPage;
pub(crate) use home::Home;
pub(crate) use invalid_room::InvalidRoom;
pub(crate) use logo::Logo;
pub(crate) use not_found::NotFound;
pub(crate) use open_by_name::OpenByName;
pub(crate) use recent_docs::RecentDocs;
pub(crate) use save_badge::SaveBadge;
pub(crate) use share_button::ShareButton;
pub(crate) use text_editor::TextEditor;
pub(crate) use title_field::TitleField;
