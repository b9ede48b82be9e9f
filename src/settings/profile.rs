//! The settings file (`orgimport.toml` in the working directory, or `--config PATH`) and its
//! named profiles, e.g. staging and production. A profile fills only what neither a flag nor
//! the environment set: flags > environment > file > defaults. `orgimport config` shows each
//! setting, its value and where it came from.
//!
//! ```toml
//! default_profile = "staging"
//!
//! [profiles.staging]
//! base_url = "https://acme-staging.us.connect.secureauth.com"
//! tenant = "acme-staging"
//! client_id = "6a1f0c9e4b2d4b0f9d5e"
//! client_secret_file = "/home/ops/secrets/orgimport-staging"   # never the secret itself
//! template_id = "b2b-customer-template"
//! rate = "20/s"
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;
use crate::cli::{
    ConfigArgs, ConnectionArgs, ImportArgs, RateArg, SettingSource, Sources, parse_rate,
};
use crate::settings::SECRET_ENV;

/// The file looked for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "orgimport.toml";

/// The whole settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    /// The profile used when `--profile` is not given.
    default_profile: Option<String>,
    /// The profiles by name.
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile: the settings of one tenant (or one stage of it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--tenant`.
    pub tenant: Option<String>,
    /// `--token-url`.
    pub token_url: Option<String>,
    /// `--client-id`.
    pub client_id: Option<String>,
    /// `--client-secret-file`: where the secret is; the secret itself is never in the file.
    pub client_secret_file: Option<PathBuf>,
    /// `--scope`.
    pub scope: Option<String>,
    /// `--template-id`.
    pub template_id: Option<String>,
    /// `--rate`, e.g. `"20/s"` or `"600/m"`.
    pub rate: Option<String>,
}

/// The profile in force, if any, and where it came from.
#[derive(Debug, Default)]
pub struct Chosen {
    /// The settings file read, if any.
    pub path: Option<PathBuf>,
    /// The profile's name, if one is in force.
    pub name: Option<String>,
    /// Its settings (all empty when none is in force).
    pub profile: Profile,
    /// Its rate, parsed.
    rate: Option<RateArg>,
}

/// Reads the settings file (`config`, else `orgimport.toml` in the working directory when
/// there is one) and picks the profile `profile` names, else the file's `default_profile`.
///
/// # Errors
/// [`Error::Config`] when `--config` names no file, the file is not valid, or the profile is
/// not in it.
pub fn load(config: Option<&Path>, profile: Option<&str>) -> Result<Chosen, Error> {
    let path = match config {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()),
    };
    let Some(path) = path else {
        return match profile {
            Some(name) => Err(Error::Config(format!(
                "--profile {name}: there is no settings file ({DEFAULT_FILE} in the working \
                 directory, or --config PATH)"
            ))),
            None => Ok(Chosen::default()),
        };
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let file: SettingsFile =
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let name = profile.map(str::to_string).or(file.default_profile.clone());
    let Some(name) = name else {
        return Ok(Chosen {
            path: Some(path),
            ..Chosen::default()
        });
    };
    let profile = file.profiles.get(&name).cloned().ok_or_else(|| {
        Error::Config(format!(
            "{}: no profile {name:?} (it has: {})",
            path.display(),
            file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let rate = profile
        .rate
        .as_deref()
        .map(parse_rate)
        .transpose()
        .map_err(|e| Error::Config(format!("{} profile {name}: rate {e}", path.display())))?;
    Ok(Chosen {
        path: Some(path),
        name: Some(name),
        profile,
        rate,
    })
}

/// Whether a value that clap holds may be replaced by the file's: it came from neither a
/// flag nor the environment.
fn replaceable(sources: &Sources, id: &str) -> bool {
    !matches!(
        sources.get(id),
        Some(SettingSource::Flag | SettingSource::Env)
    )
}

fn fill<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
    if target.is_none() {
        target.clone_from(value);
    }
}

impl Chosen {
    /// Fills the connection settings that neither a flag nor the environment set.
    pub fn apply_connection(&self, args: &mut ConnectionArgs, sources: &Sources) {
        let p = &self.profile;
        fill(&mut args.base_url, &p.base_url);
        fill(&mut args.tenant, &p.tenant);
        fill(&mut args.token_url, &p.token_url);
        fill(&mut args.client_id, &p.client_id);
        fill(&mut args.client_secret_file, &p.client_secret_file);
        if let Some(scope) = &p.scope
            && replaceable(sources, "scope")
        {
            args.scope.clone_from(scope);
        }
    }

    /// Fills the `import` settings that neither a flag nor the environment set.
    pub fn apply_import(&self, args: &mut ImportArgs, sources: &Sources) {
        self.apply_connection(&mut args.connection, sources);
        fill(&mut args.template_id, &self.profile.template_id);
        if let Some(rate) = self.rate
            && replaceable(sources, "rate")
        {
            args.rate = rate;
        }
    }

    /// Fills a template id that neither a flag nor the environment set.
    pub fn apply_template(&self, template_id: &mut Option<String>) {
        fill(template_id, &self.profile.template_id);
    }

    /// Fills a rate that neither a flag nor the environment set.
    pub fn apply_rate(&self, rate: &mut RateArg, sources: &Sources) {
        if let Some(r) = self.rate
            && replaceable(sources, "rate")
        {
            *rate = r;
        }
    }

    fn origin(&self) -> String {
        match (&self.path, &self.name) {
            (Some(path), Some(name)) => format!("file {} [profiles.{name}]", path.display()),
            (Some(path), None) => format!("file {}", path.display()),
            _ => "file".into(),
        }
    }
}

/// `orgimport config`: every setting, its value and where it came from, one a line. The
/// secret is shown only as set or not set.
pub fn describe(args: &ConfigArgs, sources: &Sources, chosen: &Chosen) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "settings file: {}",
        chosen
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| format!("none ({DEFAULT_FILE} not in the working directory)"))
    );
    let _ = writeln!(
        out,
        "profile:       {}",
        chosen.name.as_deref().unwrap_or("none")
    );
    let p = &chosen.profile;
    let c = &args.connection;
    let origin = |id: &str, cli: bool, file: bool| -> String {
        match sources.get(id) {
            Some(SettingSource::Flag) => "flag".into(),
            Some(SettingSource::Env) => "env".into(),
            _ if file => chosen.origin(),
            Some(SettingSource::Default) => "default".into(),
            _ if cli => "flag".into(),
            _ => String::new(),
        }
    };
    let mut row = |label: &str, id: &str, cli: Option<String>, file: Option<String>| {
        let from = origin(id, cli.is_some(), file.is_some());
        let value = cli.or(file);
        let _ = match value {
            Some(v) => writeln!(out, "{label:<14} {v}  ({from})"),
            None if matches!(label, "base_url" | "tenant" | "token_url") => {
                writeln!(out, "{label:<14} not set (derived: see the last line)")
            }
            None => writeln!(out, "{label:<14} not set"),
        };
    };
    row(
        "base_url",
        "base_url",
        c.base_url.clone(),
        p.base_url.clone(),
    );
    row("tenant", "tenant", c.tenant.clone(), p.tenant.clone());
    row(
        "token_url",
        "token_url",
        c.token_url.clone(),
        p.token_url.clone(),
    );
    row(
        "client_id",
        "client_id",
        c.client_id.clone(),
        p.client_id.clone(),
    );
    let scope_is_default = replaceable(sources, "scope") && p.scope.is_some();
    row(
        "scope",
        "scope",
        (!scope_is_default).then(|| c.scope.clone()),
        p.scope.clone(),
    );
    row(
        "template_id",
        "template_id",
        args.template_id.clone(),
        p.template_id.clone(),
    );
    let rate_is_default = replaceable(sources, "rate") && p.rate.is_some();
    row(
        "rate",
        "rate",
        (!rate_is_default).then(|| format!("{}/s", args.rate.per_second())),
        p.rate.clone(),
    );
    let secret_file = c
        .client_secret_file
        .clone()
        .or(p.client_secret_file.clone());
    let secret = match (&secret_file, std::env::var_os(SECRET_ENV)) {
        (Some(path), _) => {
            let from = origin(
                "client_secret_file",
                c.client_secret_file.is_some(),
                p.client_secret_file.is_some(),
            );
            if path.is_file() {
                format!("set (from file {}, named by {from})", path.display())
            } else {
                format!(
                    "not set: the file {} named by {from} does not exist",
                    path.display()
                )
            }
        }
        (None, Some(v)) if !v.is_empty() => format!("set (from env {SECRET_ENV})"),
        _ => "not set".into(),
    };
    let _ = writeln!(out, "{:<14} {secret}", "client_secret");
    let mut connection = args.connection.clone();
    chosen.apply_connection(&mut connection, sources);
    let _ = match crate::settings::tenant_from_args(&connection) {
        Ok(tenant) => writeln!(
            out,
            "=> tenant {:?} at {}, token URL {}",
            tenant.tenant, tenant.base_url, tenant.credentials.token_url
        ),
        Err(e) => writeln!(out, "=> incomplete: {e}"),
    };
    out
}
