//! The `tandem` binary: parse the configuration, set up logging, bind, serve.

use std::process::ExitCode;

use clap::Parser;
use tandem_server::{Config, shutdown::shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    telemetry::init_tracing(&config);
    let listen = config.listen;
    let state = match tandem_server::prepare(config) {
        Ok(state) => state,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {listen}: {err}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => tracing::info!("Tandem is listening on http://{addr}"),
        Err(err) => tracing::warn!(error = %err, "listening, address unknown"),
    }
    match tandem_server::serve(listener, state, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
