//! `orgimport export`: a tenant's organizations (or one subtree: `--parent ID` and all its
//! descendants) written as a CSV that `orgimport import` reads back with no flags, to copy
//! them to another tenant or to keep a backup before an update.
//!
//! The columns are those the import reads by default ([`COLUMNS`], then one
//! `metadata.<key>` column per metadata key, `metadata.<key>:json` for a key with values that
//! are not plain text); every row is an organization, parents before their children.
//! Templates are left out: they are the tenant's configuration, and the API does not say which
//! template an organization came from, so the import of an export is given `--template-id`.
//! The file goes through the results file's writer (UTF-8 with a byte-order mark, cells a
//! spreadsheet would run as formulas neutralized, which the import restores), and is then read
//! back as the import reads it ([`readback`]): an organization that would not come back as it
//! is gets a warning and makes the exit code 1.

mod readback;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::ErrorKind;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use crate::api::{Organization, RetryPolicy};
use crate::exit::Ending;
use crate::input::mapping::metadata_column;
use crate::record::{self, CsvOut, Writing};
use crate::report::listing::ListingProgress;
use crate::settings::ExportSettings;
use crate::stdout;
use crate::stop::Stop;
use crate::tenant::existing::{Existing, Listed};
use crate::tenant::session;
use crate::{Error, ExitStatus};

/// The columns before the metadata ones, each named as the import reads it by default.
/// (`displayName`, `email` and `template_id` are not kept by the API, so not exported.)
pub const COLUMNS: [&str; 6] = ["id", "name", "description", "color", "domains", "parent_id"];

/// Requests per list page at most, retries included: `import`'s default `--max-attempts`.
const MAX_ATTEMPTS: NonZeroU32 = NonZeroU32::new(6).expect("6 is not zero");

/// How many organizations that would not read back are named on stderr.
const SHOWN: usize = 5;

/// What `export` did.
#[derive(Debug)]
pub struct Report {
    /// The tenant exported.
    pub tenant: String,
    /// Organizations written.
    pub exported: usize,
    /// Templates the tenant has, left out.
    pub templates: usize,
    /// Organizations outside `--parent`'s subtree, left out.
    pub outside: usize,
    /// Organizations written though the import cannot place them under a parent (a cycle of
    /// parents, which a tenant should never have).
    pub in_cycles: usize,
    /// Organizations written that are deactivated: an import creates them active.
    pub deactivated: usize,
    /// Organizations that would not read back as they are: `id "x": what differs`.
    pub not_read_back: Vec<String>,
    /// List requests sent, retries included.
    pub list_requests: u64,
    /// The whole command's time.
    pub elapsed: Duration,
    /// The file written.
    pub out: PathBuf,
}

impl Report {
    /// Success when every organization written reads back as it is; failed otherwise (the
    /// file is written all the same).
    pub fn exit_status(&self) -> ExitStatus {
        Ending {
            failed: !self.not_read_back.is_empty() || self.in_cycles > 0,
            ..Ending::default()
        }
        .status()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exported {} organization(s) of tenant {:?} to {} ({} template(s)",
            self.exported,
            self.tenant,
            stdout::shown(&self.out),
            self.templates
        )?;
        if self.outside > 0 {
            write!(f, " and {} outside the subtree", self.outside)?;
        }
        write!(
            f,
            " left out; {} list request(s), {:.1}s)",
            self.list_requests,
            self.elapsed.as_secs_f64()
        )?;
        if self.deactivated > 0 {
            write!(
                f,
                "\nwarning: {} of them are deactivated; an import creates them active",
                self.deactivated
            )?;
        }
        if self.in_cycles > 0 {
            write!(
                f,
                "\nwarning: {} of them are in a cycle of parents (written last); the import \
                 refuses them until the cycle is broken",
                self.in_cycles
            )?;
        }
        for problem in self.not_read_back.iter().take(SHOWN) {
            write!(f, "\nwarning: would not read back as it is: {problem}")?;
        }
        if self.not_read_back.len() > SHOWN {
            write!(
                f,
                "\nwarning: {} more would not read back as they are",
                self.not_read_back.len() - SHOWN
            )?;
        }
        Ok(())
    }
}

/// `orgimport export`: exports as `settings` say and prints the summary.
///
/// # Errors
/// As [`export`].
pub async fn run(settings: ExportSettings) -> anyhow::Result<ExitStatus> {
    let out = settings.out.clone();
    let report = export(settings)
        .await
        .with_context(|| format!("exporting to {}", stdout::shown(&out)))?;
    eprintln!("{report}");
    Ok(report.exit_status())
}

/// Lists the tenant's organizations and writes those `settings` select to `settings.out`,
/// then reads the file back as the import would. Sends only reads.
///
/// # Errors
/// A fatal [`Error`]: `out` exists without `--force` or cannot be written (both checked before
/// any request), credentials, a tenant that cannot be listed, a `--parent` the tenant lacks
/// or that is a template.
pub async fn export(settings: ExportSettings) -> Result<Report, Error> {
    let started = Instant::now();
    let out = settings.out.clone();
    if !settings.force && !stdout::is_stdout(&out) && std::fs::symlink_metadata(&out).is_ok() {
        return Err(Error::io(
            &out,
            std::io::Error::new(
                ErrorKind::AlreadyExists,
                "already exists; pass --force to replace it, or choose another --out",
            ),
        ));
    }
    record::check_report(&out, "the export", Writing::Replaced, None, None)?;
    let (client, _tokens) =
        session::connect_tenant(&settings.tenant, settings.rate, settings.timeout)?;
    // Nothing sets this stop signal: Ctrl-C ends `export` at once, as nothing is written yet.
    let stop = Stop::new();
    // Every organization with every field, templates included, with the listing's progress.
    let progress = ListingProgress::new(settings.quiet);
    let policy = RetryPolicy::new(MAX_ATTEMPTS);
    let listed = Existing::list_up_to(&client, policy, &stop, true, u64::MAX, &progress).await?;
    progress.finish();
    let Some(Listed::Whole(existing)) = listed else {
        return Err(Error::Listing("the listing did not finish".into()));
    };
    let list_requests = existing.requests;
    let tenant = settings.tenant.tenant.clone();
    let selection = select(
        existing.into_organizations(),
        settings.parent.as_deref(),
        &tenant,
    )?;
    let Selection {
        organizations,
        templates,
        outside,
        in_cycles,
    } = selection;
    let path = out.clone();
    let not_read_back = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        // On standard output, it is written to a private file first, to be read back.
        let staging = match stdout::is_stdout(&path) {
            true => Some(stdout::Staging::new().map_err(|e| Error::io(std::env::temp_dir(), e))?),
            false => None,
        };
        let file = match &staging {
            Some(staging) => staging.file("export.csv"),
            None => path.clone(),
        };
        write(&file, &organizations)?;
        let not_read_back = readback::differences(&file, &organizations)?;
        if staging.is_some() {
            stdout::copy_csv(&file).map_err(|e| Error::io(stdout::shown(&path), e))?;
        }
        let deactivated = organizations.iter().filter(|o| o.deactivated).count();
        Ok((organizations.len(), deactivated, not_read_back))
    })
    .await
    .expect("the export writer does not panic")?;
    let (exported, deactivated, not_read_back) = not_read_back;
    Ok(Report {
        tenant,
        exported,
        templates,
        outside,
        in_cycles,
        deactivated,
        not_read_back,
        list_requests,
        elapsed: started.elapsed(),
        out,
    })
}

/// The organizations to write, in order, and what was left out.
#[derive(Debug)]
struct Selection {
    /// Parents before their children; each parent's children in id order after it.
    organizations: Vec<Organization>,
    /// Templates left out.
    templates: usize,
    /// Organizations outside `--parent`'s subtree, left out.
    outside: usize,
    /// Organizations no root leads to (a cycle of parents), written last.
    in_cycles: usize,
}

/// The organizations (templates left out) of `parent`'s subtree, or all of them, parents
/// before children: each root in id order, then its descendants depth first. A root is an
/// organization with no parent, or whose parent is not exported (a template, or outside).
///
/// # Errors
/// [`Error::Config`] when `parent` is no organization of `tenant`, or is a template.
fn select(
    listed: Vec<Organization>,
    parent: Option<&str>,
    tenant: &str,
) -> Result<Selection, Error> {
    let total = listed.len();
    let (templates, mut orgs): (Vec<Organization>, Vec<Organization>) =
        listed.into_iter().partition(|o| o.template);
    orgs.sort_by(|a, b| a.id.cmp(&b.id));
    orgs.dedup_by(|a, b| a.id == b.id);
    let index: HashMap<&str, usize> = orgs
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id.as_str(), i))
        .collect();
    // Children of each exported organization, in id order (`orgs` is sorted).
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, org) in orgs.iter().enumerate() {
        match org.parent_id.as_deref().and_then(|p| index.get(p)) {
            Some(&p) if p != i => children.entry(p).or_default().push(i),
            _ => roots.push(i),
        }
    }
    if let Some(parent) = parent {
        roots = match index.get(parent) {
            Some(&i) => vec![i],
            None if templates.iter().any(|t| t.id == parent) => {
                return Err(Error::Config(format!(
                    "--parent {parent:?} is a template of tenant {tenant:?}, not an \
                     organization; templates are not exported"
                )));
            }
            None => {
                return Err(Error::Config(format!(
                    "--parent {parent:?}: tenant {tenant:?} has no organization with this id"
                )));
            }
        };
    }
    let mut order = Vec::with_capacity(orgs.len());
    let mut seen = HashSet::new();
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        order.push(i);
        if let Some(kids) = children.get(&i) {
            stack.extend(kids.iter().rev().copied());
        }
    }
    let mut in_cycles = 0;
    if parent.is_none() {
        for i in 0..orgs.len() {
            if !seen.contains(&i) {
                order.push(i);
                in_cycles += 1;
            }
        }
    }
    let mut slots: Vec<Option<Organization>> = orgs.into_iter().map(Some).collect();
    let organizations: Vec<Organization> =
        order.into_iter().filter_map(|i| slots[i].take()).collect();
    Ok(Selection {
        outside: total - templates.len() - organizations.len(),
        templates: templates.len(),
        organizations,
        in_cycles,
    })
}

/// The metadata columns of `orgs`: each key (in order) with its header and whether its cells
/// are JSON. A key is written as JSON when one of its values is not plain text the import
/// reads back as it is (a number, a list, an object, `null`, an empty string or one with
/// spaces at either end, which the import would trim).
fn metadata_columns(orgs: &[Organization]) -> Vec<(String, String, bool)> {
    let mut keys: BTreeMap<&str, bool> = BTreeMap::new();
    for org in orgs {
        for (key, value) in &org.metadata.payload {
            let plain = matches!(value, Value::String(s) if !s.is_empty() && s.trim() == s);
            *keys.entry(key.as_str()).or_default() |= !plain;
        }
    }
    keys.into_iter()
        .map(|(key, json)| {
            let (header, json) = metadata_column(key, json);
            (key.to_string(), header, json)
        })
        .collect()
}

/// Writes `orgs` to `path` through the results file's writer: beside it first, renamed over
/// it at the end, so a failure leaves any earlier file as it was (or to standard output, for
/// `-`).
fn write(path: &Path, orgs: &[Organization]) -> Result<(), Error> {
    let metadata = metadata_columns(orgs);
    let mut file = CsvOut::create(path, b',')?;
    file.row(
        COLUMNS
            .iter()
            .map(|c| c.to_string())
            .chain(metadata.iter().map(|(_, header, _)| header.clone())),
    )?;
    for org in orgs {
        file.cell(&org.id)?;
        file.cell(&org.name)?;
        file.cell(&org.description)?;
        file.cell(&org.color)?;
        file.cell(&org.domains.join(";"))?;
        file.cell(org.parent_id.as_deref().unwrap_or_default())?;
        for (key, _, json) in &metadata {
            match org.metadata.payload.get(key) {
                None => file.cell("")?,
                Some(value) if *json => file.cell(&value.to_string())?,
                Some(value) => file.cell(value.as_str().unwrap_or_default())?,
            }
        }
        file.end_row()?;
    }
    file.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn org(id: &str, parent: Option<&str>) -> Organization {
        Organization {
            id: id.into(),
            name: format!("name-{id}"),
            parent_id: parent.map(str::to_string),
            ..Organization::default()
        }
    }

    fn ids(selection: &Selection) -> Vec<&str> {
        selection
            .organizations
            .iter()
            .map(|o| o.id.as_str())
            .collect()
    }

    #[test]
    fn parents_come_before_children_and_templates_are_left_out() {
        let template = Organization {
            template: true,
            ..org("tpl", None)
        };
        let listed = vec![
            org("a-child", Some("z-root")),
            org("b-grandchild", Some("a-child")),
            template,
            org("m-root", None),
            org("under-template", Some("tpl")),
            org("z-root", None),
            org("c-child", Some("z-root")),
        ];
        let all = select(listed.clone(), None, "t").unwrap();
        assert_eq!(
            ids(&all),
            [
                "m-root",
                "under-template",
                "z-root",
                "a-child",
                "b-grandchild",
                "c-child"
            ]
        );
        assert_eq!((all.templates, all.outside, all.in_cycles), (1, 0, 0));
        let subtree = select(listed.clone(), Some("z-root"), "t").unwrap();
        assert_eq!(
            ids(&subtree),
            ["z-root", "a-child", "b-grandchild", "c-child"]
        );
        assert_eq!(subtree.outside, 2);
        let unknown = select(listed.clone(), Some("nope"), "t").unwrap_err();
        assert!(unknown.to_string().contains("\"nope\""), "{unknown}");
        let template = select(listed, Some("tpl"), "t").unwrap_err();
        assert!(template.to_string().contains("is a template"), "{template}");
    }

    #[test]
    fn a_cycle_of_parents_is_written_last_and_counted() {
        let listed = vec![org("a", Some("b")), org("b", Some("a")), org("r", None)];
        let all = select(listed, None, "t").unwrap();
        assert_eq!(ids(&all), ["r", "a", "b"]);
        assert_eq!(all.in_cycles, 2);
    }

    #[test]
    fn a_key_with_a_value_that_is_not_plain_text_is_written_as_json() {
        let with = |payload: Value| Organization {
            metadata: crate::api::types::Metadata {
                payload: payload.as_object().unwrap().clone(),
                schema: None,
            },
            ..org("x", None)
        };
        let orgs = [
            with(json!({"region": "EMEA", "tags": ["a"], "padded": "EMEA", "odd:json": "v"})),
            with(json!({"region": "APAC", "employees": 12, "padded": " x "})),
        ];
        let columns: Vec<(String, bool)> = metadata_columns(&orgs)
            .into_iter()
            .map(|(_, header, json)| (header, json))
            .collect();
        assert_eq!(
            columns,
            [
                ("metadata.employees:json".to_string(), true),
                ("metadata.odd:json:json".to_string(), true),
                ("metadata.padded:json".to_string(), true),
                ("metadata.region".to_string(), false),
                ("metadata.tags:json".to_string(), true),
            ]
        );
    }
}
