//! `orgimport token`: fetches a token the way an import would, to check the credentials and
//! the scope before a run; prints the scope granted and when the token expires, and the
//! token itself only with `--show`.

use std::fmt::Write as _;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::Error;
use crate::cli::TokenArgs;
use crate::commands::session;

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

/// Fetches a token and, when a template is named, reads it with the token.
///
/// # Errors
/// [`Error::AuthRejected`] for wrong credentials or a scope the client lacks; [`Error::Auth`]
/// when the endpoint cannot be reached; [`Error::Config`] for missing settings.
pub async fn check(args: &TokenArgs) -> Result<TokenInfo, Error> {
    let tenant = crate::settings::tenant_from_args(&args.connection)?;
    let rate = crate::cli::parse_rate("10").expect("a valid rate");
    let (client, tokens) = session::connect_tenant(&tenant, rate, args.connection.timeout)?;
    let issued = SystemTime::now();
    let token = tokens.token().await?;
    let template = match args.template_id.as_deref().filter(|t| !t.trim().is_empty()) {
        None => None,
        Some(id) => {
            let found = match client.get(id).await {
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
        expires_at: issued + token.lifetime(),
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
