//! The arguments of each subcommand, as clap parses them.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::parse::*;
use crate::rate::RateSetting;

/// Where the tenant is and how to get a token: the settings every command that reaches a
/// tenant shares.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// The tenant's base URL, e.g. https://acme.us.connect.secureauth.com [env:
    /// ORGIMPORT_BASE_URL].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The tenant id (derived from --token-url or the base URL's host when absent) [env:
    /// ORGIMPORT_TENANT].
    #[arg(long)]
    pub tenant: Option<String>,
    /// The token URL from the client's Overview tab (derived from base URL and tenant when
    /// absent; enough on its own to find both) [env: ORGIMPORT_TOKEN_URL].
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// The System workspace client's id [env: ORGIMPORT_CLIENT_ID].
    #[arg(long)]
    pub client_id: Option<String>,
    /// A file holding the client secret (else ORGIMPORT_CLIENT_SECRET is read) [env:
    /// ORGIMPORT_CLIENT_SECRET_FILE].
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// The scopes to ask for (the spec's system scope is manage_configuration) [env:
    /// ORGIMPORT_SCOPE] [default: manage_organizations].
    #[arg(long)]
    pub scope: Option<String>,
    /// How to send the client credentials to the token endpoint.
    #[arg(long, value_enum, default_value = "post")]
    pub client_auth: ClientAuthArg,
    /// How long to wait for one reply, e.g. 30s or 1500ms.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Allow plain http:// to a host other than this machine: the client secret and tokens
    /// then cross the network in clear [env: ORGIMPORT_ALLOW_INSECURE_HTTP].
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// Reading back a results file: which columns feed which fields.
#[derive(Debug, Clone, Args)]
pub struct ResultsArgs {
    /// The results file an import wrote.
    #[arg(value_name = "RESULTS.csv")]
    pub results: PathBuf,
    /// The mapping file the import used, if any.
    #[arg(long, value_name = "PATH", help_heading = "Input")]
    pub mapping: Option<PathBuf>,
    /// FIELD=COLUMN, as the import was given.
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_map, help_heading = "Input")]
    pub map: Vec<(String, String)>,
    /// Where to write the report, `-` for standard output [default: beside the results
    /// file].
    #[arg(long, short, value_name = "PATH", help_heading = "Output")]
    pub out: Option<PathBuf>,
    /// Requests per second at most: N, N/s, N/m or N/h, or auto (as fast as the tenant
    /// allows) [env: ORGIMPORT_RATE] [default: 20].
    #[arg(long, value_parser = parse_rate_setting, help_heading = "Rate")]
    pub rate: Option<RateSetting>,
    /// Requests in flight at most, 1 to 1024.
    #[arg(long, default_value = "8", value_parser = parse_concurrency, help_heading = "Rate")]
    pub concurrency: NonZeroUsize,
    /// Take a results file written by an earlier version of orgimport, which records no
    /// tenant, as this tenant's (never one that names another tenant).
    #[arg(long, help_heading = "Input")]
    pub adopt_results: bool,
}

/// `orgimport verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The results file and how to read it.
    #[command(flatten)]
    pub results: ResultsArgs,
    /// The template of rows that name none, as the import was given [env:
    /// ORGIMPORT_TEMPLATE_ID].
    #[arg(long, value_name = "ID", help_heading = "Input")]
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
    /// The customer CSV to import: every template id its rows name is checked too, as the
    /// import checks them before it sends anything.
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,
    /// How to read it.
    #[command(flatten)]
    pub format: InputFormatArgs,
    /// Print the access token itself (for a manual curl); it is a credential.
    #[arg(long)]
    pub show: bool,
    /// Print the result as one JSON document on stdout, for scripts (see docs/commands.md for its keys).
    #[arg(long)]
    pub json: bool,
    /// The template to check the token can read, as the import would [env:
    /// ORGIMPORT_TEMPLATE_ID].
    #[arg(long, value_name = "ID")]
    pub template_id: Option<String>,
    /// Rows that name no template may create organizations with none, as `import
    /// --no-template` allows; without it such rows are refused (exit 2), as the import
    /// refuses them.
    #[arg(long, conflicts_with = "template_id", help_heading = "Input")]
    pub no_template: bool,
    /// Where the tenant is.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `orgimport config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The template of rows that name none [env: ORGIMPORT_TEMPLATE_ID].
    #[arg(long, value_name = "ID", help_heading = "Input")]
    pub template_id: Option<String>,
    /// Requests per second at most, or auto [env: ORGIMPORT_RATE] [default: 20].
    #[arg(long, value_parser = parse_rate_setting, help_heading = "Rate")]
    pub rate: Option<RateSetting>,
    /// Print the result as one JSON document on stdout, for scripts (see docs/commands.md for its keys).
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    /// Where the tenant is.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `orgimport completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell, or `man` for the manual page (roff).
    pub shell: CompletionTarget,
    /// With `man`: write every manual page, orgimport.1 and one per command
    /// (orgimport-import.1, ...), into this folder instead of printing orgimport.1.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub dir: Option<PathBuf>,
}

/// What `orgimport completions` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionTarget {
    /// bash's completion script.
    Bash,
    /// zsh's.
    Zsh,
    /// fish's.
    Fish,
    /// elvish's.
    Elvish,
    /// PowerShell's.
    Powershell,
    /// The manual page, orgimport(1), in roff; with --dir, it and a page per command.
    Man,
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
    #[arg(long, help_heading = "Connection")]
    pub sandbox: bool,

    /// Where the tenant is and how to get a token.
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// The template applied to rows that name none in a template_id column [env:
    /// ORGIMPORT_TEMPLATE_ID].
    #[arg(long, value_name = "ID", help_heading = "Input")]
    pub template_id: Option<String>,

    /// The results file [default: <input stem>.results.csv beside the input;
    /// <input stem>.sandbox.results.csv with --sandbox]. It records the tenant it is for:
    /// a run against another tenant refuses it.
    #[arg(long, short, value_name = "PATH", help_heading = "Output")]
    pub out: Option<PathBuf>,

    /// Take a results file written by an earlier version of orgimport, which records no
    /// tenant, as this tenant's (never one that names another tenant).
    #[arg(long, help_heading = "Output")]
    pub adopt_results: bool,

    /// How fast the rows are sent.
    #[command(flatten)]
    pub send: SendArgs,

    /// Send no write: show the JSON a few rows would be sent as, and count what would be
    /// created, skipped and invalid. Needs no credentials; with them, reads the templates
    /// the rows would be sent with first, as the import does.
    #[arg(long, help_heading = "Output")]
    pub dry_run: bool,

    /// Also write the end-of-run summary as JSON to this file (`-`: standard output), for
    /// scripts.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub summary_json: Option<PathBuf>,

    /// What to do with a row whose organization already exists (by id, else by name).
    #[arg(
        long,
        value_enum,
        default_value = "skip",
        help_heading = "Existing organizations"
    )]
    pub on_existing: OnExistingArg,

    /// Create organizations with no template where no template is given (no --template-id,
    /// environment or profile default, no template_id value); without it such rows are
    /// refused before anything is sent.
    #[arg(long, conflicts_with = "template_id", help_heading = "Input")]
    pub no_template: bool,
}

/// `orgimport plan`: an import's arguments, and how to print the summary.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The import to plan.
    #[command(flatten)]
    pub import: ImportArgs,
    /// Print the result as one JSON document on stdout, for scripts (see docs/commands.md for its keys).
    #[arg(long, help_heading = "Output")]
    pub json: bool,
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
#[command(next_help_heading = "Input")]
pub struct InputFormatArgs {
    /// The field separator [default: found from the header: , ; tab or |].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// The file's encoding, e.g. windows-1252 [default: UTF-8, UTF-16 with a byte-order
    /// mark, or the encoding detected when the file is not UTF-8].
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,
    /// A TOML file naming the column (or value, format, slug) of each field; see docs/input.md.
    #[arg(long, value_name = "PATH")]
    pub mapping: Option<PathBuf>,
    /// FIELD=COLUMN: take a field (or metadata.<key>) from a column; wins over --mapping.
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_map)]
    pub map: Vec<(String, String)>,
    /// The sheet to read when the input is a workbook (xlsx, xls, ods) [default: the first
    /// visible one]; a hidden sheet is read only when named.
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// The line (of a CSV file) or row (of a sheet) that holds the header, for files with
    /// title rows above it; those rows are not read [default: the first that is not blank].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub header_row: Option<u64>,
}

/// `orgimport validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The customer CSV.
    pub input: PathBuf,
    /// How to read it.
    #[command(flatten)]
    pub format: InputFormatArgs,
    /// The template applied to rows that name none (checked like theirs) [env:
    /// ORGIMPORT_TEMPLATE_ID].
    #[arg(long, value_name = "ID")]
    pub template_id: Option<String>,
    /// Print the result as one JSON document on stdout, for scripts (see docs/commands.md for its keys); the problems are in it rather than one a line.
    #[arg(long)]
    pub json: bool,
}

/// `orgimport export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The CSV to write, `-` for standard output [default: <tenant>.organizations.csv in
    /// the working directory].
    #[arg(long, short, value_name = "PATH", help_heading = "Output")]
    pub out: Option<PathBuf>,
    /// Export only this organization and all its descendants.
    #[arg(long, value_name = "ID", help_heading = "Input")]
    pub parent: Option<String>,
    /// Replace the file at --out when it exists (else an existing file is never touched).
    #[arg(long, help_heading = "Output")]
    pub force: bool,
    /// Requests per second at most: N, N/s, N/m or N/h, or auto [env: ORGIMPORT_RATE]
    /// [default: 20].
    #[arg(long, value_parser = parse_rate_setting, help_heading = "Rate")]
    pub rate: Option<RateSetting>,
    /// Where the tenant is.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `orgimport console`.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value = "0", help_heading = "Page")]
    pub port: u16,
    /// The working folder: uploads, mapping files, corrected copies and results files are
    /// written there, as files the CLI reads [default: the current folder].
    #[arg(long, value_name = "PATH", help_heading = "Page")]
    pub dir: Option<PathBuf>,
    /// Open the page in the default browser (xdg-open, open or start); the URL is printed
    /// whatever happens.
    #[arg(long, help_heading = "Page")]
    pub open: bool,
    /// Rehearse: start the built-in sandbox on a free port and import into it.
    #[arg(long, help_heading = "Connection")]
    pub sandbox: bool,
    /// Where the tenant is and how to get a token.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The template applied to rows that name none in a template_id column [env:
    /// ORGIMPORT_TEMPLATE_ID].
    #[arg(long, value_name = "ID", help_heading = "Input")]
    pub template_id: Option<String>,
    /// Create organizations with no template where no template is given.
    #[arg(long, conflicts_with = "template_id", help_heading = "Input")]
    pub no_template: bool,
    /// Take a results file written by an earlier version of orgimport, which records no
    /// tenant, as this tenant's.
    #[arg(long, help_heading = "Output")]
    pub adopt_results: bool,
    /// How fast the rows are sent, as `import` sends them.
    #[command(flatten)]
    pub send: SendArgs,
}

/// How fast an import sends its rows: the flags `import`, `plan` and `console` share.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    /// Requests per second at most, all workers together: N, N/s, N/m or N/h; or auto: start
    /// at 20/s and find what the tenant allows (up to 1000/s) from its answers [env:
    /// ORGIMPORT_RATE] [default: 20].
    #[arg(long, value_parser = parse_rate_setting, help_heading = "Rate")]
    pub rate: Option<RateSetting>,

    /// Requests allowed at once before the rate applies [default: 1].
    #[arg(long, value_parser = parse_at_least_one::<NonZeroU32>, help_heading = "Rate")]
    pub burst: Option<NonZeroU32>,

    /// Requests in flight at most, 1 to 1024.
    #[arg(long, default_value = "16", value_parser = parse_concurrency, help_heading = "Rate")]
    pub concurrency: NonZeroUsize,

    /// Requests sent for one row at most, retries included; a 429 counts none (it only waits).
    #[arg(long, default_value = "6", value_parser = parse_at_least_one::<NonZeroU32>, help_heading = "Rate")]
    pub max_attempts: NonZeroU32,
}
