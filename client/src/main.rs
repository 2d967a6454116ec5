//! Entry point of the browser app: installs the panic hook and mounts
//! [`tandem_client::App`] on `<body>`. Everything else lives in the library.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(tandem_client::App);
}
