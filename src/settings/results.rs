//! The settings of `verify` and `undo`, the commands that read a results file back and work on
//! the organizations it lists.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;
use crate::cli::{ResultsArgs, UndoArgs, VerifyArgs};
use crate::input::MappingSpec;
use crate::rate::RateSetting;
use crate::record::TenantCheck;
use crate::settings::connection::{Connection, Tenant};
use crate::settings::import::mapping_spec;
use crate::settings::layers::Layers;
use crate::settings::profile::{DEFAULT_RATE, RATE, TEMPLATE_ID};

/// Everything `verify` needs.
#[derive(Debug)]
pub struct VerifySettings {
    /// The tenant the organizations are in.
    pub tenant: Tenant,
    /// How long to wait for one reply.
    pub timeout: Duration,
    /// The results file and how to read it.
    pub results: ResultsSettings,
    /// The template of rows that name none, as the import was given.
    pub template_id: Option<String>,
    /// No progress output.
    pub quiet: bool,
}

/// Everything `undo` needs.
#[derive(Debug)]
pub struct UndoSettings {
    /// The tenant the organizations are in.
    pub tenant: Tenant,
    /// How long to wait for one reply.
    pub timeout: Duration,
    /// The results file and how to read it.
    pub results: ResultsSettings,
    /// `--yes`: delete without asking.
    pub yes: bool,
    /// No progress output.
    pub quiet: bool,
}

/// A results file to read back, and how fast to work through it.
#[derive(Debug)]
pub struct ResultsSettings {
    /// The results file an import wrote.
    pub file: PathBuf,
    /// Which tenant's results file the command reads: its own tenant's.
    pub tenant_check: TenantCheck,
    /// Which columns feed which fields, as the import was given.
    pub mapping: MappingSpec,
    /// The report: `--out`, else `<name>.verify.csv` or `<name>.undo.csv` beside the file.
    pub out: PathBuf,
    /// Requests per second at most.
    pub rate: RateSetting,
    /// Requests in flight at most.
    pub concurrency: NonZeroUsize,
}

impl VerifySettings {
    /// The `verify` settings: `args` over the environment over the profile over defaults.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix; the mapping or secret file's errors.
    pub fn resolve(
        args: VerifyArgs,
        quiet: bool,
        layers: &mut Layers,
    ) -> Result<VerifySettings, Error> {
        let connection = Connection::resolve(args.connection, layers)?;
        let template_id = layers
            .get(&TEMPLATE_ID, args.template_id)?
            .filter(|t| !t.trim().is_empty());
        let rate = layers.get_or(&RATE, args.results.rate, DEFAULT_RATE)?;
        let tenant = connection.tenant()?;
        let results = ResultsSettings::resolve(args.results, rate, "verify", &tenant)?;
        Ok(VerifySettings {
            tenant,
            timeout: connection.timeout,
            results,
            template_id,
            quiet,
        })
    }
}

impl UndoSettings {
    /// The `undo` settings: `args` over the environment over the profile over defaults.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix; the mapping or secret file's errors.
    pub fn resolve(
        args: UndoArgs,
        quiet: bool,
        layers: &mut Layers,
    ) -> Result<UndoSettings, Error> {
        let connection = Connection::resolve(args.connection, layers)?;
        let rate = layers.get_or(&RATE, args.results.rate, DEFAULT_RATE)?;
        let tenant = connection.tenant()?;
        let results = ResultsSettings::resolve(args.results, rate, "undo", &tenant)?;
        Ok(UndoSettings {
            tenant,
            timeout: connection.timeout,
            results,
            yes: args.yes,
            quiet,
        })
    }
}

impl ResultsSettings {
    /// The results file of `args` at `rate`, its report named for `what` the command does,
    /// read for `tenant`.
    fn resolve(
        args: ResultsArgs,
        rate: RateSetting,
        what: &str,
        tenant: &Tenant,
    ) -> Result<ResultsSettings, Error> {
        Ok(ResultsSettings {
            tenant_check: TenantCheck::results_of(tenant.mark(), args.adopt_results),
            mapping: mapping_spec(args.mapping.as_deref(), &args.map)?,
            out: args.out.unwrap_or_else(|| report_path(&args.results, what)),
            file: args.results,
            rate,
            concurrency: args.concurrency,
        })
    }
}

/// `customers.results.csv` -> `customers.{what}.csv` beside it (else `<stem>.{what}.csv`).
pub fn report_path(results: &Path, what: &str) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".results.csv")
        .map(str::to_string)
        .unwrap_or_else(|| {
            results
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "results".into())
        });
    results.with_file_name(format!("{stem}.{what}.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_sit_beside_the_results() {
        assert_eq!(
            report_path(Path::new("d/customers.results.csv"), "verify"),
            PathBuf::from("d/customers.verify.csv")
        );
        assert_eq!(
            report_path(Path::new("d/run.csv"), "undo"),
            PathBuf::from("d/run.undo.csv")
        );
        // A rehearsal's reports stay apart from the tenant's too.
        assert_eq!(
            report_path(Path::new("d/customers.sandbox.results.csv"), "verify"),
            PathBuf::from("d/customers.sandbox.verify.csv")
        );
    }
}
