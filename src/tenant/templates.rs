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
pub fn problem(found: Option<&Organization>) -> Option<&'static str> {
    match found {
        Some(org) if org.template => None,
        Some(_) => Some("is an organization, not a template (its `template` is false)"),
        None => Some("does not exist in this tenant"),
    }
}

/// What reading one template id found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It is a template of the tenant.
    Template,
    /// It is not usable: the [`problem`], or why it could not be read.
    Problem(String),
    /// Ctrl-C ended the read: no verdict (and nothing is sent anyway).
    Interrupted,
}

/// Reads the organization `id` names and judges it by [`problem`].
pub async fn judge(client: &ApiClient, policy: RetryPolicy, stop: &Stop, id: &str) -> Verdict {
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
/// each, and refuses the first that is not a template of the tenant.
///
/// # Errors
/// [`Error::Template`] naming the id, what is wrong with it, and the rows that name it (or
/// `--template-id`, for the default).
pub async fn check(
    client: &ApiClient,
    policy: RetryPolicy,
    stop: &Stop,
    templates: &RowTemplates,
) -> Result<(), Error> {
    for (id, rows) in templates.to_check() {
        let problem = match judge(client, policy, stop, id).await {
            Verdict::Template => continue,
            Verdict::Interrupted => return Ok(()),
            Verdict::Problem(problem) => problem,
        };
        let whose = if templates.default.as_deref() == Some(id) {
            "check --template-id".to_string()
        } else {
            let rows = rows.expect("a row's own template has its rows");
            format!(
                "named in the template_id of {} row(s): {}",
                rows.rows,
                rows.lines()
            )
        };
        return Err(Error::Template {
            id: id.to_string(),
            problem: format!("{problem} ({whose})"),
        });
    }
    Ok(())
}
