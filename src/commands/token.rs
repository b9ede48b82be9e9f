//! `orgimport token`: fetches a token the way an import would, to check the credentials and
//! the scope before a run; prints the scope granted and when the token expires, and the
//! token itself only with `--show`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

use crate::api::RetryPolicy;
use crate::input::{Dialect, MappingSpec, RowTemplates, Source, Untemplated};
use crate::planning;
use crate::rate::{Rate, RateSetting};
use crate::record::EarlierRuns;
use crate::settings::TokenSettings;
use crate::stop::Stop;
use crate::tenant::session;
use crate::tenant::templates::{self, Verdict};
use crate::{Error, ExitStatus};

/// What the token endpoint granted.
pub(crate) struct TokenInfo {
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
    /// Each template checked (the default, then those the input's rows name), and what was
    /// found.
    pub templates: Vec<TemplateFound>,
    /// The token, kept out of `Debug` and printed only when asked.
    pub token: SecretString,
    /// The refusal of the input's rows that name no template when no default is set (and
    /// no `--no-template`): the one `plan` and `import` give.
    pub untemplated: Option<Error>,
}

/// What `token` says of a template that an import can use.
const TEMPLATE_OK: &str = "readable, a template";

/// One template checked.
pub(crate) struct TemplateFound {
    /// Its id.
    pub id: String,
    /// What reading it found: [`TEMPLATE_OK`], or what is wrong with it.
    pub found: String,
    /// Whose it is: the default, and what gave it (`--template-id`, `env ...`, the settings
    /// file), or the rows that name it.
    pub whose: String,
}

/// The rate of `token`'s two requests: a limit that never waits.
const RATE: Rate = Rate::per_second_at_most(std::num::NonZeroU32::new(10).expect("not zero"));

/// `orgimport token`: fetches a token as `settings` say and prints what was granted; fails
/// when a scope asked for was not granted or the template is not one the import could use.
///
/// # Errors
/// As [`check`].
pub(crate) async fn run(settings: &TokenSettings) -> anyhow::Result<ExitStatus> {
    let mut info = match check(settings).await {
        Ok(info) => info,
        Err(error) => {
            // A script reading stdout gets a document saying what failed, as `config --json`
            // does for settings that are not complete; the message goes to stderr as ever.
            if settings.json {
                let failed = serde_json::json!({ "ok": false, "error": error.to_string() });
                println!("{failed}");
            }
            return Err(error.into());
        }
    };
    if settings.json {
        println!("{}", info.to_json(settings.show));
    } else {
        print!("{}", info.describe(settings.show));
    }
    let (scope_ok, template_ok) = (info.scope_ok(), info.template_ok());
    if !scope_ok {
        eprintln!(
            "error: the token endpoint granted {:?}, not every scope asked for ({:?})",
            info.granted.as_deref().unwrap_or(""),
            info.requested
        );
    }
    if !template_ok {
        eprintln!("error: an import with this template would stop before its first row");
    }
    // The answer `plan` and `import` give (exit 2) wins over a scope or a template missing.
    if let Some(refusal) = info.untemplated.take() {
        return Err(refusal.into());
    }
    Ok(if scope_ok && template_ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failed
    })
}

/// Fetches a token and reads with it the default template and every template id the input's
/// rows name (by [`templates::judge`], the rule the import applies before it sends).
///
/// # Errors
/// [`Error::AuthRejected`] for wrong credentials or a scope the client lacks; [`Error::Auth`]
/// when the endpoint cannot be reached; the input's errors, when it is given.
pub(crate) async fn check(settings: &TokenSettings) -> Result<TokenInfo, Error> {
    let tenant = &settings.tenant;
    let (client, tokens) =
        session::connect_tenant(tenant, RateSetting::AtMost(RATE), settings.timeout)?;
    let issued = SystemTime::now();
    // Retried as an import retries its calls: one blip is not a verdict on the credentials.
    let (policy, stop) = (RetryPolicy::default(), Stop::new());
    let token = policy.token(&tokens, &stop).await?;
    let (row_templates, untemplated) = match &settings.input {
        Some((path, dialect, mapping)) => {
            let (rows, untemplated) =
                rows_templates(path, dialect, mapping, settings.template_id.as_deref()).await?;
            let refusal = match settings.no_template {
                true => None,
                false => untemplated.refuse(path).err(),
            };
            (rows, refusal)
        }
        None => (
            RowTemplates {
                default: settings.template_id.clone(),
                ..RowTemplates::default()
            },
            None,
        ),
    };
    let mut templates = Vec::new();
    for (id, rows) in row_templates.to_check() {
        let found = match templates::judge(&client, policy, &stop, id).await {
            Verdict::Template => TEMPLATE_OK.to_string(),
            Verdict::Problem(problem) => problem,
            Verdict::Interrupted => "not checked (interrupted)".to_string(),
        };
        let mut whose = Vec::new();
        if row_templates.default.as_deref() == Some(id) {
            let from = settings.template_from.as_deref().unwrap_or("the settings");
            whose.push(format!("the default, from {from}"));
        }
        if let Some(rows) = rows {
            whose.push(format!("{} row(s): {}", rows.rows, rows.lines()));
        }
        templates.push(TemplateFound {
            id: id.to_string(),
            found,
            whose: whose.join("; "),
        });
    }
    Ok(TokenInfo {
        token_url: tenant.credentials.token_url.to_string(),
        client_id: tenant.credentials.client_id.clone(),
        requested: tenant.credentials.scope.clone(),
        granted: token.scope().map(str::to_string),
        expires_at: issued.checked_add(token.lifetime()).unwrap_or(issued),
        lifetime: token.lifetime(),
        templates,
        token: SecretString::from(token.bearer().to_string()),
        untemplated,
    })
}

impl TokenInfo {
    /// The lines `orgimport token` prints; the token only when `show`.
    pub(crate) fn describe(&self, show: bool) -> String {
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
        for t in &self.templates {
            let _ = writeln!(out, "template:       {}: {} ({})", t.id, t.found, t.whose);
        }
        if show {
            let _ = writeln!(out, "access token:   {}", self.token.expose_secret());
        }
        out
    }

    /// What `token --json` prints; the token only when `show`.
    pub(crate) fn to_json(&self, show: bool) -> String {
        let templates: Vec<serde_json::Value> = self
            .templates
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "ok": t.found == TEMPLATE_OK,
                    "found": t.found,
                    "whose": t.whose,
                })
            })
            .collect();
        let mut json = serde_json::json!({
            "token_url": self.token_url,
            "client_id": self.client_id,
            "scope_asked": self.requested,
            "scope_granted": self.granted,
            "scope_ok": self.scope_ok(),
            "expires": humantime::format_rfc3339_seconds(self.expires_at).to_string(),
            "lifetime_seconds": self.lifetime.as_secs(),
            "templates": templates,
            "templates_ok": self.template_ok(),
            "ok": true,
        });
        if show {
            json["access_token"] = self.token.expose_secret().into();
        }
        json.to_string()
    }

    /// Whether every template checked is a template the token can read.
    pub(crate) fn template_ok(&self) -> bool {
        self.templates.iter().all(|t| t.found == TEMPLATE_OK)
    }

    /// Whether the scopes granted include every scope asked for.
    pub(crate) fn scope_ok(&self) -> bool {
        match &self.granted {
            None => true,
            Some(granted) => self
                .requested
                .split_whitespace()
                .all(|s| granted.split_whitespace().any(|g| g == s)),
        }
    }
}

/// The template ids the valid rows of `path` would be sent with, `default` for those that name
/// none, and the rows that would be sent with no template.
async fn rows_templates(
    path: &Path,
    dialect: &Dialect,
    spec: &MappingSpec,
    default: Option<&str>,
) -> Result<(RowTemplates, Untemplated), Error> {
    let (path, spec, default) = (
        path.to_path_buf(),
        spec.clone(),
        default.map(str::to_string),
    );
    let source = Source::settle(&path, dialect)?;
    source.announce(&path);
    tokio::task::spawn_blocking(move || {
        let mapping = source.mapping(&spec)?;
        let plan = planning::build(
            &source,
            &mapping,
            &mut EarlierRuns::default(),
            default.as_deref(),
            &mut |_| {},
        )?;
        Ok((plan.row_templates, plan.untemplated))
    })
    .await
    .expect("reading the input does not panic")
}
