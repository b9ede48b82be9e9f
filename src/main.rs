//! The `orgimport` binary: logging, the command line and its settings, and the exit code.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::Parser;
use orgimport::ExitStatus;
use orgimport::cli::Cli;
use orgimport::commands;
use orgimport::settings::{Environment, Settings};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        .with_ansi(colour(cli.color))
        // Module paths mean nothing to a user; they help at -vv, where the lines are for
        // whoever reads the code.
        .with_target(cli.verbose >= 2)
        // Its report of a failed write is an `eprintln!`, which panics when stderr is closed.
        .log_internal_errors(false)
        .init();
    let settings = match Settings::resolve(cli, Environment::from_process()) {
        Ok(settings) => settings,
        Err(e) => return fatal(&e),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fatal(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(commands::run(settings)) {
        Ok(status) => status.into(),
        Err(e) => fatal(&format!("{e:#}")),
    }
}

/// Whether log lines are coloured: `--color always|never`, else only on a terminal and
/// without `NO_COLOR` (set and not empty, as no-color.org says).
fn colour(choice: clap::ColorChoice) -> bool {
    match choice {
        clap::ColorChoice::Always => true,
        clap::ColorChoice::Never => false,
        clap::ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

/// Prints `error` (never a panic, even with stderr closed) and exits 2.
fn fatal(error: &dyn std::fmt::Display) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {error}");
    ExitStatus::Fatal.into()
}
