//! The one place where a setting's layers meet: the flag wins over its environment variable,
//! which wins over the settings file's profile, which wins over the default. Every value
//! taken is written down with where it came from, for `orgimport config`.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

use crate::Error;
use crate::rate::{Rate, RateSetting};
use crate::settings::profile::{ActiveProfile, Key};

/// The environment variable naming the settings file (`--config`).
pub(crate) const CONFIG_ENV: &str = "ORGIMPORT_CONFIG";

/// The environment variable naming the profile (`--profile`).
pub(crate) const PROFILE_ENV: &str = "ORGIMPORT_PROFILE";

/// The `ORGIMPORT_*` environment variables, read once. Commands resolve their settings from
/// this copy, so that tests pass their own instead of changing the process's.
#[derive(Clone, Default)]
pub struct Environment(HashMap<String, OsString>);

impl Environment {
    /// The process's `ORGIMPORT_*` variables.
    pub fn from_process() -> Environment {
        std::env::vars_os()
            .filter(|(name, _)| name.to_str().is_some_and(|n| n.starts_with("ORGIMPORT_")))
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
            .collect()
    }

    /// The variable `name`, if it is set (even to nothing).
    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.0.get(name).map(OsString::as_os_str)
    }
}

impl<K: Into<String>, V: Into<OsString>> FromIterator<(K, V)> for Environment {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Environment {
        Environment(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Names only: the values may hold the client secret.
impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        f.debug_tuple("Environment").field(&names).finish()
    }
}

/// A value a setting can take, as its environment variable writes it and as `orgimport
/// config` shows it.
pub trait Value: Clone {
    /// The value of an environment variable.
    ///
    /// # Errors
    /// A message saying what is wrong with `text`.
    fn from_env(text: &OsStr) -> Result<Self, String>;

    /// The value as `orgimport config` shows it.
    fn show(&self) -> String;
}

impl Value for String {
    fn from_env(text: &OsStr) -> Result<String, String> {
        text.to_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{text:?} is not valid UTF-8"))
    }

    fn show(&self) -> String {
        self.clone()
    }
}

impl Value for bool {
    fn from_env(text: &OsStr) -> Result<bool, String> {
        match String::from_env(text)?.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            other => Err(format!("{other:?} is not true or false (1 or 0)")),
        }
    }

    fn show(&self) -> String {
        self.to_string()
    }
}

impl Value for PathBuf {
    fn from_env(text: &OsStr) -> Result<PathBuf, String> {
        Ok(PathBuf::from(text))
    }

    fn show(&self) -> String {
        self.display().to_string()
    }
}

impl Value for Rate {
    fn from_env(text: &OsStr) -> Result<Rate, String> {
        String::from_env(text)?.parse()
    }

    fn show(&self) -> String {
        self.to_string()
    }
}

impl Value for RateSetting {
    fn from_env(text: &OsStr) -> Result<RateSetting, String> {
        String::from_env(text)?.parse()
    }

    fn show(&self) -> String {
        self.to_string()
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Its flag.
    Flag,
    /// Its environment variable.
    Env,
    /// The profile in force.
    Profile,
    /// Nothing gave it: the default (or nothing, when there is none).
    Default,
}

/// One setting as it was resolved: its value as shown, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The setting's name ([`Key::name`]).
    pub name: &'static str,
    /// Its value as shown, `None` when it is not set.
    pub value: Option<String>,
    /// Where the value came from.
    pub source: Source,
}

/// The layers under the flags (the environment and the profile in force), and the record of
/// where each setting taken from them came from.
#[derive(Debug)]
pub struct Layers {
    /// The environment variables.
    env: Environment,
    /// The settings file and its profile in force (none when there is no file).
    profile: ActiveProfile,
    /// Every setting resolved so far, in order.
    origins: Vec<Origin>,
}

impl Layers {
    /// Flags over `env` over `profile` over defaults.
    pub fn new(env: Environment, profile: ActiveProfile) -> Layers {
        Layers {
            env,
            profile,
            origins: Vec::new(),
        }
    }

    /// The layers of a command that reads the settings file: the file `config` names (else
    /// `ORGIMPORT_CONFIG`, else `orgimport.toml` in the working directory when there is one),
    /// its profile that `profile` names (else `ORGIMPORT_PROFILE`, else its default profile),
    /// and `env`.
    ///
    /// # Errors
    /// [`Error::Config`] when the file named does not exist or is not valid, or the profile is
    /// not in it.
    pub fn with_file(
        env: Environment,
        config: Option<PathBuf>,
        profile: Option<String>,
    ) -> Result<Layers, Error> {
        let config = config.or_else(|| env.get(CONFIG_ENV).map(PathBuf::from));
        let profile = match profile {
            Some(name) => Some(name),
            None => env
                .get(PROFILE_ENV)
                .map(String::from_env)
                .transpose()
                .map_err(|e| Error::Config(format!("{PROFILE_ENV}: {e}")))?,
        };
        let profile = ActiveProfile::load(config.as_deref(), profile.as_deref())?;
        Ok(Layers::new(env, profile))
    }

    /// The layers of a command that reads no settings file: flags over `env` over defaults.
    pub fn without_file(env: Environment) -> Layers {
        Layers::new(env, ActiveProfile::default())
    }

    /// The environment variables.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// The profile in force and every setting resolved, for `orgimport config`.
    pub fn into_parts(self) -> (ActiveProfile, Vec<Origin>) {
        (self.profile, self.origins)
    }

    /// The setting `key`: `flag` when given, else its environment variable, else the
    /// profile's value; `None` when none gives it.
    ///
    /// # Errors
    /// [`Error::Config`] when the environment variable's value is malformed.
    pub fn get<T: Value>(&mut self, key: &Key<T>, flag: Option<T>) -> Result<Option<T>, Error> {
        let (value, source) = if let Some(value) = flag {
            (Some(value), Source::Flag)
        } else if let Some(text) = self.env.get(key.env) {
            let value =
                T::from_env(text).map_err(|e| Error::Config(format!("{}: {e}", key.env)))?;
            (Some(value), Source::Env)
        } else if let Some(value) = (key.in_profile)(&self.profile.profile) {
            (Some(value), Source::Profile)
        } else {
            (None, Source::Default)
        };
        self.origins.push(Origin {
            name: key.name,
            value: value.as_ref().map(Value::show),
            source,
        });
        Ok(value)
    }

    /// What gave the setting `key` its value, as [`Layers::get`] last found it, in words a
    /// message can quote: its flag (`--template-id`), its environment variable (`env
    /// ORGIMPORT_TEMPLATE_ID`), or the settings file and profile (`file orgimport.toml
    /// [profiles.staging]`); `None` when nothing gave it, or it was not looked up.
    pub fn given_by<T>(&self, key: &Key<T>) -> Option<String> {
        let origin = self.origins.iter().rev().find(|o| o.name == key.name)?;
        match origin.source {
            Source::Flag => Some(format!("--{}", key.name.replace('_', "-"))),
            Source::Env => Some(format!("env {}", key.env)),
            Source::Profile => Some(self.profile.describe()),
            Source::Default => None,
        }
    }

    /// The setting `key` as [`Layers::get`] finds it, else `default`.
    ///
    /// # Errors
    /// [`Error::Config`] when the environment variable's value is malformed.
    pub fn get_or<T: Value>(
        &mut self,
        key: &Key<T>,
        flag: Option<T>,
        default: T,
    ) -> Result<T, Error> {
        if let Some(value) = self.get(key, flag)? {
            return Ok(value);
        }
        let origin = self.origins.last_mut().expect("get records every setting");
        origin.value = Some(default.show());
        Ok(default)
    }
}
