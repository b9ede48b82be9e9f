//! The JSON the System API exchanges, as `API.md` describes it: the create request, the
//! organization reply, the error bodies and the token reply.
//!
//! In every reply, a field that is absent, `null` or `""` means "none": the product doc's
//! example reply writes unset strings as `""` (`"color": ""`), and a root organization's
//! `parent_id` may come back as `""` ([`empty`]).

mod empty;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use empty::{default_if_empty, none_if_empty};

/// The body of `POST /api/system/{tenant}/organizations`.
///
/// Empty optional fields are left out of the JSON rather than sent as `""` or `[]`, so the
/// server's own defaults (and the template's) apply. Read back as written: planning keeps
/// the requests it built as JSON until they are sent ([`crate::planning::Requests`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateOrganization {
    /// The permanent organization id; the server draws a random one when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The organization's name (the doc's unique identifier, the spec's display name).
    pub name: String,
    /// The doc's human-readable name; not in the spec, sent because the doc lists it.
    #[serde(rename = "displayName", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A description of the organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The doc's contact email; not in the spec, sent because the doc lists it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The label color, `#RRGGBB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Email domains used for identity-provider discovery.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// The parent organization's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The template whose configuration the new organization inherits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// Custom business attributes, sent as `metadata.payload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// An organization's `metadata`: the values (`payload`) and, on templates, their schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// The business attributes.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub payload: Map<String, Value>,
    /// The JSON schema the payload follows (set by a template; not sent by the importer).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "none_if_empty"
    )]
    pub schema: Option<Value>,
}

/// The fields of an `OrganizationResponse` the importer reads: the spec's `Org` fields, which
/// are also what an update sends back. Unknown fields are ignored; `null` and `""` read as
/// empty.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Organization {
    /// The organization id.
    pub id: String,
    /// Its name.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub name: String,
    /// Its parent's id, if any (`""` is none: a root organization).
    #[serde(default, deserialize_with = "none_if_empty")]
    pub parent_id: Option<String>,
    /// Whether it is a template.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub template: bool,
    /// Its description.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub description: String,
    /// Its label color.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub color: String,
    /// Its email domains.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub domains: Vec<String>,
    /// Its business attributes and their schema.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub metadata: Metadata,
    /// Its sign-in methods, kept as the API wrote them so an update sends them back unchanged.
    #[serde(default, deserialize_with = "none_if_empty")]
    pub authentication_mechanisms: Option<Vec<String>>,
    /// Whether it is switched off.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub deactivated: bool,
    /// The version it was read at: the reply's `ETag` header, when it was read alone (a get)
    /// and the server sent one. Never part of a body.
    #[serde(skip)]
    pub etag: Option<String>,
}

/// The body of `PUT /api/system/{tenant}/organizations/{id}`: the spec's `Org`, whole, since a
/// PUT replaces the organization's fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateOrganization {
    /// The organization id (unchanged).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its label color.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub color: String,
    /// Its email domains.
    pub domains: Vec<String>,
    /// Its parent's id, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Its business attributes and their schema.
    pub metadata: Metadata,
    /// Its sign-in methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_mechanisms: Option<Vec<String>>,
    /// Whether it is switched off.
    pub deactivated: bool,
    /// Whether it is a template.
    pub template: bool,
}

/// The reply of `GET /organizations`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OrganizationList {
    /// One page of organizations, ordered by id.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub organizations: Vec<Organization>,
}

/// The System API's error body: `{status_code, error, error_code, details}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ApiErrorBody {
    /// The human-readable error.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub error: String,
    /// The machine-readable code, e.g. `invalid_access_token` or `request_forbidden`.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub error_code: String,
}

/// A successful reply of the token endpoint. `Debug` never shows the token.
#[derive(Deserialize)]
pub(crate) struct TokenReply {
    /// The bearer token.
    pub access_token: String,
    /// Its lifetime in seconds: a string in the doc (`"3600"`), an integer in the spec.
    #[serde(default, deserialize_with = "seconds_from_string_or_number")]
    pub expires_in: Option<u64>,
    /// The scopes granted, space-separated (`None`, as absent, for `""`).
    #[serde(default, deserialize_with = "none_if_empty")]
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenReply")
            .field("access_token", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// An RFC 6749 error reply of the token endpoint.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OAuthErrorBody {
    /// The error code, e.g. `invalid_client`.
    #[serde(default, deserialize_with = "default_if_empty")]
    pub error: String,
    /// The explanation.
    #[serde(default, deserialize_with = "none_if_empty")]
    pub error_description: Option<String>,
}

fn seconds_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(f64),
        Text(String),
    }
    match Option::<Seconds>::deserialize(d)? {
        None => Ok(None),
        // `""` is none, as in every reply: the default lifetime.
        Some(Seconds::Text(s)) if s.trim().is_empty() => Ok(None),
        // A negative lifetime is read as 0, which the token source clamps with a warning.
        Some(Seconds::Number(n)) if n.is_finite() => Ok(Some(n.max(0.0) as u64)),
        Some(Seconds::Text(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| Some(n.max(0.0) as u64))
            .ok_or_else(|| serde::de::Error::custom(format!("expires_in {s:?} is not a number"))),
        Some(Seconds::Number(n)) => Err(serde::de::Error::custom(format!(
            "expires_in {n} is not a lifetime"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_read_as_string_or_number() {
        let text: TokenReply =
            serde_json::from_str(r#"{"access_token":"t","expires_in":"3600"}"#).unwrap();
        assert_eq!(text.expires_in, Some(3600));
        let number: TokenReply =
            serde_json::from_str(r#"{"access_token":"t","expires_in":120}"#).unwrap();
        assert_eq!(number.expires_in, Some(120));
        let absent: TokenReply = serde_json::from_str(r#"{"access_token":"t"}"#).unwrap();
        assert_eq!(absent.expires_in, None);
        assert!(!format!("{text:?}").contains("\"t\""), "{text:?}");
        assert!(
            serde_json::from_str::<TokenReply>(r#"{"access_token":"t","expires_in":"soon"}"#)
                .is_err()
        );
    }

    #[test]
    fn an_empty_string_in_a_reply_is_none() {
        // The product doc's example reply, with a root's `parent_id` written as `""`.
        let org: Organization = serde_json::from_str(
            r#"{"id":"c74c","name":"acme-corp-001","description":"","parent_id":"",
                "color":"","metadata":{"payload":{"region":"NA"},"schema":""},
                "domains":null,"authentication_mechanisms":"","deactivated":false,
                "theme_id":null,"subject_format":"","template":false}"#,
        )
        .unwrap();
        assert_eq!(org.parent_id, None);
        assert_eq!(org.authentication_mechanisms, None);
        assert_eq!(org.metadata.schema, None);
        assert_eq!(org.metadata.payload["region"], "NA");
        assert_eq!((org.description.as_str(), org.color.as_str()), ("", ""));
        let child: Organization = serde_json::from_str(r#"{"id":"c","parent_id":"p"}"#).unwrap();
        assert_eq!(child.parent_id.as_deref(), Some("p"));
        let listed: OrganizationList =
            serde_json::from_str(r#"{"organizations":[{"id":"r","parent_id":""}]}"#).unwrap();
        assert_eq!(listed.organizations[0].parent_id, None);

        let token: TokenReply =
            serde_json::from_str(r#"{"access_token":"t","expires_in":"","scope":""}"#).unwrap();
        assert_eq!((token.expires_in, token.scope), (None, None));
        let refused: OAuthErrorBody =
            serde_json::from_str(r#"{"error":"invalid_client","error_description":""}"#).unwrap();
        assert_eq!(refused.error_description, None);
    }

    #[test]
    fn empty_fields_are_left_out_of_the_request() {
        let body = CreateOrganization {
            name: "acme".into(),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"name":"acme"}"#);
    }
}
