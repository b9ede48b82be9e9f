//! Whether a template id names a template of the tenant: the one rule that `import` (before it
//! sends anything), its dry run, `token` and `plan` apply to every template id the rows would
//! be sent with, so that a missing template stops the run instead of failing each of its rows
//! with `404 template not found`.

use crate::Error;
use crate::api::{ApiClient, Organization, RetryPolicy};
use crate::input::RowTemplates;
use crate::stop::Stop;

/// What is wrong with `found`, the organization a template id names (`None`: no such
/// organization), as a template for new organizations; `None` when it is one.
pub(crate) fn problem(found: Option<&Organization>) -> Option<&'static str> {
    match found {
        Some(org) if org.template => None,
        Some(_) => Some("is an organization, not a template (its `template` is false)"),
        None => Some("does not exist in this tenant"),
    }
}

/// What reading one template id found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It is a template of the tenant.
    Template,
    /// It is not usable: the [`problem`], or why it could not be read.
    Problem(String),
    /// Ctrl-C ended the read: no verdict (and nothing is sent anyway).
    Interrupted,
}

/// Reads the organization `id` names and judges it by [`problem`].
pub(crate) async fn judge(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    id: &str,
) -> Verdict {
    let read = policy
        .call(stop, "the template check", id, || client.get(id))
        .await;
    match read {
        Ok(found) => {
            problem(found.as_ref()).map_or(Verdict::Template, |p| Verdict::Problem(p.into()))
        }
        Err(gave_up) if gave_up.interrupted => Verdict::Interrupted,
        Err(gave_up) => {
            Verdict::Problem(format!("could not be read: {}", gave_up.into_row_error()))
        }
    }
}

/// Reads every template id the rows would be sent with (the default first), one request
/// each, and refuses the first that is not a template of the tenant. `default_from` says what
/// gave the default (`--template-id`, `env ORGIMPORT_TEMPLATE_ID`, the settings file), when a
/// setting did.
///
/// # Errors
/// [`Error::Template`] naming the id, what is wrong with it, and the rows that would be sent
/// with it ([`refusal`]).
pub(crate) async fn check(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    templates: &RowTemplates,
    default_from: Option<&str>,
) -> Result<(), Error> {
    for (id, _) in templates.to_check() {
        match judge(client, policy, stop, id).await {
            Verdict::Template => continue,
            Verdict::Interrupted => return Ok(()),
            Verdict::Problem(problem) => {
                // Rejected credentials are the run's error, not the template's.
                return Err(stop
                    .take_fatal()
                    .unwrap_or_else(|| refusal(templates, id, &problem, default_from)));
            }
        }
    }
    Ok(())
}

/// The error refusing the template `id` of `templates`, for `problem`: it names the rows that
/// would be sent with it, their count and first lines (`import`, its dry run and `plan` say
/// it alike), and, for the default template, what gave it (`default_from`).
pub(crate) fn refusal(
    templates: &RowTemplates,
    id: &str,
    problem: &str,
    default_from: Option<&str>,
) -> Error {
    let rows = templates.ids.get(id);
    let used_by = match rows {
        Some(rows) => format!(
            "{} row(s) would be sent with it: {}",
            rows.rows,
            rows.lines()
        ),
        None => "no row would be sent with it".to_string(),
    };
    let whose = if templates.default.as_deref() == Some(id) {
        let from = default_from.map_or(String::new(), |from| format!(", from {from}"));
        format!("the default template{from}; {used_by}")
    } else {
        format!("named in the template_id column; {used_by}")
    };
    Error::Template {
        id: id.to_string(),
        problem: format!("{problem} ({whose})"),
    }
}
