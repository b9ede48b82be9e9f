//! What `transform = "..."` in a mapping file does to a column's value: `host` takes a web
//! address's host, `strip-www` drops a leading `www.`; and a value quoted in a message
//! without the password of a web address's userinfo.

/// What `transform = "..."` does to a column's value, item by item for a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// `host`: the host of a URL, lower-cased, without a leading `www.`:
    /// `https://www.Globex.com:443/path?q` is `globex.com`. A value with no scheme is taken as
    /// a URL without one (`www.globex.com/about` is `globex.com`); userinfo, port, path, query
    /// and fragment are dropped.
    Host,
    /// `strip-www`: the value without a leading `www.` (any case): `www.globex.com` is
    /// `globex.com`; nothing else changes.
    StripWww,
}

impl Transform {
    /// Every transform, by the name a mapping file gives it.
    pub const ALL: [(&'static str, Transform); 2] = [
        ("host", Transform::Host),
        ("strip-www", Transform::StripWww),
    ];

    /// `value` transformed: `None` when it is not empty and `host` finds no host in it
    /// (`https://`, `?q=1`, `https://bob@/x`), which the row must report, not drop.
    pub fn apply(self, value: &str) -> Option<String> {
        let value = value.trim();
        match self {
            Transform::StripWww => Some(strip_www(value).to_string()),
            Transform::Host if value.is_empty() => Some(String::new()),
            Transform::Host => host_of(value),
        }
    }
}

/// The host of a web address, lower-cased and without one leading `www.`, an international
/// name in the punycode form the API takes (`münchen.de` is `xn--mnchen-3ya.de`); `None` when
/// the address has no host. A value with no scheme is taken as an address without one, and
/// `//cdn.example.com/x` (scheme-relative) gives `cdn.example.com`.
fn host_of(value: &str) -> Option<String> {
    let host = authority(value).map_or("", |(_, host)| host);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let host = strip_www(host.trim_end_matches('.'));
    if host.is_empty() {
        return None;
    }
    Some(match url::Host::parse(host) {
        Ok(url::Host::Domain(domain)) => strip_www(&domain).to_string(),
        // An address or a name the URL rules refuse: kept as written, for the check to name.
        _ => host.to_ascii_lowercase(),
    })
}

/// Where the authority of `value` starts and its host part (with any port): after the
/// scheme's `://`, or a scheme-relative `//`, up to the path, query or fragment, less
/// userinfo. `None` when there is no authority.
fn authority(value: &str) -> Option<(usize, &str)> {
    let start = match value.find("://") {
        Some(i) => i + 3,
        None if value.starts_with("//") => 2,
        None => 0,
    };
    let rest = &value[start..];
    let authority = rest.split(['/', '?', '#']).next()?;
    Some((
        start,
        authority.rsplit_once('@').map_or(authority, |(_, h)| h),
    ))
}

/// `value` as messages may quote it: the password of a userinfo (`https://bob:hunter2@x`)
/// replaced with `***`, the rest as written.
pub(super) fn without_password(value: &str) -> String {
    let Some((start, _)) = authority(value) else {
        return value.to_string();
    };
    let rest = &value[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..end].rfind('@') else {
        return value.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!("{}{}:***{}", &value[..start], &rest[..colon], &rest[at..]),
        None => value.to_string(),
    }
}

/// `host` without one leading `www.`, in any case.
fn strip_www(host: &str) -> &str {
    match host.get(..4) {
        Some(www) if www.eq_ignore_ascii_case("www.") && host.len() > 4 => &host[4..],
        _ => host,
    }
}
