//! The edge between the command line and the library: runs a parsed [`Cli`], prints what
//! the user needs to see, and chooses the exit code.

pub mod dry_run;
pub mod import;
pub mod plan;
pub mod sandbox;
pub mod session;
pub mod token;
pub mod undo;
pub mod validate;
pub mod verify;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::settings::Config;
use crate::settings::profile;

/// Exit code of a run stopped by a fatal error.
pub const EXIT_FATAL: u8 = 2;

/// Runs the command `cli` names.
///
/// # Errors
/// A fatal error, with its context, for `main` to print; the exit code is then 2.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let chosen = match &cli.command {
        Command::Sandbox(_) | Command::Completions(_) | Command::Validate(_) => {
            profile::Chosen::default()
        }
        _ => profile::load(cli.config.as_deref(), cli.profile.as_deref())?,
    };
    let sources = &cli.sources;
    match cli.command {
        Command::Import(mut args) => {
            chosen.apply_import(&mut args, sources);
            let summary_json = args.summary_json.clone();
            if args.dry_run {
                let tenant = args.connection.tenant.clone();
                args.sandbox = true; // Nothing is sent, so no credentials are needed.
                let config = Config::from_import_args(args, cli.quiet)?;
                let dry = crate::commands::dry_run::dry_run(&config, tenant.as_deref()).await?;
                print!("{}", dry.text);
                return Ok(ExitCode::from(dry.exit_code()));
            }
            let config = Config::from_import_args(args, cli.quiet)?;
            let input = config.input.clone();
            let summary = import::import(config)
                .await
                .with_context(|| format!("importing {}", input.display()))?;
            let report = crate::report::summary::RunReport::new(&summary);
            eprintln!("{report}");
            if let Some(fatal) = &summary.fatal {
                eprintln!("error: the run stopped: {fatal}");
            }
            if let Some(path) = summary_json {
                report.write_json(&path)?;
            }
            Ok(ExitCode::from(summary.exit_code()))
        }
        Command::Verify(mut args) => {
            chosen.apply_connection(&mut args.connection, sources);
            chosen.apply_template(&mut args.template_id);
            chosen.apply_rate(&mut args.results.rate, sources);
            let report = crate::commands::verify::verify(args, cli.quiet).await?;
            eprintln!("{report}");
            Ok(ExitCode::from(report.exit_code()))
        }
        Command::Undo(mut args) => {
            chosen.apply_connection(&mut args.connection, sources);
            chosen.apply_rate(&mut args.results.rate, sources);
            let report = crate::commands::undo::undo(args, cli.quiet).await?;
            eprintln!("{report}");
            Ok(ExitCode::from(report.exit_code()))
        }
        Command::Token(mut args) => {
            chosen.apply_connection(&mut args.connection, sources);
            chosen.apply_template(&mut args.template_id);
            let info = crate::commands::token::check(&args).await?;
            print!("{}", info.describe(args.show));
            if !info.scope_ok() {
                eprintln!(
                    "error: the token endpoint granted {:?}, not every scope asked for ({:?})",
                    info.granted.as_deref().unwrap_or(""),
                    info.requested
                );
                return Ok(ExitCode::from(1));
            }
            if !info.template_ok() {
                eprintln!("error: an import with this template would stop before its first row");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(args) => {
            print!("{}", profile::describe(&args, sources, &chosen));
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions(args) => {
            crate::cli::write_completions(args.shell, &mut std::io::stdout().lock());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan(mut args) => {
            chosen.apply_import(&mut args, sources);
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| crate::commands::plan::default_plan_path(&args.input));
            let config = Config::from_import_args(args, cli.quiet)?;
            let input = config.input.clone();
            let report = crate::commands::plan::plan(config, out)
                .await
                .with_context(|| format!("planning {}", input.display()))?;
            eprintln!("{report}");
            Ok(ExitCode::from(report.exit_code()))
        }
        Command::Validate(args) => {
            let report = crate::commands::validate::validate(&args, &mut std::io::stdout().lock())?;
            eprintln!("{report}");
            Ok(ExitCode::from(if report.invalid == 0 { 0 } else { 1 }))
        }
        Command::Sandbox(args) => sandbox::serve(&args).await.map(|()| ExitCode::SUCCESS),
    }
}
