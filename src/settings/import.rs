//! The settings of `import` and `plan`: the input and how to read it, where the results go,
//! the tenant, and how fast to send.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;
use crate::cli::{ImportArgs, InputFormatArgs, OnExistingArg, PlanArgs};
use crate::input::{Dialect, MappingFile, MappingSpec};
use crate::rate::RateSetting;
use crate::record::{TenantCheck, TenantMark};
use crate::settings::connection::{Connection, Target};
use crate::settings::layers::Layers;
use crate::settings::profile::{DEFAULT_RATE, RATE, TEMPLATE_ID};
use crate::tenant::on_existing::OnExisting;

/// Everything `import` needs.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// The customer CSV.
    pub input: PathBuf,
    /// How the input is written.
    pub dialect: Dialect,
    /// Which columns feed which fields.
    pub mapping: MappingSpec,
    /// The results file (its journal sits beside it).
    pub results: PathBuf,
    /// Which tenant's results file (and journal) this run reads: the target's, or the one a
    /// dry run is for (none known when it is given no tenant).
    pub tenant_check: TenantCheck,
    /// Where the organizations go.
    pub target: Target,
    /// The template for rows that name none.
    pub default_template: Option<String>,
    /// What gave [`ImportSettings::default_template`] (`--template-id`, `env ...`, the
    /// settings file), for messages about it.
    pub default_template_from: Option<String>,
    /// `--no-template`: rows may create organizations with no template; without it, a run
    /// with such rows is refused before anything is sent.
    pub no_template: bool,
    /// `--rate`: the rate never exceeded, or auto.
    pub rate: RateSetting,
    /// Requests allowed at once before the rate applies.
    pub burst: NonZeroU32,
    /// The highest rate in requests per second (1,000 for auto), for reports.
    pub rate_per_second: f64,
    /// Requests in flight at most.
    pub concurrency: NonZeroUsize,
    /// Requests per row at most, retries included.
    pub max_attempts: NonZeroU32,
    /// Timeout of one request.
    pub timeout: Duration,
    /// No progress output.
    pub quiet: bool,
    /// What to do with rows whose organization exists.
    pub on_existing: OnExisting,
    /// `--dry-run`: send nothing, show what would be sent; `None` for an import that sends.
    pub dry_run: Option<DryRunSettings>,
    /// `--summary-json`: also write the end-of-run summary as JSON here.
    pub summary_json: Option<PathBuf>,
}

/// What a dry run needs beyond the import's settings. It sends nothing, so it needs no
/// credentials: its [`ImportSettings::target`] is the sandbox, never started.
#[derive(Debug, Clone, Default)]
pub struct DryRunSettings {
    /// The tenant id as a real run would take it (given, or derived from `--token-url` or the
    /// base URL's host), for the requests' URL.
    pub tenant: Option<String>,
    /// `--sandbox`: the import would run on the sandbox, whose template applies to rows
    /// that name none when no default is given.
    pub sandbox: bool,
    /// The tenant the import would run on, when the settings name it whole (credentials
    /// included): the templates the rows name are read there, as the import reads them
    /// before it sends. `None` without `--sandbox`: they are listed as not checked.
    pub reads: Option<Box<crate::settings::Tenant>>,
}

impl ImportSettings {
    /// `orgimport validate` of the input, read as this run reads it, for hints that suggest it.
    pub fn validate_command(&self) -> String {
        crate::input::validate_command(&self.input, &self.dialect, &self.mapping)
    }

    /// The `import` settings: `args` over the environment over the profile over defaults;
    /// the secret read from `--client-secret-file` or the environment.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix; the mapping or secret file's errors.
    pub fn resolve(
        args: ImportArgs,
        quiet: bool,
        layers: &mut Layers,
    ) -> Result<ImportSettings, Error> {
        let results = results_path(&args)?;
        let connection = Connection::resolve(args.connection, layers)?;
        let target = if args.sandbox || args.dry_run {
            Target::Sandbox
        } else {
            // `import` and `plan` take --sandbox: the hint names it here, and only here.
            Target::Tenant(Box::new(connection.tenant().map_err(|e| match e {
                Error::Config(m) => Error::Config(format!("{m}; to rehearse, use --sandbox")),
                other => other,
            })?))
        };
        // A dry run needs no credentials; it is for the tenant its address names, if any.
        let mark = match &target {
            _ if args.sandbox => Some(TenantMark::sandbox()),
            Target::Tenant(tenant) => Some(tenant.mark()),
            Target::Sandbox => connection
                .address()
                .ok()
                .map(|a| TenantMark::tenant(&a.base_url, &a.tenant)),
        };
        let tenant_check = TenantCheck::import(mark, args.adopt_results);
        // What a dry run reads with: the tenant, when the settings name it whole.
        let reads = match args.sandbox || !args.dry_run {
            true => None,
            false => connection.tenant().ok().map(Box::new),
        };
        let default_template = layers
            .get(&TEMPLATE_ID, args.template_id)?
            .filter(|t| !t.trim().is_empty());
        let default_template_from = layers.given_by(&TEMPLATE_ID);
        let rate = layers.get_or(&RATE, args.send.rate, DEFAULT_RATE)?;
        let (dialect, mapping) = input_format(&args.format)?;
        Ok(ImportSettings {
            input: args.input,
            dialect,
            mapping,
            results,
            tenant_check,
            target,
            default_template,
            default_template_from,
            no_template: args.no_template,
            rate,
            burst: args.send.burst.unwrap_or(RateSetting::DEFAULT_BURST),
            rate_per_second: rate.ceiling_per_second(),
            concurrency: args.send.concurrency,
            max_attempts: args.send.max_attempts,
            timeout: connection.timeout,
            quiet,
            on_existing: match args.on_existing {
                OnExistingArg::Skip => OnExisting::Skip,
                OnExistingArg::Fail => OnExisting::Fail,
                OnExistingArg::Update => OnExisting::Update,
            },
            dry_run: args.dry_run.then(|| DryRunSettings {
                // The tenant as a real run would find it (from --token-url or the host too).
                tenant: match (args.sandbox, connection.address()) {
                    (true, _) => Some(crate::sandbox::SandboxConfig::default().tenant),
                    (false, Ok(address)) => Some(address.tenant),
                    (false, Err(_)) => connection.tenant,
                },
                sandbox: args.sandbox,
                reads,
            }),
            summary_json: args.summary_json,
        })
    }
}

/// Everything `plan` needs: an import's settings, and where the plan goes.
#[derive(Debug)]
pub struct PlanSettings {
    /// The import to plan, as `import` would run it (its results file the default one: a
    /// plan's `--out` names the plan).
    pub import: ImportSettings,
    /// The plan file: `--out`, else `<input stem>.plan.csv` beside the input.
    pub out: PathBuf,
    /// `--json`: print the summary as one JSON document on stdout.
    pub json: bool,
}

impl PlanSettings {
    /// The `plan` settings: those of the import it plans (`--dry-run` does not apply: a plan
    /// sends no write anyway), and the plan file.
    ///
    /// # Errors
    /// As [`ImportSettings::resolve`].
    pub fn resolve(
        args: PlanArgs,
        quiet: bool,
        layers: &mut Layers,
    ) -> Result<PlanSettings, Error> {
        let PlanArgs {
            import: mut args,
            json,
        } = args;
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| default_plan_path(&args.input, args.sandbox));
        if json && crate::stdout::is_stdout(&out) {
            return Err(Error::Config(
                "--json and --out - would both write to standard output; write the plan to a \
                 file (--out PATH), or leave out --json (the summary then goes to stderr)"
                    .into(),
            ));
        }
        args.dry_run = false;
        args.out = None;
        Ok(PlanSettings {
            import: ImportSettings::resolve(args, quiet, layers)?,
            out,
            json,
        })
    }
}

/// The dialect and mapping that `--delimiter`, `--encoding`, `--mapping` and `--map` name.
///
/// # Errors
/// [`Error::Config`] for a bad delimiter or encoding; the mapping file's errors.
pub fn input_format(args: &InputFormatArgs) -> Result<(Dialect, MappingSpec), Error> {
    let dialect = Dialect::parse(args.delimiter.as_deref(), args.encoding.as_deref())
        .map_err(Error::Config)?
        .with_sheet(args.sheet.as_deref())
        .with_header_row(args.header_row);
    Ok((dialect, mapping_spec(args.mapping.as_deref(), &args.map)?))
}

/// The mapping that `--mapping` and `--map` name.
///
/// # Errors
/// The mapping file's errors.
pub(crate) fn mapping_spec(
    mapping: Option<&Path>,
    map: &[(String, String)],
) -> Result<MappingSpec, Error> {
    Ok(MappingSpec {
        file: mapping.map(MappingFile::load).transpose()?,
        overrides: map.to_vec(),
    })
}

/// `<input stem>.results.csv` beside the input; `<input stem>.sandbox.results.csv` for a
/// `--sandbox` rehearsal, so that the import into the tenant that follows it starts afresh.
pub fn default_results_path(input: &Path, sandbox: bool) -> PathBuf {
    beside(
        input,
        if sandbox {
            "sandbox.results"
        } else {
            "results"
        },
    )
}

/// `<input stem>.plan.csv` beside the input (`<input stem>.sandbox.plan.csv` for
/// `--sandbox`).
pub fn default_plan_path(input: &Path, sandbox: bool) -> PathBuf {
    beside(input, if sandbox { "sandbox.plan" } else { "plan" })
}

/// `<input stem>.{what}.csv` beside the input.
fn beside(input: &Path, what: &str) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "customers".into());
    input.with_file_name(format!("{stem}.{what}.csv"))
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The results file an import of `args` writes: `--out`, or named after the input (and
/// `--sandbox`); refused when it is the input itself or standard output, and when standard
/// input is read without `--out` or by a dry run.
///
/// # Errors
/// [`Error::Config`] saying which.
fn results_path(args: &ImportArgs) -> Result<PathBuf, Error> {
    if crate::input::snapshot::is_stdin(&args.input) {
        // Standard input is read once, into the import's copy: a dry run reads its input
        // more than once. (Other commands are refused `-` before their settings.)
        if args.dry_run {
            return Err(Error::Config(
                "`-` (standard input) is read by `import` only, not by its dry run; save it \
                 to a file to rehearse it"
                    .into(),
            ));
        }
        if args.out.is_none() {
            return Err(Error::Config(
                "reading the input from standard input (`-`) needs --out RESULTS.csv: the \
                 results file is otherwise named after the input file; a rerun with the same \
                 --out resumes"
                    .into(),
            ));
        }
    }
    if args.out.as_deref().is_some_and(crate::stdout::is_stdout) {
        return Err(Error::Config(
            "--out - (standard output) cannot take the results file: a rerun resumes from \
             it and undo reads it, so it must be a file; name one, e.g. --out \
             customers.results.csv (--summary-json - prints the summary)"
                .into(),
        ));
    }
    let results = match &args.out {
        Some(out) => out.clone(),
        None => default_results_path(&args.input, args.sandbox),
    };
    if same_file(&results, &args.input) {
        return Err(Error::Config(format!(
            "--out {} is the input file; choose another results file",
            results.display()
        )));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_results_sit_beside_the_input() {
        assert_eq!(
            default_results_path(Path::new("data/customers.csv"), false),
            PathBuf::from("data/customers.results.csv")
        );
        assert_eq!(
            default_plan_path(Path::new("data/customers.csv"), false),
            PathBuf::from("data/customers.plan.csv")
        );
        // A rehearsal's never stand in for the tenant's.
        assert_eq!(
            default_results_path(Path::new("data/book.xlsx"), true),
            PathBuf::from("data/book.sandbox.results.csv")
        );
        assert_eq!(
            default_plan_path(Path::new("data/book.xlsx"), true),
            PathBuf::from("data/book.sandbox.plan.csv")
        );
    }
}
