//! Organizations as the sandbox keeps and shows them, and the create request that makes one.
//!
//! Choices where the vendor publishes nothing (see `API.md`, "Open questions"):
//! - Strings follow the vendor's Go server: an empty string is the same as an absent field, so
//!   `"id": ""` gets a random id and `"parent_id": ""` means no parent. `null` is also absent.
//! - An id is 1 to 255 of `[A-Za-z0-9_.-]`; anything else is 422 `invalid_request`.
//! - `name` is required (the product doc marks it so) and must not be blank: 422. Names need not
//!   be unique.
//! - Unknown fields (the doc's `displayName`, `email`) are accepted and dropped, and so are
//!   unknown keys inside `metadata`: business attributes count only under `metadata.payload`.
//! - `payload` is not validated against the schema.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::config::SandboxConfig;
use super::reply::ApiError;

/// The longest organization id accepted (the spec's `serverID` format publishes no limit).
const MAX_ID_LEN: usize = 255;

/// An organization as the sandbox stores it: the spec's `OrganizationResponse` less
/// `issuer_url`, which depends on the host a client used and is added when it is sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Organization {
    /// Permanent unique identifier; the key of lists and pages.
    pub id: String,
    /// Display name; not unique.
    pub name: String,
    /// Display description.
    pub description: String,
    /// Label colour as the client sent it (`""` when none, as the doc's example shows).
    pub color: String,
    /// The parent organization, if any; omitted from JSON when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Business attributes and the schema they follow.
    pub metadata: Metadata,
    /// Email domains for IdP discovery; `null` when the client sent none.
    pub domains: Option<Vec<String>>,
    /// Allowed sign-in methods; `null` when neither the client nor a template gave any.
    pub authentication_mechanisms: Option<Vec<AuthenticationMechanism>>,
    /// Whether the organization is switched off.
    pub deactivated: bool,
    /// Whether new organizations may be created from this one (`template_id`).
    pub template: bool,
    /// Theme; always `null` here as the sandbox has no themes (written by
    /// [`OrganizationResponse`], which may write it `""`).
    #[serde(skip_serializing)]
    pub theme_id: Option<String>,
    /// Subject format; `""` as in the doc's example.
    pub subject_format: String,
    /// Subject salt; `""` as in the doc's example.
    pub subject_identifier_algorithm_salt: String,
    /// How many organizations name this one as `parent_id`.
    pub number_of_child_organizations: u64,
    /// The version its `ETag` header names: set by the store on every write (a new value
    /// each time, never reused), never part of a body.
    #[serde(skip)]
    pub version: u64,
}

impl Organization {
    /// A plain organization with this id and name and every other field empty.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Organization {
        Organization {
            id: id.into(),
            name: name.into(),
            ..Organization::default()
        }
    }

    /// The template the sandbox seeds: password, TOTP and WebAuthn sign-in, and a schema for
    /// the business attributes of the product doc's example.
    pub(crate) fn seed_template(id: &str) -> Organization {
        let schema = json!({
            "type": "object",
            "properties": {
                "salesforceId": {"type": "string"},
                "orgEntitlements": {"type": "array", "items": {"type": "string"}},
                "region": {"type": "string"}
            }
        });
        Organization {
            template: true,
            authentication_mechanisms: Some(vec![
                AuthenticationMechanism::Password,
                AuthenticationMechanism::Totp,
                AuthenticationMechanism::Webauthn,
            ]),
            metadata: Metadata {
                payload: Map::new(),
                schema: Arc::new(object(schema)),
            },
            ..Organization::new(id, "B2B customer template")
        }
    }

    /// The `ETag` header naming this version of the organization: a strong entity tag.
    pub(crate) fn etag(&self) -> String {
        format!("\"{:x}\"", self.version)
    }

    /// The organization as the API sends it, with its issuer URL under `base`
    /// (`{base}/{tenant}/{id}`), its unset strings as `config` says
    /// ([`SandboxConfig::unset_strings_as_empty`]).
    pub(crate) fn to_response<'a>(
        &'a self,
        base: &str,
        config: &SandboxConfig,
    ) -> OrganizationResponse<'a> {
        let empty = config.unset_strings_as_empty;
        OrganizationResponse {
            org: self,
            issuer_url: format!("{base}/{}/{}", config.tenant, self.id),
            root_parent_id: (empty && self.parent_id.is_none()).then_some(""),
            theme_id: self.theme_id.as_deref().or_else(|| empty.then_some("")),
        }
    }
}

/// An organization on the wire: the stored fields plus `issuer_url`.
#[derive(Debug, Serialize)]
pub(crate) struct OrganizationResponse<'a> {
    /// The stored organization.
    #[serde(flatten)]
    org: &'a Organization,
    /// `{base}/{tenant}/{id}`, from the host the client called.
    issuer_url: String,
    /// `"parent_id": ""` for a root, when unset strings are written `""` (else a root has no
    /// `parent_id`).
    #[serde(rename = "parent_id", skip_serializing_if = "Option::is_none")]
    root_parent_id: Option<&'static str>,
    /// The theme: `null`, or `""` when unset strings are written so.
    theme_id: Option<&'a str>,
}

/// The spec's `OrganizationsResponse`: one page of a list.
#[derive(Debug, Serialize)]
pub(crate) struct OrganizationsResponse<'a> {
    /// The organizations, in id order.
    pub(crate) organizations: Vec<OrganizationResponse<'a>>,
}

/// The spec's `ServerMetadata`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// The organization's business attributes.
    pub payload: Map<String, Value>,
    /// JSON schema of `payload`; inherited from the template when the request gives none,
    /// shared with it (a create copies a pointer, not the schema).
    pub schema: Arc<Map<String, Value>>,
}

/// The sign-in methods the spec enumerates; any other value is refused with 422.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticationMechanism {
    /// Time-based one-time password.
    Totp,
    /// Password.
    Password,
    /// One-time password.
    Otp,
    /// One-time password by email.
    EmailOtp,
    /// One-time password by SMS.
    SmsOtp,
    /// WebAuthn / passkeys.
    Webauthn,
}

/// The spec's `CreateOrganizationRequest`, read leniently (see the module docs).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateOrganizationRequest {
    /// Requested id; random when absent.
    id: Option<String>,
    /// Display name; required here.
    name: Option<String>,
    /// Display description.
    description: Option<String>,
    /// Label colour.
    color: Option<String>,
    /// Email domains.
    domains: Option<Vec<String>>,
    /// Sign-in methods; inherited from the template when absent or empty.
    authentication_mechanisms: Option<Vec<AuthenticationMechanism>>,
    /// Business attributes and schema.
    metadata: Option<MetadataRequest>,
    /// Parent organization; must exist.
    parent_id: Option<String>,
    /// Make the new organization a template.
    template: Option<bool>,
    /// Template to inherit from; must exist and be a template.
    template_id: Option<String>,
    /// Create switched off.
    deactivated: Option<bool>,
}

/// `metadata` of a create request; either part may be absent.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MetadataRequest {
    /// Business attributes.
    payload: Option<Map<String, Value>>,
    /// Schema; inherited from the template when absent or empty.
    schema: Option<Map<String, Value>>,
}

/// A create request that is well formed; what it refers to is checked by the store.
#[derive(Debug)]
pub(crate) struct NewOrganization {
    /// The organization to insert; `id` is empty when the server must choose one.
    pub(crate) org: Organization,
    /// The template to inherit from, if any.
    pub(crate) template_id: Option<String>,
}

impl NewOrganization {
    /// Reads a create request body.
    ///
    /// Errors: malformed JSON is 400 `bad_request`; JSON of the wrong shape (a number for
    /// `name`, an unknown authentication mechanism), a bad id or a blank name is 422
    /// `invalid_request`.
    pub(crate) fn parse(body: &[u8]) -> Result<NewOrganization, ApiError> {
        let req: CreateOrganizationRequest = serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                ApiError::Invalid {
                    field: "body",
                    reason: e.to_string(),
                }
            } else {
                ApiError::BadRequest(format!("malformed JSON body: {e}"))
            }
        })?;
        let id = non_empty(req.id).unwrap_or_default();
        if !id.is_empty() {
            check_id(&id).map_err(|reason| ApiError::Invalid {
                field: "id",
                reason,
            })?;
        }
        let name = non_empty(req.name)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiError::Invalid {
                field: "name",
                reason: "name is required".to_owned(),
            })?;
        let metadata = req.metadata.unwrap_or_default();
        let org = Organization {
            id,
            name,
            description: req.description.unwrap_or_default(),
            color: req.color.unwrap_or_default(),
            parent_id: non_empty(req.parent_id),
            metadata: Metadata {
                payload: metadata.payload.unwrap_or_default(),
                schema: Arc::new(metadata.schema.unwrap_or_default()),
            },
            domains: req.domains,
            authentication_mechanisms: req.authentication_mechanisms.filter(|m| !m.is_empty()),
            deactivated: req.deactivated.unwrap_or(false),
            template: req.template.unwrap_or(false),
            ..Organization::default()
        };
        Ok(NewOrganization {
            org,
            template_id: non_empty(req.template_id),
        })
    }
}

/// Checks an organization id: 1 to 255 of `[A-Za-z0-9_.-]`; the error says what is wrong.
fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!(
            "id must be 1 to {MAX_ID_LEN} characters, not {}",
            id.len()
        ));
    }
    match id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        Some(c) => Err(format!(
            "id may hold only letters, digits, '_', '.' and '-', not {c:?}"
        )),
        None => Ok(()),
    }
}

/// `None` for an absent or empty string, as the vendor's Go server reads it.
fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// The members of a JSON object literal (empty for anything else).
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(check_id("acme-corp_001.eu").is_ok());
        assert!(check_id(&"a".repeat(255)).is_ok());
        assert!(check_id(&"a".repeat(256)).is_err());
        assert!(check_id("acme corp").is_err());
        assert!(check_id("acmé").is_err());
    }

    #[test]
    fn empty_strings_are_absent_and_unknown_fields_ignored() {
        let new = NewOrganization::parse(
            br#"{"id":"","name":"Acme","parent_id":"","template_id":"","displayName":"x","email":"a@b"}"#,
        )
        .unwrap();
        assert_eq!(new.org.id, "");
        assert_eq!(new.org.parent_id, None);
        assert_eq!(new.template_id, None);
    }

    #[test]
    fn bad_bodies_are_400_or_422() {
        let code = |body: &[u8]| NewOrganization::parse(body).unwrap_err().status().as_u16();
        assert_eq!(code(b"{not json"), 400);
        assert_eq!(code(b""), 400);
        assert_eq!(code(br#"{"name":5}"#), 422);
        assert_eq!(code(br#"{"name":"  "}"#), 422);
        assert_eq!(code(br#"{"description":"no name"}"#), 422);
        assert_eq!(
            code(br#"{"name":"a","authentication_mechanisms":["sms"]}"#),
            422
        );
        assert_eq!(code(br#"{"name":"a","id":"a/b"}"#), 422);
    }
}
