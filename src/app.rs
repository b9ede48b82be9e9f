//! The edge between the command line and the library: runs a parsed [`Cli`], prints what
//! the user needs to see, and chooses the exit code.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command, SandboxArgs};
use crate::config::{self, Config};
use crate::profile;
use crate::sandbox::Sandbox;

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
                let dry = crate::dryrun::dry_run(&config, tenant.as_deref()).await?;
                print!("{}", dry.text);
                return Ok(ExitCode::from(dry.exit_code()));
            }
            let config = Config::from_import_args(args, cli.quiet)?;
            let input = config.input.clone();
            let summary = crate::run::import(config)
                .await
                .with_context(|| format!("importing {}", input.display()))?;
            let report = crate::summary::RunReport::new(&summary);
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
            let report = crate::verify::verify(args, cli.quiet).await?;
            eprintln!("{report}");
            Ok(ExitCode::from(report.exit_code()))
        }
        Command::Undo(mut args) => {
            chosen.apply_connection(&mut args.connection, sources);
            chosen.apply_rate(&mut args.results.rate, sources);
            let report = crate::undo::undo(args, cli.quiet).await?;
            eprintln!("{report}");
            Ok(ExitCode::from(report.exit_code()))
        }
        Command::Token(mut args) => {
            chosen.apply_connection(&mut args.connection, sources);
            chosen.apply_template(&mut args.template_id);
            let info = crate::token::check(&args).await?;
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
                .unwrap_or_else(|| crate::tenant_plan::default_plan_path(&args.input));
            let config = Config::from_import_args(args, cli.quiet)?;
            let input = config.input.clone();
            let report = crate::tenant_plan::plan(config, out)
                .await
                .with_context(|| format!("planning {}", input.display()))?;
            eprintln!("{report}");
            Ok(ExitCode::from(report.exit_code()))
        }
        Command::Validate(args) => {
            let report = crate::validate::validate(&args, &mut std::io::stdout().lock())?;
            eprintln!("{report}");
            Ok(ExitCode::from(if report.invalid == 0 { 0 } else { 1 }))
        }
        Command::Sandbox(args) => serve_sandbox(&args).await.map(|()| ExitCode::SUCCESS),
    }
}

async fn serve_sandbox(args: &SandboxArgs) -> anyhow::Result<()> {
    let config = config::sandbox_config(args)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let address = listener.local_addr()?;
    let sandbox = Sandbox::new(config);
    // The sandbox's own credentials are printed so that the user can point an import at it;
    // they are not a tenant's.
    println!("sandbox listening on http://{address} (Ctrl-C stops it; its data lives in memory)");
    print!("{}", sandbox.shell_exports(address));
    println!("# stats: curl http://{address}/_sandbox/stats");
    sandbox
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the sandbox stopped")?;
    Ok(())
}
