//! The field a column most likely feeds, from its header: the field's own name, or the name
//! a CRM or spreadsheet export gives it (Salesforce, HubSpot, Dynamics, a hand-made sheet).
//! A suggestion only: the console offers it, the user decides, and the mapping file written
//! names every column it uses.

/// What a header suggests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Suggestion {
    /// An organization field, by its name as the README spells it (`name`, `displayName` ...).
    Field(&'static str),
    /// A field fed with a transform of the column: `domains` from a Website column, its host.
    Host(&'static str),
    /// `metadata.<key>`.
    Metadata(String),
    /// Nothing: the column is not sent (it is kept in the results file).
    Ignore,
}

impl Suggestion {
    /// The choice as the page offers it: `name`, `domains`, `metadata.region`, `ignore`.
    pub(crate) fn as_choice(&self) -> String {
        match self {
            Suggestion::Field(f) | Suggestion::Host(f) => (*f).to_string(),
            Suggestion::Metadata(key) => format!("metadata.{key}"),
            Suggestion::Ignore => "ignore".to_string(),
        }
    }
}

/// Headers, compared without case, spaces or punctuation, and the field each feeds.
const ALIASES: &[(&str, Suggestion)] = &[
    ("name", Suggestion::Field("name")),
    ("accountname", Suggestion::Field("name")),
    ("account", Suggestion::Field("name")),
    ("company", Suggestion::Field("name")),
    ("companyname", Suggestion::Field("name")),
    ("organization", Suggestion::Field("name")),
    ("organisation", Suggestion::Field("name")),
    ("organizationname", Suggestion::Field("name")),
    ("organisationname", Suggestion::Field("name")),
    ("orgname", Suggestion::Field("name")),
    ("customer", Suggestion::Field("name")),
    ("customername", Suggestion::Field("name")),
    ("client", Suggestion::Field("name")),
    ("clientname", Suggestion::Field("name")),
    ("id", Suggestion::Field("id")),
    ("accountid", Suggestion::Field("id")),
    ("accountnumber", Suggestion::Field("id")),
    ("customerid", Suggestion::Field("id")),
    ("companyid", Suggestion::Field("id")),
    ("organizationid", Suggestion::Field("id")),
    ("orgid", Suggestion::Field("id")),
    ("recordid", Suggestion::Field("id")),
    ("externalid", Suggestion::Field("id")),
    ("displayname", Suggestion::Field("displayName")),
    ("tradingname", Suggestion::Field("displayName")),
    ("legalname", Suggestion::Field("displayName")),
    ("description", Suggestion::Field("description")),
    ("accountdescription", Suggestion::Field("description")),
    ("about", Suggestion::Field("description")),
    ("email", Suggestion::Field("email")),
    ("emailaddress", Suggestion::Field("email")),
    ("contactemail", Suggestion::Field("email")),
    ("primaryemail", Suggestion::Field("email")),
    ("color", Suggestion::Field("color")),
    ("colour", Suggestion::Field("color")),
    ("domains", Suggestion::Field("domains")),
    ("domain", Suggestion::Field("domains")),
    ("emaildomain", Suggestion::Field("domains")),
    ("emaildomains", Suggestion::Field("domains")),
    ("companydomain", Suggestion::Field("domains")),
    ("companydomainname", Suggestion::Field("domains")),
    ("website", Suggestion::Host("domains")),
    ("websiteurl", Suggestion::Host("domains")),
    ("web", Suggestion::Host("domains")),
    ("url", Suggestion::Host("domains")),
    ("parent", Suggestion::Field("parent")),
    ("parentaccount", Suggestion::Field("parent")),
    ("parentaccountid", Suggestion::Field("parent")),
    ("parentaccountname", Suggestion::Field("parent")),
    ("parentcompany", Suggestion::Field("parent")),
    ("parentorganization", Suggestion::Field("parent")),
    ("parentorganisation", Suggestion::Field("parent")),
    ("parentid", Suggestion::Field("parent_id")),
    ("parentorgid", Suggestion::Field("parent_id")),
    ("templateid", Suggestion::Field("template_id")),
    ("template", Suggestion::Field("template_id")),
];

/// Headers that feed a metadata key, compared as [`ALIASES`] are, and the key: only the
/// unmistakable ones (a CRM's record id, the industry, the sales region). A column the CLI
/// does not send without a mapping (an account owner, a phone, a tier, notes) is not
/// suggested either: the page sends what `orgimport import` sends, unless the user says more.
const METADATA: &[(&str, &str)] = &[
    ("salesforceid", "salesforceId"),
    ("sfdcid", "salesforceId"),
    ("hubspotid", "hubspotId"),
    ("recordidhubspot", "hubspotId"),
    ("industry", "industry"),
    ("sector", "industry"),
    ("region", "region"),
    ("salesregion", "region"),
];

/// `header` folded for comparison: lowercase letters and digits only.
fn folded(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The field `header` most likely feeds: a field's own name (or `metadata.<key>`) as the CLI
/// reads it without a mapping, then the aliases of CRM exports, else [`Suggestion::Ignore`].
pub(crate) fn suggest(header: &str) -> Suggestion {
    let trimmed = header.trim();
    if let Some(key) = trimmed
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case("metadata."))
        .map(|_| trimmed[9..].trim())
        .filter(|k| !k.is_empty())
    {
        return Suggestion::Metadata(key.to_string());
    }
    let folded = folded(trimmed);
    if folded.is_empty() {
        return Suggestion::Ignore;
    }
    if let Some((_, suggestion)) = ALIASES.iter().find(|(alias, _)| *alias == folded) {
        return suggestion.clone();
    }
    match METADATA.iter().find(|(alias, _)| *alias == folded) {
        Some((_, key)) => Suggestion::Metadata((*key).to_string()),
        None => Suggestion::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::{Suggestion, suggest};

    #[test]
    fn crm_headers_suggest_their_fields() {
        for (header, choice) in [
            ("name", "name"),
            ("Account Name", "name"),
            ("Company", "name"),
            ("company_name", "name"),
            ("Website", "domains"),
            ("Domain", "domains"),
            ("Email Domain(s)", "domains"),
            ("Parent Account", "parent"),
            ("Parent Account ID", "parent"),
            ("parent_id", "parent_id"),
            ("Account ID", "id"),
            ("Salesforce Id", "metadata.salesforceId"),
            ("Industry", "metadata.industry"),
            ("Region", "metadata.region"),
            ("Billing Country", "ignore"),
            ("displayName", "displayName"),
            ("E-mail", "email"),
            ("template_id", "template_id"),
            ("metadata.tier", "metadata.tier"),
            ("Account Owner", "ignore"),
            ("account_owner", "ignore"),
            ("notes", "ignore"),
            ("Phone", "ignore"),
            ("Favourite Biscuit", "ignore"),
            ("", "ignore"),
        ] {
            assert_eq!(suggest(header).as_choice(), choice, "{header:?}");
        }
        assert_eq!(suggest("Website"), Suggestion::Host("domains"));
    }
}
