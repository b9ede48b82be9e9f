//! The settings file (`orgimport.toml` in the working directory, or `--config PATH`), its
//! named profiles (e.g. staging and production), and the list of settings a profile can hold.
//! A profile fills only what neither a flag nor the environment set (see [`Layers`]);
//! `orgimport config` shows each setting, its value and where it came from.
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
//!
//! Adding a profile setting: a field of [`Profile`] and its [`Key`] below, nothing else; a
//! command then takes it with [`Layers::get`], which records it for `orgimport config`.
//!
//! [`Layers`]: crate::settings::Layers
//! [`Layers::get`]: crate::settings::Layers::get

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;
use crate::rate::{Rate, RateSetting};

/// The file looked for in the working directory when `--config` is not given.
pub(crate) const DEFAULT_FILE: &str = "orgimport.toml";

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
    /// `--rate`, e.g. `"20/s"`, `"600/m"` or `"auto"`.
    pub rate: Option<RateSetting>,
    /// `--allow-insecure-http`.
    pub allow_insecure_http: Option<bool>,
}

/// A setting that a flag, an environment variable and a profile can all give.
#[derive(Clone, Copy)]
pub struct Key<T: 'static> {
    /// Its name: the profile's key, and the label `orgimport config` shows.
    pub name: &'static str,
    /// Its environment variable.
    pub env: &'static str,
    /// Its value in a profile.
    pub in_profile: fn(&Profile) -> Option<T>,
}

/// `--base-url`.
pub(crate) const BASE_URL: Key<String> = Key {
    name: "base_url",
    env: "ORGIMPORT_BASE_URL",
    in_profile: |p| p.base_url.clone(),
};
/// `--tenant`.
pub(crate) const TENANT: Key<String> = Key {
    name: "tenant",
    env: "ORGIMPORT_TENANT",
    in_profile: |p| p.tenant.clone(),
};
/// `--token-url`.
pub(crate) const TOKEN_URL: Key<String> = Key {
    name: "token_url",
    env: "ORGIMPORT_TOKEN_URL",
    in_profile: |p| p.token_url.clone(),
};
/// `--client-id`.
pub(crate) const CLIENT_ID: Key<String> = Key {
    name: "client_id",
    env: "ORGIMPORT_CLIENT_ID",
    in_profile: |p| p.client_id.clone(),
};
/// `--client-secret-file`.
pub(crate) const CLIENT_SECRET_FILE: Key<PathBuf> = Key {
    name: "client_secret_file",
    env: "ORGIMPORT_CLIENT_SECRET_FILE",
    in_profile: |p| p.client_secret_file.clone(),
};
/// `--scope`.
pub(crate) const SCOPE: Key<String> = Key {
    name: "scope",
    env: "ORGIMPORT_SCOPE",
    in_profile: |p| p.scope.clone(),
};
/// `--template-id`.
pub(crate) const TEMPLATE_ID: Key<String> = Key {
    name: "template_id",
    env: "ORGIMPORT_TEMPLATE_ID",
    in_profile: |p| p.template_id.clone(),
};
/// `--allow-insecure-http`.
pub(crate) const ALLOW_INSECURE_HTTP: Key<bool> = Key {
    name: "allow_insecure_http",
    env: "ORGIMPORT_ALLOW_INSECURE_HTTP",
    in_profile: |p| p.allow_insecure_http,
};
/// `--rate`.
pub(crate) const RATE: Key<RateSetting> = Key {
    name: "rate",
    env: "ORGIMPORT_RATE",
    in_profile: |p| p.rate,
};

/// The scope asked for when nothing names one.
pub(crate) const DEFAULT_SCOPE: &str = "manage_organizations";

/// The rate when nothing names one: 20 requests a second.
pub(crate) const DEFAULT_RATE: RateSetting = RateSetting::AtMost(Rate::per_second_at_most(
    NonZeroU32::new(20).expect("not zero"),
));

/// The settings file read, if any, and the profile of it in force, if any.
#[derive(Debug, Default)]
pub struct ActiveProfile {
    /// The settings file read, if any.
    pub path: Option<PathBuf>,
    /// The profile's name, if one is in force.
    pub name: Option<String>,
    /// Its settings (all empty when none is in force).
    pub profile: Profile,
}

impl ActiveProfile {
    /// Reads the settings file (`config`, else `orgimport.toml` in the working directory when
    /// there is one) and picks the profile `profile` names, else the file's `default_profile`.
    ///
    /// # Errors
    /// [`Error::Config`] when `--config` names no file, the file is not valid, or the profile
    /// is not in it.
    pub fn load(config: Option<&Path>, profile: Option<&str>) -> Result<ActiveProfile, Error> {
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
                None => Ok(ActiveProfile::default()),
            };
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let file: SettingsFile = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), toml_error(&text, &e))))?;
        let name = profile.map(str::to_string).or(file.default_profile.clone());
        let Some(name) = name else {
            return Ok(ActiveProfile {
                path: Some(path),
                ..ActiveProfile::default()
            });
        };
        let profile = file.profiles.get(&name).cloned().ok_or_else(|| {
            Error::Config(format!(
                "{}: no profile {name:?} (it has: {})",
                path.display(),
                file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        Ok(ActiveProfile {
            path: Some(path),
            name: Some(name),
            profile,
        })
    }

    /// Where a value the profile gave came from, as `orgimport config` says it:
    /// `file orgimport.toml [profiles.staging]`.
    pub fn describe(&self) -> String {
        match (&self.path, &self.name) {
            (Some(path), Some(name)) => format!("file {} [profiles.{name}]", path.display()),
            (Some(path), None) => format!("file {}", path.display()),
            _ => "file".into(),
        }
    }
}

/// Where in `text` the settings file is not valid (line and column) and why, in toml's words
/// with every quoted value in them replaced by `"…"`: never the line's text nor a value,
/// since the line may hold a secret put in the file by mistake.
fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let place = error.span().map_or_else(String::new, |span| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("line {line}, column {column}: ")
    });
    // A quote toml expected is named in backticks: kept, all else between quotes dropped.
    let words = error.message().trim().replace("`\"`", "`\u{0}`");
    let mut message = String::new();
    for (i, part) in words.split('"').enumerate() {
        match i % 2 {
            0 => message.push_str(part),
            _ => message.push_str("\"…\""),
        }
    }
    let message = message.replace('\u{0}', "\"");
    format!("not a valid settings file at {place}{message}")
}
