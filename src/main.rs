//! The `orgimport` binary: logging, the command line, and the exit code.

use std::io::Write as _;
use std::process::ExitCode;

use orgimport::cli::Cli;
use orgimport::commands;

fn main() -> ExitCode {
    let cli = Cli::parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ORGIMPORT_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!("orgimport={level}"))
            }),
        )
        .with_writer(orgimport::report::progress::LogWriter::default)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        // Its report of a failed write is an `eprintln!`, which panics when stderr is closed.
        .log_internal_errors(false)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the async runtime: {e}"
            );
            return ExitCode::from(commands::EXIT_FATAL);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // Never a panic, even with stderr closed.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(commands::EXIT_FATAL)
        }
    }
}
