//! Where the tenant is and how to get a token: the connection settings as the layers give
//! them, and the [`Tenant`] they describe once its URLs are derived and its secret is read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::Error;
use crate::api::{ClientAuth, Credentials, proxy_for};
use crate::cli::{ClientAuthArg, ConnectionArgs};
use crate::record::TenantMark;
use crate::settings::layers::{Environment, Layers};
use crate::settings::profile::{
    ALLOW_INSECURE_HTTP, BASE_URL, CLIENT_ID, CLIENT_SECRET_FILE, DEFAULT_SCOPE, SCOPE, TENANT,
    TOKEN_URL,
};

/// The environment variable holding the client secret.
pub const SECRET_ENV: &str = "ORGIMPORT_CLIENT_SECRET";

/// The connection settings, each from its flag, environment variable, profile or default;
/// nothing derived or read yet.
#[derive(Debug, Clone)]
pub struct Connection {
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--tenant`.
    pub tenant: Option<String>,
    /// `--token-url`.
    pub token_url: Option<String>,
    /// `--client-id`.
    pub client_id: Option<String>,
    /// `--client-secret-file`: where the secret is.
    pub client_secret_file: Option<PathBuf>,
    /// What named [`Connection::client_secret_file`] (`--client-secret-file`, `env
    /// ORGIMPORT_CLIENT_SECRET_FILE`, the settings file), for messages about the file.
    pub client_secret_file_from: Option<String>,
    /// `ORGIMPORT_CLIENT_SECRET`, used when no secret file is named.
    pub secret_from_env: Option<SecretString>,
    /// `--scope`.
    pub scope: String,
    /// `--client-auth`.
    pub client_auth: ClientAuth,
    /// `--timeout`: how long to wait for one reply.
    pub timeout: Duration,
    /// `--allow-insecure-http`: plain http to a host other than this machine is allowed.
    pub allow_insecure_http: bool,
}

impl Connection {
    /// The connection settings: `args` over the environment over the profile over defaults.
    ///
    /// # Errors
    /// [`Error::Config`] when an environment variable is malformed.
    pub fn resolve(args: ConnectionArgs, layers: &mut Layers) -> Result<Connection, Error> {
        Ok(Connection {
            base_url: layers.get(&BASE_URL, args.base_url)?,
            tenant: layers.get(&TENANT, args.tenant)?,
            token_url: layers.get(&TOKEN_URL, args.token_url)?,
            client_id: layers.get(&CLIENT_ID, args.client_id)?,
            client_secret_file: layers.get(&CLIENT_SECRET_FILE, args.client_secret_file)?,
            client_secret_file_from: layers.given_by(&CLIENT_SECRET_FILE),
            secret_from_env: secret_from_env(layers.env()),
            scope: layers.get_or(&SCOPE, args.scope, DEFAULT_SCOPE.to_string())?,
            client_auth: match args.client_auth {
                ClientAuthArg::Post => ClientAuth::Post,
                ClientAuthArg::Basic => ClientAuth::Basic,
            },
            timeout: args.timeout,
            allow_insecure_http: layers.get_or(
                &ALLOW_INSECURE_HTTP,
                args.allow_insecure_http.then_some(true),
                false,
            )?,
        })
    }

    /// Where the tenant these settings describe is: the URLs and tenant id derived from one
    /// another.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix.
    pub fn address(&self) -> Result<Address, Error> {
        let parse = |flag: &str, text: &str| -> Result<Url, Error> {
            let shown = without_credentials(text);
            let url = Url::parse(text.trim())
                .map_err(|e| Error::Config(format!("{flag} {shown:?} is not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(Error::Config(format!(
                    "{flag} {shown:?} must be an http(s) URL with a host"
                )));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(Error::Config(format!(
                    "{flag} {shown:?} holds a user name or a password, and a URL never carries \
                     credentials (they would be printed and sent as they are); give the URL \
                     without them, the client id with --client-id (ORGIMPORT_CLIENT_ID) and \
                     the secret in {SECRET_ENV} or a file named by --client-secret-file"
                )));
            }
            Ok(url)
        };
        let token_url = self
            .token_url
            .as_deref()
            .map(|t| parse("--token-url", t))
            .transpose()?;
        let base_url = match (&self.base_url, &token_url) {
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
                     ORGIMPORT_TENANT), or --token-url"
                        .into(),
                ));
            }
        };
        let tenant = match &self.tenant {
            Some(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ => token_url
                .as_ref()
                .and_then(|t| t.path_segments()?.next().map(str::to_string))
                .filter(|t| !t.is_empty())
                .or_else(|| tenant_from_host(&base_url))
                .ok_or_else(|| {
                    Error::Config(format!(
                        "cannot tell the tenant id from {base_url}: set --tenant or \
                         ORGIMPORT_TENANT"
                    ))
                })?,
        };
        let token_url = token_url.unwrap_or_else(|| derive_token_url(&base_url, &tenant));
        Ok(Address {
            base_url,
            tenant,
            token_url,
        })
    }

    /// The tenant these settings describe: its [`address`](Connection::address), the client
    /// id, and the secret read from the secret file, else the environment.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix; the secret file's read error.
    pub fn tenant(&self) -> Result<Tenant, Error> {
        let Address {
            base_url,
            tenant,
            token_url,
        } = self.address()?;
        let client_id = self
            .client_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                Error::Config("no client id: set --client-id or ORGIMPORT_CLIENT_ID".into())
            })?;
        let secret = match &self.client_secret_file {
            Some(path) => Some(read_secret_file(
                path,
                self.client_secret_file_from
                    .as_deref()
                    .unwrap_or("--client-secret-file"),
            )?),
            None => self.secret_from_env.clone(),
        };
        let secret = secret.ok_or_else(|| {
            Error::Config(format!(
                "no client secret: set {SECRET_ENV} or pass --client-secret-file PATH \
                 (it is never taken as a flag, so it stays out of shell history and process \
                 lists)"
            ))
        })?;
        let mut tenant = Tenant::new(
            base_url,
            &tenant,
            client_id,
            secret,
            &self.scope,
            self.client_auth,
        );
        tenant.credentials.token_url = token_url;
        for (flag, url) in [
            ("--base-url", &tenant.base_url),
            ("--token-url", &tenant.credentials.token_url),
        ] {
            self.check_transport(flag, url)?;
        }
        Ok(tenant)
    }

    /// Refuses plain http to a host that is not this machine (a loopback address or
    /// `localhost`), or to any host through a proxy (which the environment may name even for
    /// this machine), unless `--allow-insecure-http` says so; then warns, as the client secret
    /// and the tokens cross the network in clear.
    ///
    /// # Errors
    /// [`Error::Config`] naming `flag` and the way out.
    fn check_transport(&self, flag: &str, url: &Url) -> Result<(), Error> {
        if url.scheme() != "http" {
            return Ok(());
        }
        let proxy = proxy_for(url);
        if proxy.is_none() && is_loopback(url) {
            return Ok(());
        }
        let host = url.host_str().unwrap_or_default();
        // Without user info, which may hold a credential.
        let mut url = url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let (whither, fix) = match &proxy {
            Some(proxy) => (
                format!("to {host} through the proxy {proxy} (from HTTP_PROXY or ALL_PROXY)"),
                "use https, list the host in NO_PROXY, or pass",
            ),
            None => (
                format!("to {host}, which is not this machine"),
                "use https, or pass",
            ),
        };
        if !self.allow_insecure_http {
            return Err(Error::Config(format!(
                "{flag} {url} is plain http {whither}: the client secret and the tokens would \
                 cross the network in clear; {fix} --allow-insecure-http \
                 (ORGIMPORT_ALLOW_INSECURE_HTTP=1) to send them anyway"
            )));
        }
        eprintln!(
            "warning: {flag} {url} is plain http {whither}: the client secret and the tokens \
             cross the network in clear (--allow-insecure-http)"
        );
        Ok(())
    }
}

/// `text`, a URL as given, without the user name and password it may hold (`user:pw@`
/// replaced by `***@`), for messages and `config`; anything else unchanged.
pub(crate) fn without_credentials(text: &str) -> String {
    let Some(scheme_end) = text.find("://").map(|i| i + 3) else {
        return text.to_string();
    };
    let rest = &text[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..scheme_end], &rest[at..]),
        None => text.to_string(),
    }
}

/// Where a tenant is: its URLs and id, derived from one another; no credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The base URL, e.g. `https://acme.us.connect.secureauth.com`.
    pub base_url: Url,
    /// The tenant id.
    pub tenant: String,
    /// The token endpoint.
    pub token_url: Url,
}

/// Where the organizations are created.
#[derive(Debug, Clone)]
pub enum Target {
    /// A real tenant.
    Tenant(Box<Tenant>),
    /// The built-in sandbox, started for the run on a free port.
    Sandbox,
}

impl Target {
    /// How a results file names the target: every `--sandbox` run's sandbox is one.
    pub fn mark(&self) -> TenantMark {
        match self {
            Target::Tenant(tenant) => tenant.mark(),
            Target::Sandbox => TenantMark::sandbox(),
        }
    }
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
    /// How a results file names this tenant.
    pub fn mark(&self) -> TenantMark {
        TenantMark::tenant(&self.base_url, &self.tenant)
    }

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

/// Whether `url`'s host is this machine: `localhost`, 127.0.0.0/8 or `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
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

/// The secret in `ORGIMPORT_CLIENT_SECRET`, when it is set and not empty.
pub(crate) fn secret_from_env(env: &Environment) -> Option<SecretString> {
    env.get(SECRET_ENV)
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.to_string()))
}

/// How long a secret file may be, in bytes: a secret is far shorter.
const MAX_SECRET_FILE: u64 = 64 << 10;

/// The secret in the file at `path`: its one line, without the line end. Whitespace around it
/// (spaces, tabs, a CR of a Windows line end, blank lines, a byte-order mark) is taken off
/// with a warning, as no secret starts or ends with it and an editor adds it unseen.
///
/// # Errors
/// The file's read error; [`Error::Config`] when it is not a regular file, larger than 64 KiB,
/// not UTF-8, empty, holds more than one line or a control character in the secret. No
/// message shows the secret. `from` is what named the file (`--client-secret-file`, `env
/// ORGIMPORT_CLIENT_SECRET_FILE`, the settings file), for the messages to name it.
pub(crate) fn read_secret_file(path: &Path, from: &str) -> Result<SecretString, Error> {
    use std::io::Read as _;
    let flag = match from {
        "--client-secret-file" => format!("--client-secret-file {}", path.display()),
        from => format!("{} (the secret file named by {from})", path.display()),
    };
    let refuse = |why: &str| Error::Config(format!("{flag} {why}"));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO does not block the open (it is refused just below).
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| Error::io(path, e))?;
    if !file.metadata().map_err(|e| Error::io(path, e))?.is_file() {
        return Err(refuse(
            "is not a regular file (a device, a FIFO or a directory), and the secret is read \
             only from one",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(refuse(&format!(
            "is larger than {} KiB: it is not a secret file",
            MAX_SECRET_FILE >> 10
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| refuse("is not UTF-8 text"))?;
    let (secret, trimmed) = secret_in(&text).map_err(refuse)?;
    if secret.chars().any(char::is_control) {
        return Err(refuse(
            "holds a control character (NUL, a tab, an escape...) in the secret, which no \
             secret has; write the secret alone, as text",
        ));
    }
    if trimmed {
        eprintln!(
            "warning: {flag}: whitespace around the secret (spaces, tabs, a Windows line end, \
             blank lines or a byte-order mark) was taken off; the secret is the rest of the line"
        );
    }
    Ok(SecretString::from(secret.to_string()))
}

/// The secret in a secret file's `text`, and whether anything but one final line end was
/// taken off around it.
///
/// # Errors
/// Why `text` holds no secret, or more than one line.
fn secret_in(text: &str) -> Result<(&str, bool), &'static str> {
    let blank = |c: char| c.is_whitespace() || c == '\u{feff}';
    let mut lines = text
        .lines()
        .filter(|line| !line.trim_matches(blank).is_empty());
    let Some(line) = lines.next() else {
        return Err("is empty");
    };
    if lines.next().is_some() {
        return Err(
            "holds more than one line; it must hold the secret alone, on one line (nothing \
             else: no name, no comment)",
        );
    }
    let secret = line.trim_matches(blank);
    let as_written = text.strip_suffix('\n').unwrap_or(text);
    Ok((secret, secret != as_written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_holds_one_line_whose_surrounding_whitespace_is_taken_off() {
        assert_eq!(secret_in("s3cr et\n"), Ok(("s3cr et", false)));
        assert_eq!(secret_in("s3cr et"), Ok(("s3cr et", false)));
        for text in [
            "s3cr et\r\n",
            "  s3cr et\t\n",
            "\u{feff}s3cr et",
            "\ns3cr et\n\n",
        ] {
            assert_eq!(secret_in(text), Ok(("s3cr et", true)), "{text:?}");
        }
        assert_eq!(secret_in(" \r\n\n"), Err("is empty"));
        assert!(
            secret_in("s3cret\nsecond\n")
                .unwrap_err()
                .contains("more than one line")
        );
        assert!(
            secret_in("s3cret\r\nx")
                .unwrap_err()
                .contains("more than one line")
        );
    }

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
}
