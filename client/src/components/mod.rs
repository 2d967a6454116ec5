//! The page's components, one per file.
//!
//! Pages: [`Home`], [`EditorPage`] (which shows [`DocumentView`] or
//! [`InvalidRoom`]) and [`NotFound`]. The rest are parts of those pages.

mod connection_badge;
mod copy_field;
mod cross_icon;
mod doc_stats_view;
mod document_loader;
mod document_view;
mod download_menu;
mod editor_page;
mod frame_row;
mod history_diff;
mod history_panel;
mod history_row;
mod home;
mod inspector_panel;
mod invalid_room;
mod logo;
mod name_field;
mod not_found;
mod open_by_name;
mod participants;
mod popover;
mod read_only_badge;
mod recent_docs;
mod remote_cursors;
mod save_badge;
mod share_button;
mod text_editor;
mod title_field;

pub(crate) use connection_badge::ConnectionBadge;
pub(crate) use copy_field::CopyField;
pub(crate) use cross_icon::CrossIcon;
pub(crate) use doc_stats_view::DocStatsView;
pub(crate) use document_loader::DocumentLoader;
pub(crate) use document_view::DocumentView;
pub(crate) use download_menu::DownloadMenu;
pub(crate) use editor_page::EditorPage;
pub(crate) use frame_row::FrameRow;
pub(crate) use history_diff::HistoryDiff;
pub(crate) use history_panel::HistoryPanel;
pub(crate) use history_row::HistoryRow;
pub(crate) use home::Home;
pub(crate) use inspector_panel::InspectorPanel;
pub(crate) use invalid_room::InvalidRoom;
pub(crate) use logo::Logo;
pub(crate) use name_field::NameField;
pub(crate) use not_found::NotFound;
pub(crate) use open_by_name::OpenByName;
pub(crate) use participants::Participants;
pub(crate) use read_only_badge::ReadOnlyBadge;
pub(crate) use recent_docs::RecentDocs;
pub(crate) use remote_cursors::RemoteCursors;
pub(crate) use save_badge::SaveBadge;
pub(crate) use share_button::ShareButton;
pub(crate) use text_editor::TextEditor;
pub(crate) use title_field::TitleField;
