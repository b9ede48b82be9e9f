//! The command line as typed: clap's types and the parsers for rates and durations. Nothing
//! else in the crate sees clap; [`crate::config`] turns these into a checked `Config`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{
    ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum,
};

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

/// Where the tenant is and how to get a token: the settings every command that reaches a
/// tenant shares.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// The tenant's base URL, e.g. https://acme.us.connect.secureauth.com.
    #[arg(long, env = "ORGIMPORT_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// The tenant id (derived from --token-url or the base URL's host when absent).
    #[arg(long, env = "ORGIMPORT_TENANT")]
    pub tenant: Option<String>,
    /// The token URL from the client's Overview tab (derived from base URL and tenant when
    /// absent; enough on its own to find both).
    #[arg(long, env = "ORGIMPORT_TOKEN_URL", value_name = "URL")]
    pub token_url: Option<String>,
    /// The System workspace client's id.
    #[arg(long, env = "ORGIMPORT_CLIENT_ID")]
    pub client_id: Option<String>,
    /// A file holding the client secret (else ORGIMPORT_CLIENT_SECRET is read).
    #[arg(long, env = "ORGIMPORT_CLIENT_SECRET_FILE", value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// The scopes to ask for (the spec's system scope is manage_configuration).
    #[arg(long, env = "ORGIMPORT_SCOPE", default_value = "manage_organizations")]
    pub scope: String,
    /// How to send the client credentials to the token endpoint.
    #[arg(long, value_enum, default_value = "post")]
    pub client_auth: ClientAuthArg,
    /// How long to wait for one reply, e.g. 30s or 1500ms.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Reading back a results file: which columns feed which fields.
#[derive(Debug, Clone, Args)]
pub struct ResultsArgs {
    /// The results file an import wrote.
    #[arg(value_name = "RESULTS.csv")]
    pub results: PathBuf,
    /// The mapping file the import used, if any.
    #[arg(long, value_name = "PATH")]
    pub mapping: Option<PathBuf>,
    /// FIELD=COLUMN, as the import was given.
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_map)]
    pub map: Vec<(String, String)>,
    /// Where to write the report [default: beside the results file].
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Requests per second at most: N, N/s, N/m or N/h.
    #[arg(long, env = "ORGIMPORT_RATE", default_value = "20", value_parser = parse_rate)]
    pub rate: RateArg,
    /// Requests in flight at most.
    #[arg(long, default_value = "8", value_parser = parse_at_least_one::<NonZeroUsize>)]
    pub concurrency: NonZeroUsize,
}

/// `orgimport verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The results file and how to read it.
    #[command(flatten)]
    pub results: ResultsArgs,
    /// The template of rows that name none, as the import was given.
    #[arg(long, env = "ORGIMPORT_TEMPLATE_ID", value_name = "ID")]
    pub template_id: Option<String>,
    /// Where the tenant is.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `orgimport undo`.
#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The results file and how to read it.
    #[command(flatten)]
    pub results: ResultsArgs,
    /// Delete without asking (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Where the tenant is.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `orgimport token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Print the access token itself (for a manual curl); it is a credential.
    #[arg(long)]
    pub show: bool,
    /// The template to check the token can read, as the import would.
    #[arg(long, env = "ORGIMPORT_TEMPLATE_ID", value_name = "ID")]
    pub template_id: Option<String>,
    /// Where the tenant is.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `orgimport config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The template of rows that name none.
    #[arg(long, env = "ORGIMPORT_TEMPLATE_ID", value_name = "ID")]
    pub template_id: Option<String>,
    /// Requests per second at most.
    #[arg(long, env = "ORGIMPORT_RATE", default_value = "20", value_parser = parse_rate)]
    pub rate: RateArg,
    /// Where the tenant is.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `orgimport completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Writes the completion script for `shell` to `out`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "orgimport", out);
}

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientAuthArg {
    /// Id and secret in the form body (client_secret_post), as the product doc shows.
    Post,
    /// HTTP Basic (client_secret_basic), the OpenAPI spec's default.
    Basic,
}

/// `orgimport import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The customer CSV: a header row, a `name` column, optional id, displayName,
    /// description, email, parent_id, template_id, color, domains and metadata.<key> columns.
    pub input: PathBuf,

    /// How to read the input.
    #[command(flatten)]
    pub format: InputFormatArgs,

    /// Rehearse: start the built-in sandbox on a free port and import into it.
    #[arg(long)]
    pub sandbox: bool,

    /// Where the tenant is and how to get a token.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// The template applied to rows that name none in a template_id column.
    #[arg(long, env = "ORGIMPORT_TEMPLATE_ID", value_name = "ID")]
    pub template_id: Option<String>,

    /// The results file [default: <input stem>.results.csv beside the input].
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Requests per second at most, all workers together: N, N/s, N/m or N/h.
    #[arg(long, env = "ORGIMPORT_RATE", default_value = "20", value_parser = parse_rate)]
    pub rate: RateArg,

    /// Requests allowed at once before the rate applies [default: a tenth of a second's worth].
    #[arg(long, value_parser = parse_at_least_one::<NonZeroU32>)]
    pub burst: Option<NonZeroU32>,

    /// Requests in flight at most.
    #[arg(long, default_value = "16", value_parser = parse_at_least_one::<NonZeroUsize>)]
    pub concurrency: NonZeroUsize,

    /// Requests sent for one row at most, retries included.
    #[arg(long, default_value = "6", value_parser = parse_at_least_one::<NonZeroU32>)]
    pub max_attempts: NonZeroU32,

    /// Send nothing: show the JSON a few rows would be sent as, and count what would be
    /// created, skipped and invalid. Needs no credentials.
    #[arg(long)]
    pub dry_run: bool,

    /// Also write the end-of-run summary as JSON to this file, for scripts.
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,

    /// What to do with a row whose organization already exists (by id, else by name).
    #[arg(long, value_enum, default_value = "skip")]
    pub on_existing: OnExistingArg,
}

/// `--on-existing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnExistingArg {
    /// Record it as `exists`; send nothing for it.
    Skip,
    /// Record it as failed, naming the organization.
    Fail,
    /// Send the fields that differ (PUT) and record it as `updated`.
    Update,
}

/// How to read a customer file: its dialect and which columns feed which fields.
#[derive(Debug, Clone, Default, Args)]
pub struct InputFormatArgs {
    /// The field separator [default: found from the header: , ; tab or |].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// The file's encoding when it is not UTF-8, e.g. windows-1252 (UTF-16 with a
    /// byte-order mark is recognised on its own).
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,
    /// A TOML file naming the column (or value, format, slug) of each field; see the README.
    #[arg(long, value_name = "PATH")]
    pub mapping: Option<PathBuf>,
    /// FIELD=COLUMN: take a field (or metadata.<key>) from a column; wins over --mapping.
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_map)]
    pub map: Vec<(String, String)>,
}

/// `orgimport validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The customer CSV.
    pub input: PathBuf,
    /// How to read it.
    #[command(flatten)]
    pub format: InputFormatArgs,
    /// The template applied to rows that name none (checked like theirs).
    #[arg(long, env = "ORGIMPORT_TEMPLATE_ID", value_name = "ID")]
    pub template_id: Option<String>,
}

/// `orgimport sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value = "8080")]
    pub port: u16,
    /// The tenant id it serves.
    #[arg(long, default_value = "demo")]
    pub tenant: String,
    /// The client id it accepts [default: generated and printed].
    #[arg(long)]
    pub client_id: Option<String>,
    /// A file holding the secret it accepts [default: ORGIMPORT_CLIENT_SECRET, else generated
    /// and printed].
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// The id of the seeded organization template.
    #[arg(long, default_value = "b2b-customer-template")]
    pub template_id: String,
    /// How long a token lives, e.g. 1h or 30s.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub token_lifetime: Duration,
    /// Send expires_in as a number (the spec) instead of a string (the doc).
    #[arg(long)]
    pub expires_in_number: bool,
    /// The tenant's rate limit on API requests (N, N/s, N/m, N/h); over it answers 429.
    #[arg(long, value_parser = parse_rate)]
    pub rate_limit: Option<RateArg>,
    /// The burst the rate limit allows [default: one second's worth].
    #[arg(long, value_parser = parse_at_least_one::<NonZeroU32>)]
    pub rate_limit_burst: Option<NonZeroU32>,
    /// Fraction of creates and updates answered 500/503 before anything is changed.
    #[arg(long, default_value = "0", value_parser = parse_fraction)]
    pub fail_rate: f64,
    /// Fraction of creates that create the organization and then answer 502 or drop the
    /// connection.
    #[arg(long, default_value = "0", value_parser = parse_fraction)]
    pub commit_then_fail_rate: f64,
    /// Fraction of API requests answered 403 request_forbidden (a burst limit).
    #[arg(long, default_value = "0", value_parser = parse_fraction)]
    pub forbidden_rate: f64,
    /// Fraction of creates that create the organization and then reply only after
    /// --slow-commit-delay.
    #[arg(long, default_value = "0", value_parser = parse_fraction)]
    pub slow_commit_rate: f64,
    /// The delay of slow commits.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub slow_commit_delay: Duration,
    /// Latency added to every API reply, e.g. 50ms.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub latency: Duration,
    /// Random extra latency, up to this much.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub latency_jitter: Duration,
    /// Seed of the fault injection's random choices.
    #[arg(long, default_value = "1")]
    pub seed: u64,
}

/// A rate: `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateArg {
    /// Requests allowed per period.
    pub count: NonZeroU32,
    /// The period.
    pub period: Duration,
}

impl RateArg {
    /// Requests per second.
    pub fn per_second(&self) -> f64 {
        f64::from(self.count.get()) / self.period.as_secs_f64()
    }
}

/// Parses `100`, `100/s`, `6000/m`, `6000/min` or `50000/h`.
///
/// # Errors
/// A message saying the accepted forms.
pub fn parse_rate(text: &str) -> Result<RateArg, String> {
    let bad = || format!("{text:?} is not a rate: use N, N/s, N/m or N/h with N at least 1");
    let (count, unit) = text.trim().split_once('/').unwrap_or((text.trim(), "s"));
    let count: NonZeroU32 = count.trim().parse().map_err(|_| bad())?;
    let period = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    Ok(RateArg { count, period })
}

/// A count that must be a whole number of at least 1 (`--concurrency`, `--burst`, ...).
///
/// # Errors
/// A message saying so when it is not.
pub fn parse_at_least_one<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| "use a whole number of at least 1".to_string())
}

/// Parses `FIELD=COLUMN`.
///
/// # Errors
/// A message when there is no `=` or either side is empty.
pub fn parse_map(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((field, column)) if !field.trim().is_empty() && !column.trim().is_empty() => {
            Ok((field.trim().to_string(), column.trim().to_string()))
        }
        _ => Err(format!(
            "{text:?} is not FIELD=COLUMN, e.g. name=\"Account Name\" or metadata.region=Region"
        )),
    }
}

/// Parses `250ms`, `30s`, `5m`, `1h`, or a plain number of seconds.
///
/// # Errors
/// A message saying the accepted forms.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("{text:?} is not a duration: use e.g. 500ms, 30s, 5m or 1h");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

/// Parses a fraction from 0 to 1.
///
/// # Errors
/// A message when the value is not a number from 0 to 1.
pub fn parse_fraction(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| (0.0..=1.0).contains(f))
        .ok_or_else(|| format!("{text:?} is not a fraction from 0 to 1 (e.g. 0.05)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
