//! The command line as typed: clap's types and the parsers for rates and durations. Only
//! [`crate::settings`] sees these besides `main`: it resolves them, with the environment and
//! the settings file, into each command's checked settings. clap reads no environment
//! variable itself, so that precedence lives in one place (flags > environment > profile >
//! defaults); the `[env: ...]` in the help says which variable the settings layer reads.

mod args;
mod parse;
mod sandbox_args;

pub use args::*;
pub use parse::*;
pub use sandbox_args::*;

use std::path::PathBuf;

use clap::{ArgAction, CommandFactory, Parser, Subcommand};

/// Bulk-create SecureAuth Connect organizations from a CSV of customers.
#[derive(Debug, Parser)]
#[command(name = "orgimport", version = crate::VERSION, propagate_version = true)]
#[command(after_help = "Rehearse on the built-in sandbox first:\n  \
    orgimport import samples/customers.csv --sandbox\n\n\
    The client secret is read from ORGIMPORT_CLIENT_SECRET or --client-secret-file, never from a flag.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log more (-v: each retry, -vv: each request).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print nothing but errors and the final summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to colour log lines: auto (when stderr is a terminal and NO_COLOR is not set),
    /// always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: clap::ColorChoice,
    /// The settings file [env: ORGIMPORT_CONFIG] [default: orgimport.toml in the working
    /// directory, if there].
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The profile of the settings file to use, e.g. staging or production [env:
    /// ORGIMPORT_PROFILE] [default: the file's default_profile].
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an organization for every row of a customer CSV; rerun to resume.
    #[command(after_help = "Examples:\n  \
        orgimport import customers.csv --sandbox\n  \
        orgimport import customers.csv --dry-run\n  \
        orgimport --profile production import customers.csv --summary-json summary.json\n  \
        orgimport import customers.csv \\\n    \
        --token-url https://acme.us.connect.secureauth.com/acme/system/oauth2/token \\\n    \
        --client-id 3f2a... --client-secret-file ~/secrets/orgimport-client-secret \\\n    \
        --template-id b2b-customer-template --rate 50")]
    Import(ImportArgs),
    /// Show what an import would do to each row, against the tenant as it is now; send no write.
    #[command(mut_arg("out", |out| out.help(
        "The plan file, `-` for standard output [default: <input stem>.plan.csv beside the \
         input; <input stem>.sandbox.plan.csv with --sandbox]"
    )))]
    #[command(
        after_help = "Takes the same settings as import; writes <input stem>.plan.csv \
        (or --out) with an action per row.\n\
        Exit code: 0 when nothing would change, 1 when something would (or a row is invalid \
        or in conflict), 2 on a fatal error.\n\nExamples:\n  \
        orgimport plan customers.csv --sandbox\n  \
        orgimport plan customers.csv --base-url ... --client-id ... \\\n    \
        --client-secret-file ~/secrets/orgimport-client-secret"
    )]
    Plan(PlanArgs),
    /// Check every row of a customer CSV without sending anything; list all problems.
    #[command(after_help = "Examples:\n  \
        orgimport validate customers.csv\n  \
        orgimport validate crm-export.csv --mapping crm-mapping.toml")]
    Validate(ValidateArgs),
    /// Run the built-in emulator of the SecureAuth System API, for rehearsals.
    #[command(after_help = "Example:\n  orgimport sandbox --port 8080 --rate-limit 100")]
    Sandbox(SandboxArgs),
    /// Serve the whole import as a local web page (127.0.0.1 only), for people who live in
    /// spreadsheets: file, columns, review, plan, run, results.
    #[command(
        after_help = "Prints one URL with a token in it; open it in a browser on this \
        machine: it opens the page for as long as the console runs (Ctrl-C stops it).\n\nExamples:\n  \
        orgimport console --sandbox --open\n  \
        orgimport --profile production console --dir ~/imports"
    )]
    Console(ConsoleArgs),
    /// Check that every organization a run created exists as its row says, with the
    /// template's configuration; write a report, exit 1 on any mismatch.
    #[command(after_help = "Examples:\n  \
        orgimport verify customers.results.csv\n  \
        orgimport --profile production verify customers.results.csv --out verify.csv")]
    Verify(VerifyArgs),
    /// Delete the organizations a run created (children first), to roll back a rehearsal.
    #[command(after_help = "Examples:\n  \
        orgimport undo customers.results.csv          # asks before deleting\n  \
        orgimport --profile staging undo customers.results.csv --yes\n\n\
        Rows the run found already existing (status `exists`) are never deleted.")]
    Undo(UndoArgs),
    /// Fetch a token to check the credentials and scope; print its scope and expiry.
    #[command(after_help = "Examples:\n  \
        orgimport token customers.csv   # also reads every template the rows name\n  \
        orgimport --profile staging token --show   # print the access token itself")]
    Token(TokenArgs),
    /// Show every connection setting, its value and where it came from.
    #[command(after_help = "Examples:\n  \
        orgimport config\n  \
        orgimport --profile production config --rate 10")]
    Config(ConfigArgs),
    /// Write a tenant's organizations (or one subtree) as a CSV that `import` reads back with
    /// no flags: to copy them to another tenant, or to keep a backup.
    #[command(
        after_help = "Parents come before their children; templates are left out (the \
        API does not say which template an organization came from: give the import \
        --template-id).\n\
        Exit code: 0 when every organization reads back as it is, 1 when some would not \
        (named on stderr; the file is written), 2 on a fatal error.\n\nExamples:\n  \
        orgimport --profile staging export --out staging.csv\n  \
        orgimport export --base-url ... --client-id ... \\\n    \
        --client-secret-file ~/secrets/orgimport-client-secret --parent acme-holding --out acme.csv"
    )]
    Export(ExportArgs),
    /// Print a shell completion script (or, with `man`, the manual page; with `man --dir`,
    /// write every page), to install in your own folders.
    #[command(after_help = "Examples (each installs for your user only):\n  \
        mkdir -p ~/.local/share/bash-completion/completions\n  \
        orgimport completions bash > ~/.local/share/bash-completion/completions/orgimport\n  \
        mkdir -p ~/.zfunc && orgimport completions zsh > ~/.zfunc/_orgimport   \
        # with fpath+=~/.zfunc in ~/.zshrc\n  \
        mkdir -p ~/.config/fish/completions && \
        orgimport completions fish > ~/.config/fish/completions/orgimport.fish\n  \
        mkdir -p ~/.local/share/man/man1\n  \
        orgimport completions man --dir ~/.local/share/man/man1   \
        # then: man orgimport, man orgimport-import")]
    Completions(CompletionsArgs),
}

/// Writes the completion script for `target` (or the manual page) to `out`.
///
/// # Errors
/// The manual page's writer's.
pub fn write_completions(
    target: CompletionTarget,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use clap_complete::Shell;
    let shell = match target {
        CompletionTarget::Bash => Shell::Bash,
        CompletionTarget::Zsh => Shell::Zsh,
        CompletionTarget::Fish => Shell::Fish,
        CompletionTarget::Elvish => Shell::Elvish,
        CompletionTarget::Powershell => Shell::PowerShell,
        CompletionTarget::Man => return clap_mangen::Man::new(man_command()).render(out),
    };
    clap_complete::generate(shell, &mut Cli::command(), "orgimport", out);
    Ok(())
}

/// The command as the manual pages describe it: without clap's `help` subcommand, which has
/// no page (`--help` is on every page).
fn man_command() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// Every manual page: orgimport(1), and one per subcommand (orgimport-import(1), ...), as
/// orgimport(1) names them; each as its file name (`orgimport-import.1`) and its roff text.
///
/// # Errors
/// The manual page writer's.
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let top = man_command();
    let mut pages = Vec::new();
    for command in std::iter::once(top.clone()).chain(top.get_subcommands().cloned()) {
        let man = clap_mangen::Man::new(command).source(format!("orgimport {}", crate::VERSION));
        let mut roff = Vec::new();
        man.render(&mut roff)?;
        pages.push((man.get_filename(), roff));
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::time::Duration;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn no_help_puts_the_secret_on_a_command_line() {
        let mut top = Cli::command();
        top.build();
        let mut texts = vec![top.render_long_help().to_string()];
        for sub in top.get_subcommands_mut() {
            texts.push(sub.render_long_help().to_string());
        }
        let mut man = Vec::new();
        write_completions(CompletionTarget::Man, &mut man).unwrap();
        texts.push(String::from_utf8(man).unwrap());
        assert!(texts.len() > 10, "every subcommand's help");
        for text in &texts {
            assert!(!text.contains("ORGIMPORT_CLIENT_SECRET="), "{text}");
            assert!(
                !text.contains("/etc/"),
                "installs in the user's folders: {text}"
            );
        }
        assert!(texts[0].contains(".TH") || texts.iter().any(|t| t.contains(".TH orgimport")));
        let import = &texts[1];
        for heading in ["Input:", "Connection:", "Rate:", "Output:"] {
            assert!(import.contains(heading), "{heading} in {import}");
        }
    }

    #[test]
    fn no_flag_takes_the_secret() {
        let err = Cli::try_parse_from(["orgimport", "import", "x.csv", "--client-secret", "s"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }
}
