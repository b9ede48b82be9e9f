//! The checked settings the core runs on, built from the command line and the environment.
//! Every missing or malformed setting is reported here, before anything is read or sent.

pub mod profile;

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use governor::Quota;
use secrecy::SecretString;
use url::Url;

use crate::Error;
use crate::api::{ClientAuth, Credentials};
use crate::cli::{
    ClientAuthArg, ConnectionArgs, ImportArgs, InputFormatArgs, OnExistingArg, RateArg, SandboxArgs,
};
use crate::input::{Dialect, MappingFile, MappingSpec};
use crate::sandbox::{Faults, RateLimit, SandboxConfig};
use crate::tenant::on_existing::OnExisting;

/// The environment variable holding the client secret.
pub const SECRET_ENV: &str = "ORGIMPORT_CLIENT_SECRET";

/// Everything `import` needs.
#[derive(Debug)]
pub struct Config {
    /// The customer CSV.
    pub input: PathBuf,
    /// How the input is written.
    pub dialect: Dialect,
    /// Which columns feed which fields.
    pub mapping: MappingSpec,
    /// The results file (its journal sits beside it).
    pub results: PathBuf,
    /// Where the organizations go.
    pub target: Target,
    /// The template for rows that name none.
    pub default_template: Option<String>,
    /// The shared rate limit on API requests.
    pub quota: Quota,
    /// The configured rate in requests per second, for reports.
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
}

/// Where the organizations are created.
#[derive(Debug)]
pub enum Target {
    /// A real tenant.
    Tenant(Box<Tenant>),
    /// The built-in sandbox, started for the run on a free port.
    Sandbox,
}

/// A tenant's address and the client that may create organizations in it.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The base URL, e.g. `https://acme.us.connect.secureauth.com`.
    pub base_url: Url,
    /// The tenant id.
    pub tenant: String,
    /// The client credentials and token endpoint.
    pub credentials: Credentials,
}

impl Tenant {
    /// The settings for a tenant at `base_url`, with the token URL derived.
    pub fn new(
        base_url: Url,
        tenant: &str,
        client_id: &str,
        client_secret: SecretString,
        scope: &str,
        auth: ClientAuth,
    ) -> Tenant {
        let token_url = derive_token_url(&base_url, tenant);
        Tenant {
            base_url,
            tenant: tenant.to_string(),
            credentials: Credentials {
                token_url,
                client_id: client_id.to_string(),
                client_secret,
                scope: scope.to_string(),
                auth,
            },
        }
    }
}

impl Config {
    /// Checks the `import` arguments, reading the secret from `--client-secret-file` or
    /// the environment.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix.
    pub fn from_import_args(args: ImportArgs, quiet: bool) -> Result<Config, Error> {
        let results = match &args.out {
            Some(out) => out.clone(),
            None => default_results_path(&args.input),
        };
        if same_file(&results, &args.input) {
            return Err(Error::Config(format!(
                "--out {} is the input file; choose another results file",
                results.display()
            )));
        }
        let target = if args.sandbox {
            Target::Sandbox
        } else {
            Target::Tenant(Box::new(tenant_from_args(&args.connection)?))
        };
        let burst = args.burst.unwrap_or_else(|| default_burst(args.rate));
        let (dialect, mapping) = input_format(&args.format)?;
        Ok(Config {
            input: args.input,
            dialect,
            mapping,
            results,
            target,
            default_template: args.template_id.filter(|t| !t.trim().is_empty()),
            quota: quota(args.rate, burst),
            rate_per_second: args.rate.per_second(),
            concurrency: args.concurrency,
            max_attempts: args.max_attempts,
            timeout: args.connection.timeout,
            quiet,
            on_existing: match args.on_existing {
                OnExistingArg::Skip => OnExisting::Skip,
                OnExistingArg::Fail => OnExisting::Fail,
                OnExistingArg::Update => OnExisting::Update,
            },
        })
    }
}

/// The dialect and mapping that `--delimiter`, `--encoding`, `--mapping` and `--map` name.
///
/// # Errors
/// [`Error::Config`] for a bad delimiter or encoding; the mapping file's errors.
pub fn input_format(args: &InputFormatArgs) -> Result<(Dialect, MappingSpec), Error> {
    let dialect = Dialect::parse(args.delimiter.as_deref(), args.encoding.as_deref())
        .map_err(Error::Config)?;
    let file = args.mapping.as_deref().map(MappingFile::load).transpose()?;
    Ok((
        dialect,
        MappingSpec {
            file,
            overrides: args.map.clone(),
        },
    ))
}

/// `<input stem>.results.csv` beside the input.
pub fn default_results_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "customers".into());
    input.with_file_name(format!("{stem}.results.csv"))
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// A tenth of a second's worth of requests, at least one: enough to absorb scheduling
/// jitter without bursting far above the rate.
fn default_burst(rate: RateArg) -> NonZeroU32 {
    let tenth = (rate.per_second() / 10.0).ceil().min(f64::from(u32::MAX)) as u32;
    NonZeroU32::new(tenth).unwrap_or(NonZeroU32::MIN)
}

/// The governor quota for `rate` with `burst`.
pub fn quota(rate: RateArg, burst: NonZeroU32) -> Quota {
    let period = rate.period / rate.count.get();
    Quota::with_period(period.max(Duration::from_nanos(1)))
        .expect("the period is not zero")
        .allow_burst(burst)
}

/// The tenant and credentials that the connection flags, the environment and the settings
/// file name, the secret read from `--client-secret-file` or the environment.
///
/// # Errors
/// [`Error::Config`] naming the setting to fix.
pub fn tenant_from_args(args: &ConnectionArgs) -> Result<Tenant, Error> {
    let parse = |flag: &str, text: &str| -> Result<Url, Error> {
        let url = Url::parse(text.trim())
            .map_err(|e| Error::Config(format!("{flag} {text:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(Error::Config(format!(
                "{flag} {text:?} must be an http(s) URL with a host"
            )));
        }
        Ok(url)
    };
    let token_url = args
        .token_url
        .as_deref()
        .map(|t| parse("--token-url", t))
        .transpose()?;
    let base_url = match (&args.base_url, &token_url) {
        (Some(b), _) => parse("--base-url", b)?,
        (None, Some(t)) => {
            let mut base = t.clone();
            base.set_path("/");
            base.set_query(None);
            base
        }
        (None, None) => {
            return Err(Error::Config(
                "no tenant given: set --base-url and --tenant (or ORGIMPORT_BASE_URL and \
                 ORGIMPORT_TENANT), or --token-url; to rehearse, use --sandbox"
                    .into(),
            ));
        }
    };
    let tenant = match &args.tenant {
        Some(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => token_url
            .as_ref()
            .and_then(|t| t.path_segments()?.next().map(str::to_string))
            .filter(|t| !t.is_empty())
            .or_else(|| tenant_from_host(&base_url))
            .ok_or_else(|| {
                Error::Config(format!(
                    "cannot tell the tenant id from {base_url}: set --tenant or ORGIMPORT_TENANT"
                ))
            })?,
    };
    let client_id = args
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            Error::Config("no client id: set --client-id or ORGIMPORT_CLIENT_ID".into())
        })?;
    let secret = read_secret(args.client_secret_file.as_deref())?.ok_or_else(|| {
        Error::Config(format!(
            "no client secret: set {SECRET_ENV} or pass --client-secret-file PATH \
             (it is never taken as a flag, so it stays out of shell history and process lists)"
        ))
    })?;
    let auth = match args.client_auth {
        ClientAuthArg::Post => ClientAuth::Post,
        ClientAuthArg::Basic => ClientAuth::Basic,
    };
    let mut tenant = Tenant::new(base_url, &tenant, client_id, secret, &args.scope, auth);
    if let Some(t) = token_url {
        tenant.credentials.token_url = t;
    }
    Ok(tenant)
}

/// `https://acme.us.connect.secureauth.com` → `acme`.
fn tenant_from_host(base: &Url) -> Option<String> {
    let host = base.host_str()?;
    let labels: Vec<&str> = host.split('.').collect();
    (labels.len() >= 3
        && base
            .host()
            .is_some_and(|h| matches!(h, url::Host::Domain(_))))
    .then(|| labels[0].to_string())
}

/// `{base}/{tenant}/system/oauth2/token`.
fn derive_token_url(base: &Url, tenant: &str) -> Url {
    let mut url = base.clone();
    url.path_segments_mut()
        .expect("an http(s) URL has path segments")
        .pop_if_empty()
        .extend([tenant, "system", "oauth2", "token"]);
    url
}

/// The secret from `file` when given, else from the environment; `None` when neither.
pub(crate) fn read_secret(file: Option<&Path>) -> Result<Option<SecretString>, Error> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let secret = text.trim_end_matches(['\r', '\n']);
        if secret.is_empty() {
            return Err(Error::Config(format!(
                "--client-secret-file {} is empty",
                path.display()
            )));
        }
        return Ok(Some(SecretString::from(secret.to_string())));
    }
    Ok(std::env::var(SECRET_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .map(SecretString::from))
}

/// The sandbox settings from `orgimport sandbox` arguments.
///
/// # Errors
/// [`Error`] when the secret file cannot be read.
pub fn sandbox_config(args: &SandboxArgs) -> Result<SandboxConfig, Error> {
    let mut config = SandboxConfig {
        tenant: args.tenant.clone(),
        template_id: args.template_id.clone(),
        token_lifetime: args.token_lifetime,
        expires_in_as_string: !args.expires_in_number,
        rate_limit: args.rate_limit.map(|rate| RateLimit {
            per_second: NonZeroU32::new(rate.per_second().ceil() as u32).unwrap_or(NonZeroU32::MIN),
            burst: args.rate_limit_burst.unwrap_or(
                NonZeroU32::new(rate.per_second().ceil() as u32).unwrap_or(NonZeroU32::MIN),
            ),
        }),
        faults: Faults {
            seed: args.seed,
            error_rate: args.fail_rate,
            commit_then_fail_rate: args.commit_then_fail_rate,
            latency: args.latency,
            latency_jitter: args.latency_jitter,
            slow_commit_rate: args.slow_commit_rate,
            slow_commit_delay: args.slow_commit_delay,
            forbidden_burst_rate: args.forbidden_rate,
        },
        ..SandboxConfig::default()
    };
    if let Some(id) = &args.client_id {
        config.client_id = id.clone();
    }
    if let Some(secret) = read_secret(args.client_secret_file.as_deref())? {
        config.client_secret = secret;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_url_is_derived_from_base_and_tenant() {
        let base = Url::parse("https://acme.us.connect.secureauth.com").unwrap();
        assert_eq!(
            derive_token_url(&base, "acme").as_str(),
            "https://acme.us.connect.secureauth.com/acme/system/oauth2/token"
        );
        assert_eq!(tenant_from_host(&base).as_deref(), Some("acme"));
        assert_eq!(
            tenant_from_host(&Url::parse("http://127.0.0.1:8080").unwrap()),
            None
        );
    }

    #[test]
    fn default_results_sit_beside_the_input() {
        assert_eq!(
            default_results_path(Path::new("data/customers.csv")),
            PathBuf::from("data/customers.results.csv")
        );
    }

    #[test]
    fn default_burst_is_a_tenth_of_a_second() {
        let rate = crate::cli::parse_rate("100").unwrap();
        assert_eq!(default_burst(rate).get(), 10);
        let slow = crate::cli::parse_rate("60/m").unwrap();
        assert_eq!(default_burst(slow).get(), 1);
    }
}
