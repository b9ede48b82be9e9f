//! The checked settings each command runs on, resolved once from the command line, the
//! environment and the settings file's profile: flags > environment > profile > defaults
//! ([`Layers`]). Every missing or malformed setting is reported here, before anything is read
//! or sent. Only this module and [`crate::cli`] see clap's types; the commands see these.

pub(crate) mod connection;
pub(crate) mod console;
pub(crate) mod export;
pub(crate) mod import;
pub(crate) mod layers;
pub(crate) mod profile;
pub(crate) mod results;
#[cfg(test)]
mod tests;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

pub use connection::{Address, Connection, SECRET_ENV, Target, Tenant};
pub use console::ConsoleSettings;
pub use export::ExportSettings;
pub use import::{
    DryRunSettings, ImportSettings, PlanSettings, default_plan_path, default_results_path,
    input_format,
};
pub use layers::{Environment, Layers, Origin, Source};
pub use profile::ActiveProfile;
pub use results::{ResultsSettings, UndoSettings, VerifySettings, report_path};

use crate::Error;
use crate::cli::{
    Cli, Command, ConfigArgs, HeaderStyleArg, RateLimitModeArg, SandboxArgs, TokenArgs,
    ValidateArgs,
};
use crate::input::{Dialect, MappingSpec};
use crate::rate::Rate;
use crate::sandbox::{Faults, HeaderStyle, RateLimit, RateLimitMode, SandboxConfig};
use crate::settings::connection::read_secret_file;
use crate::settings::profile::{DEFAULT_RATE, RATE, TEMPLATE_ID};

/// A command and the settings it runs on.
#[derive(Debug)]
pub enum Settings {
    /// `orgimport import` (and `import --dry-run`).
    Import(ImportSettings),
    /// `orgimport plan`.
    Plan(PlanSettings),
    /// `orgimport validate`.
    Validate(ValidateSettings),
    /// `orgimport verify`.
    Verify(VerifySettings),
    /// `orgimport undo`.
    Undo(UndoSettings),
    /// `orgimport token`.
    Token(TokenSettings),
    /// `orgimport config`.
    Config(ConfigSettings),
    /// `orgimport sandbox`.
    Sandbox(SandboxSettings),
    /// `orgimport completions`: the script to print.
    Completions(String),
    /// `orgimport completions man --dir DIR`: every manual page (its file name and text), to
    /// write into the folder.
    ManPages(PathBuf, Vec<(String, Vec<u8>)>),
    /// `orgimport export`.
    Export(ExportSettings),
    /// `orgimport console`.
    Console(ConsoleSettings),
}

/// The subcommand's name, as typed.
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Import(_) => "import",
        Command::Plan(_) => "plan",
        Command::Validate(_) => "validate",
        Command::Verify(_) => "verify",
        Command::Undo(_) => "undo",
        _ => "this command",
    }
}

/// The file `command` reads, when it reads one the user names.
fn file_read(command: &Command) -> Option<&std::path::Path> {
    match command {
        Command::Import(args) => Some(&args.input),
        Command::Plan(args) => Some(&args.import.input),
        Command::Validate(args) => Some(&args.input),
        Command::Token(args) => args.input.as_deref(),
        Command::Verify(args) => Some(&args.results.results),
        Command::Undo(args) => Some(&args.results.results),
        _ => None,
    }
}

impl Settings {
    /// The settings of the command `cli` names: its flags, then `env`, then the settings
    /// file's profile (for the commands that reach a tenant), then defaults.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix; the settings, mapping or secret file's
    /// errors.
    pub fn resolve(cli: Cli, env: Environment) -> Result<Settings, Error> {
        let Cli {
            command,
            quiet,
            config,
            profile,
            ..
        } = cli;
        // The file a command reads comes first: a user who mistyped its name hears about
        // that, not about a connection setting.
        if let Some(path) = file_read(&command) {
            if !crate::input::snapshot::is_stdin(path) {
                if !matches!(command, Command::Import(_))
                    && let Some(refusal) = crate::record::results_file::not_written_yet(path)
                {
                    return Err(refusal);
                }
                std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
            } else if !matches!(command, Command::Import(_)) {
                return Err(Error::Config(format!(
                    "`-` (standard input) is read by `import` only: `{}` reads a file; save \
                     the input to a file first",
                    command_name(&command)
                )));
            }
        }
        let with_file = move |env| Layers::with_file(env, config, profile);
        Ok(match command {
            Command::Import(args) => {
                Settings::Import(ImportSettings::resolve(args, quiet, &mut with_file(env)?)?)
            }
            Command::Plan(args) => {
                Settings::Plan(PlanSettings::resolve(args, quiet, &mut with_file(env)?)?)
            }
            Command::Verify(args) => {
                Settings::Verify(VerifySettings::resolve(args, quiet, &mut with_file(env)?)?)
            }
            Command::Undo(args) => {
                Settings::Undo(UndoSettings::resolve(args, quiet, &mut with_file(env)?)?)
            }
            Command::Token(args) => {
                Settings::Token(TokenSettings::resolve(args, &mut with_file(env)?)?)
            }
            Command::Export(args) => {
                Settings::Export(ExportSettings::resolve(args, quiet, &mut with_file(env)?)?)
            }
            Command::Config(args) => {
                Settings::Config(ConfigSettings::resolve(args, with_file(env)?)?)
            }
            // A check of the file alone: no settings file, so no tenant's profile.
            Command::Validate(args) => Settings::Validate(ValidateSettings::resolve(
                args,
                &mut Layers::without_file(env),
            )?),
            Command::Sandbox(args) => Settings::Sandbox(SandboxSettings::resolve(args, &env)?),
            Command::Console(args) => {
                Settings::Console(ConsoleSettings::resolve(args, quiet, &mut with_file(env)?)?)
            }
            Command::Completions(args) => {
                let unwritable = |e| Error::Config(format!("cannot write the manual page: {e}"));
                if let Some(dir) = args.dir {
                    if args.shell != crate::cli::CompletionTarget::Man {
                        return Err(Error::Config(
                            "--dir is for `completions man` (the manual pages); a completion \
                             script is printed: redirect it to its file"
                                .into(),
                        ));
                    }
                    let pages = crate::cli::man_pages().map_err(unwritable)?;
                    return Ok(Settings::ManPages(dir, pages));
                }
                let mut script = Vec::new();
                crate::cli::write_completions(args.shell, &mut script).map_err(unwritable)?;
                Settings::Completions(String::from_utf8_lossy(&script).into_owned())
            }
        })
    }
}

/// Everything `token` needs.
#[derive(Debug)]
pub struct TokenSettings {
    /// The tenant to fetch a token from.
    pub tenant: Tenant,
    /// How long to wait for one reply.
    pub timeout: Duration,
    /// The template to check the token can read, as the import would.
    pub template_id: Option<String>,
    /// What gave [`TokenSettings::template_id`] (`--template-id`, `env ...`, `file ...`), for
    /// the output to say.
    pub template_from: Option<String>,
    /// `--show`: print the access token itself.
    pub show: bool,
    /// `--json`: print one JSON document.
    pub json: bool,
    /// The input whose rows' templates are checked too, how it is written and mapped.
    pub input: Option<(PathBuf, Dialect, MappingSpec)>,
    /// `--no-template`: the input's rows may name no template when no default is set.
    pub no_template: bool,
}

impl TokenSettings {
    /// The `token` settings: `args` over the environment over the profile over defaults.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix; the secret file's errors.
    pub fn resolve(args: TokenArgs, layers: &mut Layers) -> Result<TokenSettings, Error> {
        let connection = Connection::resolve(args.connection, layers)?;
        let template_id = layers
            .get(&TEMPLATE_ID, args.template_id)?
            .filter(|t| !t.trim().is_empty());
        let template_from = layers.given_by(&TEMPLATE_ID);
        let input = match args.input {
            Some(path) => {
                let (dialect, mapping) = import::input_format(&args.format)?;
                Some((path, dialect, mapping))
            }
            None => None,
        };
        Ok(TokenSettings {
            tenant: connection.tenant()?,
            timeout: connection.timeout,
            template_id,
            template_from,
            show: args.show,
            json: args.json,
            input,
            no_template: args.no_template,
        })
    }
}

/// Everything `validate` needs.
#[derive(Debug)]
pub struct ValidateSettings {
    /// The customer CSV.
    pub input: PathBuf,
    /// How it is written.
    pub dialect: Dialect,
    /// Which columns feed which fields.
    pub mapping: MappingSpec,
    /// The template applied to rows that name none.
    pub template_id: Option<String>,
    /// `--json`: print one JSON document, the problems in it.
    pub json: bool,
}

impl ValidateSettings {
    /// The `validate` settings: `args` over the environment over defaults.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad delimiter, encoding or environment variable; the mapping
    /// file's errors.
    pub fn resolve(args: ValidateArgs, layers: &mut Layers) -> Result<ValidateSettings, Error> {
        let template_id = layers.get(&TEMPLATE_ID, args.template_id)?;
        let (dialect, mapping) = input_format(&args.format)?;
        Ok(ValidateSettings {
            input: args.input,
            dialect,
            mapping,
            template_id,
            json: args.json,
        })
    }
}

/// What `config` shows: the connection, template and rate settings as an import would
/// resolve them, and where each came from.
#[derive(Debug)]
pub struct ConfigSettings {
    /// The settings file and profile in force.
    pub profile: ActiveProfile,
    /// Every setting shown, in order, with its value and where it came from.
    pub origins: Vec<Origin>,
    /// The connection settings, to tell whether they are complete.
    pub connection: Connection,
    /// `--json`: print one JSON document.
    pub json: bool,
}

impl ConfigSettings {
    /// The settings `config` shows, resolved as `import` resolves them.
    ///
    /// # Errors
    /// [`Error::Config`] when an environment variable is malformed.
    pub fn resolve(args: ConfigArgs, mut layers: Layers) -> Result<ConfigSettings, Error> {
        let connection = Connection::resolve(args.connection, &mut layers)?;
        layers.get(&TEMPLATE_ID, args.template_id)?;
        layers.get_or(&RATE, args.rate, DEFAULT_RATE)?;
        let (profile, origins) = layers.into_parts();
        Ok(ConfigSettings {
            profile,
            origins,
            connection,
            json: args.json,
        })
    }
}

/// Everything `sandbox` needs.
#[derive(Debug)]
pub struct SandboxSettings {
    /// The port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// The emulator's tenant, client, template and faults.
    pub config: SandboxConfig,
    /// Whether the secret was given (file or environment) rather than generated: a given one is
    /// never printed back.
    pub secret_given: bool,
}

impl SandboxSettings {
    /// The `sandbox` settings; its secret from `--client-secret-file`, else `env`'s
    /// `ORGIMPORT_CLIENT_SECRET`, else generated.
    ///
    /// # Errors
    /// The secret file cannot be read or is empty.
    pub fn resolve(args: SandboxArgs, env: &Environment) -> Result<SandboxSettings, Error> {
        let per_second = |rate: Rate| {
            NonZeroU32::new(rate.per_second().ceil() as u32).unwrap_or(NonZeroU32::MIN)
        };
        let mut config = SandboxConfig {
            tenant: args.tenant,
            template_id: args.template_id,
            token_lifetime: args.token_lifetime,
            expires_in_as_string: !args.expires_in_number,
            rate_limit: args.rate_limit.map(|rate| RateLimit {
                per_second: per_second(rate),
                burst: args.rate_limit_burst.unwrap_or(per_second(rate)),
            }),
            rate_limit_mode: match args.rate_limit_mode {
                RateLimitModeArg::Governor => RateLimitMode::Governor,
                RateLimitModeArg::Bucket => RateLimitMode::Bucket,
                RateLimitModeArg::Window => RateLimitMode::Window,
                RateLimitModeArg::BlockingWindow => RateLimitMode::BlockingWindow,
            },
            rate_limit_window: args.rate_limit_window,
            rate_limit_schedule: args
                .rate_limit_schedule
                .iter()
                .map(|(at, rate)| (*at, per_second(*rate)))
                .collect(),
            rate_limit_writes_only: args.rate_limit_writes_only,
            rate_limit_headers: args.rate_limit_headers.is_some(),
            rate_limit_header_style: match args.rate_limit_headers {
                None | Some(HeaderStyleArg::Both) => HeaderStyle::Both,
                Some(HeaderStyleArg::Ietf) => HeaderStyle::Ietf,
                Some(HeaderStyleArg::XRateLimit) => HeaderStyle::XRateLimit,
                Some(HeaderStyleArg::Okta) => HeaderStyle::Okta,
            },
            concurrency_limit: args.concurrency_limit,
            faults: Faults {
                seed: args.seed,
                error_rate: args.fail_rate,
                commit_then_fail_rate: args.commit_then_fail_rate,
                latency: args.latency,
                latency_jitter: args.latency_jitter,
                token_latency: args.token_latency,
                slow_commit_rate: args.slow_commit_rate,
                slow_commit_delay: args.slow_commit_delay,
                forbidden_burst_rate: args.forbidden_rate,
                fail_once_at: args.fail_once_at,
                ..Faults::default()
            },
            ignore_idempotency_keys: args.ignore_idempotency_keys,
            assign_own_ids: args.assign_own_ids,
            echo_requests_in_errors: args.echo_requests_in_errors,
            no_etags: args.no_etags,
            unset_strings_as_empty: args.unset_strings_as_empty,
            edit_before_update: args.edit_before_update,
            edit_after_listing: args.edit_after_listing,
            updates_not_implemented: args.updates_not_implemented,
            ..SandboxConfig::default()
        };
        if let Some(id) = args.client_id {
            config.client_id = id;
        }
        let secret = match &args.client_secret_file {
            Some(path) => Some(read_secret_file(path, "--client-secret-file")?),
            None => connection::secret_from_env(env),
        };
        let secret_given = secret.is_some();
        if let Some(secret) = secret {
            config.client_secret = secret;
        }
        Ok(SandboxSettings {
            port: args.port,
            config,
            secret_given,
        })
    }
}
