//! `orgimport config`: every connection setting, the template and the rate, each with its
//! value and where it came from (flag, env, the settings file's profile, default), as an
//! import would resolve them, the URLs it derives from one another; then whether they
//! describe a tenant (exit 2 when they do not). The secret is shown only as set or not set.

use std::fmt::Write as _;

use crate::ExitStatus;
use crate::settings::connection::without_credentials;
use crate::settings::profile::DEFAULT_FILE;
use crate::settings::{ConfigSettings, Origin, SECRET_ENV, Source};

/// The setting shown in the `client_secret` line rather than its own.
const SECRET_FILE: &str = "client_secret_file";

/// Prints what [`describe`] says; exit 2 when the settings do not describe a tenant, so that
/// a script can check them before an import.
pub(crate) fn run(settings: &ConfigSettings) -> ExitStatus {
    if settings.json {
        println!("{}", to_json(settings));
    } else {
        print!("{}", describe(settings));
    }
    match settings.connection.tenant() {
        Ok(_) => ExitStatus::Success,
        Err(_) => ExitStatus::Fatal,
    }
}

/// Every setting, its value and where it came from, one a line.
pub(crate) fn describe(settings: &ConfigSettings) -> String {
    let address = settings.connection.address().ok();
    let profile = &settings.profile;
    let from = |origin: &Origin| match origin.source {
        Source::Flag => "flag".to_string(),
        Source::Env => "env".to_string(),
        Source::Profile => profile.describe(),
        Source::Default => "default".to_string(),
    };
    let mut out = String::new();
    // Every value starts in one column, after the longest label.
    let width = settings
        .origins
        .iter()
        .map(|o| o.name.len())
        .chain(["client_secret".len(), "settings file:".len()])
        .max()
        .unwrap_or(14);
    let _ = writeln!(
        out,
        "{:<width$} {}",
        "settings file:",
        profile
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| format!("none ({DEFAULT_FILE} not in the working directory)"))
    );
    let _ = writeln!(
        out,
        "{:<width$} {}",
        "profile:",
        profile.name.as_deref().unwrap_or("none")
    );
    for origin in settings.origins.iter().filter(|o| o.name != SECRET_FILE) {
        let label = origin.name;
        let _ = match &origin.value {
            Some(value) => writeln!(
                out,
                "{label:<width$} {}  ({})",
                without_credentials(value),
                from(origin)
            ),
            None => match (label, &address) {
                ("base_url", Some(a)) => writeln!(out, "{label:<width$} {}  (derived)", a.base_url),
                ("tenant", Some(a)) => writeln!(out, "{label:<width$} {}  (derived)", a.tenant),
                ("token_url", Some(a)) => {
                    writeln!(out, "{label:<width$} {}  (derived)", a.token_url)
                }
                _ => writeln!(out, "{label:<width$} not set"),
            },
        };
    }
    let secret = secret(settings, &from);
    let _ = writeln!(out, "{:<width$} {secret}", "client_secret");
    let _ = match settings.connection.tenant() {
        Ok(tenant) => writeln!(
            out,
            "=> tenant {:?} at {}, token URL {}",
            tenant.tenant, tenant.base_url, tenant.credentials.token_url
        ),
        Err(e) => writeln!(out, "=> incomplete: {e}"),
    };
    out
}

/// Whether the client secret is set and where from (never its value): a secret file named by a
/// flag, env or the profile, which may not exist, or the environment variable.
fn secret(settings: &ConfigSettings, from: &dyn Fn(&Origin) -> String) -> String {
    let connection = &settings.connection;
    let secret_file = settings.origins.iter().find(|o| o.name == SECRET_FILE);
    match (&connection.client_secret_file, secret_file) {
        (Some(path), Some(origin)) => {
            let from = from(origin);
            if path.is_file() {
                format!("set (from file {}, named by {from})", path.display())
            } else {
                format!(
                    "not set: the file {} named by {from} does not exist",
                    path.display()
                )
            }
        }
        _ if connection.secret_from_env.is_some() => format!("set (from env {SECRET_ENV})"),
        _ => "not set".into(),
    }
}

/// What `config --json` prints: each setting with its value (`null` when not set) and where
/// it came from (`flag`, `env`, the profile, `default`, or `derived`), whether the client
/// secret is set (never its value), and whether the settings describe a tenant.
pub(crate) fn to_json(settings: &ConfigSettings) -> String {
    let address = settings.connection.address().ok();
    let profile = &settings.profile;
    let mut values = serde_json::Map::new();
    for origin in settings.origins.iter().filter(|o| o.name != SECRET_FILE) {
        let derived = match (origin.name, &address) {
            ("base_url", Some(a)) => Some(a.base_url.to_string()),
            ("tenant", Some(a)) => Some(a.tenant.clone()),
            ("token_url", Some(a)) => Some(a.token_url.to_string()),
            _ => None,
        };
        let (value, from) = match (&origin.value, derived) {
            (Some(value), _) => (
                Some(without_credentials(value)),
                match origin.source {
                    Source::Flag => "flag".to_string(),
                    Source::Env => "env".to_string(),
                    Source::Profile => profile.describe(),
                    Source::Default => "default".to_string(),
                },
            ),
            (None, Some(derived)) => (Some(derived), "derived".to_string()),
            (None, None) => (None, "not set".to_string()),
        };
        values.insert(
            origin.name.to_string(),
            serde_json::json!({ "value": value, "from": from }),
        );
    }
    let connection = &settings.connection;
    let secret_set = match &connection.client_secret_file {
        Some(path) => path.is_file(),
        None => connection.secret_from_env.is_some(),
    };
    let tenant = connection.tenant();
    serde_json::json!({
        "settings_file": profile.path.as_ref().map(|p| p.display().to_string()),
        "profile": profile.name,
        "settings": values,
        "client_secret_set": secret_set,
        "complete": tenant.is_ok(),
        "problem": tenant.as_ref().err().map(ToString::to_string),
    })
    .to_string()
}
