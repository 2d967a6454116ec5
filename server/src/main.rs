//! The `tandem` binary: with no command, parse the configuration, set up
//! logging, bind, serve; with one (`tandem help`), run it
//! (`tandem_server::cli`).

use std::process::ExitCode;

use tandem_server::cli::Cli;
use tandem_server::{Config, shutdown::shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::from_env();
    match cli.command {
        Some(command) => command.run().await,
        None => serve(cli.config).await,
    }
}

async fn serve(config: Config) -> ExitCode {
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
