//! `orgimport token`: fetches a token the way an import would, to check the credentials and
//! the scope before a run; prints the scope granted and when the token expires, and the
//! token itself only with `--show`.

use std::fmt::Write as _;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::api::RetryPolicy;
use crate::commands::session;
use crate::rate::{Rate, RateSetting};
use crate::settings::TokenSettings;
use crate::stop::Stop;
use crate::{Error, ExitStatus};

/// What the token endpoint granted.
pub struct TokenInfo {
    /// The token URL that answered.
    pub token_url: String,
    /// The client id.
    pub client_id: String,
    /// The scopes asked for.
    pub requested: String,
    /// The scopes granted (`None` when the reply did not say).
    pub granted: Option<String>,
    /// When the token expires.
    pub expires_at: SystemTime,
    /// How long it lives.
    pub lifetime: std::time::Duration,
    /// The template checked, and what was found.
    pub template: Option<(String, String)>,
    /// The token, kept out of `Debug` and printed only when asked.
    pub token: SecretString,
}

/// What `token` says of a template that an import can use.
const TEMPLATE_OK: &str = "readable, a template";

/// The rate of `token`'s two requests: a limit that never waits.
const RATE: Rate = Rate::per_second_at_most(std::num::NonZeroU32::new(10).expect("not zero"));

/// `orgimport token`: fetches a token as `settings` say and prints what was granted; fails
/// when a scope asked for was not granted or the template is not one the import could use.
///
/// # Errors
/// As [`check`].
pub async fn run(settings: &TokenSettings) -> anyhow::Result<ExitStatus> {
    let info = check(settings).await?;
    print!("{}", info.describe(settings.show));
    if !info.scope_ok() {
        eprintln!(
            "error: the token endpoint granted {:?}, not every scope asked for ({:?})",
            info.granted.as_deref().unwrap_or(""),
            info.requested
        );
        return Ok(ExitStatus::Failed);
    }
    if !info.template_ok() {
        eprintln!("error: an import with this template would stop before its first row");
        return Ok(ExitStatus::Failed);
    }
    Ok(ExitStatus::Success)
}

/// Fetches a token and, when a template is named, reads it with the token.
///
/// # Errors
/// [`Error::AuthRejected`] for wrong credentials or a scope the client lacks; [`Error::Auth`]
/// when the endpoint cannot be reached.
pub async fn check(settings: &TokenSettings) -> Result<TokenInfo, Error> {
    let tenant = &settings.tenant;
    let (client, tokens) =
        session::connect_tenant(tenant, RateSetting::AtMost(RATE), settings.timeout)?;
    let issued = SystemTime::now();
    // Retried as an import retries its calls: one blip is not a verdict on the credentials.
    let (policy, stop) = (RetryPolicy::default(), Stop::new());
    let token = policy.token(&tokens, &stop).await?;
    let template = match settings.template_id.as_deref() {
        None => None,
        Some(id) => {
            let read = policy.call(&stop, "the template check", id, || client.get(id));
            let found = match read.await {
                Ok(Some(org)) if org.template => TEMPLATE_OK.to_string(),
                Ok(Some(_)) => "readable, but an organization, not a template".to_string(),
                Ok(None) => "not found in this tenant".to_string(),
                Err(e) => format!("cannot be read: {}", e.into_row_error()),
            };
            Some((id.to_string(), found))
        }
    };
    Ok(TokenInfo {
        token_url: tenant.credentials.token_url.to_string(),
        client_id: tenant.credentials.client_id.clone(),
        requested: tenant.credentials.scope.clone(),
        granted: token.scope().map(str::to_string),
        expires_at: issued.checked_add(token.lifetime()).unwrap_or(issued),
        lifetime: token.lifetime(),
        template,
        token: SecretString::from(token.bearer().to_string()),
    })
}

impl TokenInfo {
    /// The lines `orgimport token` prints; the token only when `show`.
    pub fn describe(&self, show: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "token endpoint: {}", self.token_url);
        let _ = writeln!(out, "client id:      {}", self.client_id);
        let _ = writeln!(out, "scope asked:    {}", self.requested);
        let _ = writeln!(
            out,
            "scope granted:  {}",
            self.granted
                .as_deref()
                .unwrap_or("(not stated by the token endpoint)")
        );
        let _ = writeln!(
            out,
            "expires:        {} (in {})",
            humantime::format_rfc3339_seconds(self.expires_at),
            humantime::format_duration(self.lifetime)
        );
        if let Some((id, found)) = &self.template {
            let _ = writeln!(out, "template:       {id}: {found}");
        }
        if show {
            let _ = writeln!(out, "access token:   {}", self.token.expose_secret());
        }
        out
    }

    /// Whether the template named (if any) is a template the token can read.
    pub fn template_ok(&self) -> bool {
        self.template
            .as_ref()
            .is_none_or(|(_, found)| found == TEMPLATE_OK)
    }

    /// Whether the scopes granted include every scope asked for.
    pub fn scope_ok(&self) -> bool {
        match &self.granted {
            None => true,
            Some(granted) => self
                .requested
                .split_whitespace()
                .all(|s| granted.split_whitespace().any(|g| g == s)),
        }
    }
}
