//! The command line as typed: clap's types and the parsers for rates and durations. Nothing
//! else in the crate sees clap; [`crate::settings`] turns these into a checked `Config`.

mod args;
mod parse;

pub use args::*;
pub use parse::*;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Bulk-create SecureAuth Connect organizations from a CSV of customers.
#[derive(Debug, Parser)]
#[command(name = "orgimport", version, propagate_version = true)]
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
    /// The settings file [default: orgimport.toml in the working directory, if there].
    #[arg(long, global = true, env = "ORGIMPORT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The profile of the settings file to use, e.g. staging or production [default: the
    /// file's default_profile].
    #[arg(long, global = true, env = "ORGIMPORT_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Where each of the subcommand's settings came from (flag, environment or default);
    /// filled by [`Cli::parse_args`].
    #[arg(skip)]
    pub sources: Sources,
}

/// Where a setting given on the command line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingSource {
    /// A flag or argument.
    Flag,
    /// Its environment variable.
    Env,
    /// clap's default value.
    Default,
}

/// The [`SettingSource`] of each argument of the subcommand, by its id (the field name).
#[derive(Debug, Clone, Default)]
pub struct Sources(HashMap<String, SettingSource>);

impl Sources {
    /// Where `id` came from; `None` when it was not given at all (or not recorded).
    pub fn get(&self, id: &str) -> Option<SettingSource> {
        self.0.get(id).copied()
    }

    fn from_matches(matches: &ArgMatches) -> Sources {
        let mut sources = HashMap::new();
        let mut add = |m: &ArgMatches| {
            for id in m.ids() {
                let source = match m.value_source(id.as_str()) {
                    Some(ValueSource::CommandLine) => SettingSource::Flag,
                    Some(ValueSource::EnvVariable) => SettingSource::Env,
                    Some(ValueSource::DefaultValue) => SettingSource::Default,
                    _ => continue,
                };
                sources.insert(id.to_string(), source);
            }
        };
        add(matches);
        if let Some((_, sub)) = matches.subcommand() {
            add(sub);
        }
        Sources(sources)
    }
}

impl Cli {
    /// Parses `args` (the program name first) and records where each setting came from, so
    /// that the settings file fills only what neither a flag nor the environment set.
    ///
    /// # Errors
    /// clap's error, to print and exit with.
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        cli.sources = Sources::from_matches(&matches);
        Ok(cli)
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an organization for every row of a customer CSV; rerun to resume.
    #[command(after_help = "Examples:\n  \
        orgimport import customers.csv --sandbox\n  \
        orgimport import customers.csv --dry-run\n  \
        orgimport --profile production import customers.csv --summary-json summary.json\n  \
        ORGIMPORT_CLIENT_SECRET=... orgimport import customers.csv \\\n    \
        --token-url https://acme.us.connect.secureauth.com/acme/system/oauth2/token \\\n    \
        --client-id 3f2a... --template-id b2b-customer-template --rate 50")]
    Import(ImportArgs),
    /// Show what an import would do to each row, against the tenant as it is now; send no write.
    #[command(
        after_help = "Takes the same settings as import; writes <input stem>.plan.csv \
        (or --out) with an action per row.\n\
        Exit code: 0 when nothing would change, 1 when something would (or a row is invalid \
        or in conflict), 2 on a fatal error.\n\nExamples:\n  \
        orgimport plan customers.csv --sandbox\n  \
        ORGIMPORT_CLIENT_SECRET=... orgimport plan customers.csv --base-url ... --client-id ..."
    )]
    Plan(ImportArgs),
    /// Check every row of a customer CSV without sending anything; list all problems.
    #[command(after_help = "Examples:\n  \
        orgimport validate customers.csv\n  \
        orgimport validate crm-export.csv --mapping crm-mapping.toml")]
    Validate(ValidateArgs),
    /// Run the built-in emulator of the SecureAuth System API, for rehearsals.
    #[command(after_help = "Example:\n  orgimport sandbox --port 8080 --rate-limit 100")]
    Sandbox(SandboxArgs),
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
        orgimport token\n  \
        orgimport --profile staging token --show   # print the access token itself")]
    Token(TokenArgs),
    /// Show every connection setting, its value and where it came from.
    #[command(after_help = "Examples:\n  \
        orgimport config\n  \
        orgimport --profile production config --rate 10")]
    Config(ConfigArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
        orgimport completions bash > /etc/bash_completion.d/orgimport\n  \
        orgimport completions zsh > \"${fpath[1]}/_orgimport\"")]
    Completions(CompletionsArgs),
}

/// Writes the completion script for `shell` to `out`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "orgimport", out);
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
    fn rates() {
        assert_eq!(parse_rate("100").unwrap().per_second(), 100.0);
        assert_eq!(parse_rate("600/m").unwrap().per_second(), 10.0);
        assert_eq!(parse_rate("3600/h").unwrap().per_second(), 1.0);
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("10/week").is_err());
        assert!(parse_rate("fast").is_err());
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
    fn no_flag_takes_the_secret() {
        let err = Cli::try_parse_from(["orgimport", "import", "x.csv", "--client-secret", "s"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }
}
