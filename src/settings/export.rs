//! The settings of `export`: the tenant, where the CSV goes, which organizations, how fast.

use std::path::PathBuf;
use std::time::Duration;

use crate::Error;
use crate::cli::ExportArgs;
use crate::rate::RateSetting;
use crate::settings::connection::{Connection, Tenant};
use crate::settings::layers::Layers;
use crate::settings::profile::{DEFAULT_RATE, RATE};

/// Everything `export` needs.
#[derive(Debug)]
pub struct ExportSettings {
    /// The tenant whose organizations are written.
    pub tenant: Tenant,
    /// How long to wait for one reply.
    pub timeout: Duration,
    /// Requests per second at most.
    pub rate: RateSetting,
    /// The CSV: `--out`, else `<tenant>.organizations.csv` in the working directory.
    pub out: PathBuf,
    /// `--parent`: only this organization and its descendants.
    pub parent: Option<String>,
    /// `--force`: replace `out` when it exists.
    pub force: bool,
    /// No progress output.
    pub quiet: bool,
}

impl ExportSettings {
    /// The `export` settings: `args` over the environment over the profile over defaults.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix; the secret file's errors.
    pub fn resolve(
        args: ExportArgs,
        quiet: bool,
        layers: &mut Layers,
    ) -> Result<ExportSettings, Error> {
        let connection = Connection::resolve(args.connection, layers)?;
        let rate = layers.get_or(&RATE, args.rate, DEFAULT_RATE)?;
        let tenant = connection.tenant()?;
        let parent = match args.parent.as_deref().map(str::trim) {
            Some("") => return Err(Error::Config("--parent needs an organization id".into())),
            parent => parent.map(str::to_string),
        };
        Ok(ExportSettings {
            out: args
                .out
                .unwrap_or_else(|| default_export_path(&tenant.tenant)),
            tenant,
            timeout: connection.timeout,
            rate,
            parent,
            force: args.force,
            quiet,
        })
    }
}

/// `<tenant>.organizations.csv` in the working directory (a tenant id holds no `/`: the
/// token URL's first path segment or a host's first label; any other character is kept).
pub(crate) fn default_export_path(tenant: &str) -> PathBuf {
    let safe: String = tenant
        .chars()
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect();
    PathBuf::from(format!("{safe}.organizations.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_export_is_named_for_the_tenant_in_the_working_directory() {
        assert_eq!(
            default_export_path("acme"),
            PathBuf::from("acme.organizations.csv")
        );
        assert_eq!(
            default_export_path("a/b"),
            PathBuf::from("a_b.organizations.csv")
        );
    }
}
