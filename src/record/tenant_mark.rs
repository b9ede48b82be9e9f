//! Which tenant a results file belongs to: the `tenant` column that every row of it (and the
//! header of its journal) carries, and the check every reader makes before it takes any row
//! as done. A rehearsal's results never stand in for an import into a real tenant, and one
//! tenant's never for another's.
//!
//! A tenant is its base URL and tenant id, as the run was given them (the URL normalized: case
//! of the host, default port, trailing `/`): two sandboxes on two ports are two tenants, and so
//! is one tenant reached at two addresses (a vanity domain): use the address the file names.
//! Every `--sandbox` run is one tenant, the built-in sandbox, whatever port it listens on:
//! that is what lets a rehearsal resume from its own results.

use std::fmt;
use std::path::Path;

use url::Url;

use super::layout::Column;
use super::restore;
use super::results_reader::Opened;
use crate::Error;

/// The tenant a results file is written for, as its `tenant` cells say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantMark(String);

/// The mark of every `--sandbox` run.
const SANDBOX: &str = "built-in sandbox (--sandbox)";

impl TenantMark {
    /// The built-in sandbox that `--sandbox` starts for a run.
    pub fn sandbox() -> TenantMark {
        TenantMark(SANDBOX.to_string())
    }

    /// Tenant `tenant` at `base_url`: `acme at https://acme.us.connect.secureauth.com`
    /// (without any user name, password, query or fragment the URL has: the file is read
    /// by people).
    pub fn tenant(base_url: &Url, tenant: &str) -> TenantMark {
        let mut base = base_url.clone();
        let _ = base.set_username("");
        let _ = base.set_password(None);
        base.set_query(None);
        base.set_fragment(None);
        let base = base.as_str().trim_end_matches('/');
        TenantMark(format!("{tenant} at {base}"))
    }

    /// The text of its cells.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a reader of a results file (or journal) accepts as its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCheck {
    /// The tenant of this run; `None` when it cannot be told (a dry run given no tenant),
    /// and then any file is read.
    mark: Option<TenantMark>,
    /// `--adopt-results`: a file of an earlier version, which records no tenant, is taken as
    /// this run's tenant's.
    adopt: bool,
    /// Whether the reader is an import, which can be given its own results file with `--out`
    /// (for `verify` and `undo`, `--out` names their report).
    import: bool,
}

impl TenantCheck {
    /// An import's (or its dry run's) check: its results are `mark`'s.
    pub fn import(mark: Option<TenantMark>, adopt: bool) -> TenantCheck {
        TenantCheck {
            mark,
            adopt,
            import: true,
        }
    }

    /// The check of `verify` and `undo`, which work on `mark`.
    pub fn results_of(mark: TenantMark, adopt: bool) -> TenantCheck {
        TenantCheck {
            mark: Some(mark),
            adopt,
            import: false,
        }
    }

    /// A check that reads any file as it is, for tests of reading alone.
    #[cfg(test)]
    pub(crate) fn any() -> TenantCheck {
        TenantCheck::import(None, true)
    }

    /// Whether a cell reading `cell` (neutralizing undone) names this run's tenant.
    pub fn accepts(&self, cell: &str) -> bool {
        self.mark.as_ref().is_none_or(|mark| mark.as_str() == cell)
    }

    /// The refusal of the file at `path`, whose `place` (`line 7`, `the header of its
    /// journal`) names `theirs` (empty: no tenant) when this run is for another tenant.
    pub fn other_tenant(&self, path: &Path, place: &str, theirs: &str) -> Error {
        let ours = self.mark.as_ref().map_or("", TenantMark::as_str);
        let (ours, theirs_named) = (describe(ours), describe(theirs));
        let written = if theirs.is_empty() {
            format!("{place} names no tenant")
        } else {
            format!("it was written for {theirs_named} ({place})")
        };
        let fix = if self.import {
            format!(
                "To import into {ours}, give this run its own results file (--out FILE) or \
                 move this one away; to go on where the file left off, run against \
                 {theirs_named}"
            )
        } else if theirs == SANDBOX {
            // `verify` and `undo` take no --sandbox: the sandbox of that run, and what it
            // created, ended with it.
            return Error::Input {
                path: path.to_path_buf(),
                message: format!(
                    "{written}, and this run is for {ours}, so nothing was sent. The sandbox \
                     of that run lived only as long as the run, and its organizations with \
                     it: none is left to verify or undo. Name the results file of an import \
                     into {ours}; to rehearse verify and undo, import into a sandbox started \
                     with `orgimport sandbox` (its --base-url), as docs/walkthrough.md \
                     does"
                ),
            };
        } else {
            format!("Name the results file of an import into {ours}, or run against {theirs_named}")
        };
        Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "{written}, and this run is for {ours}, so none of its rows is taken as done \
                 and nothing was sent. {fix}. One tenant reached at two addresses counts as \
                 two: to use this file, give the address it names."
            ),
        }
    }

    /// For a command that reads no results (`plan`), the warning that the import it plans
    /// would refuse the results file at `path`: its first row names another tenant. `None`
    /// when it names this run's, or none, or is no results file at all.
    pub fn warning(&self, path: &Path) -> Option<String> {
        let theirs = written_for(path)?;
        if self.accepts(&theirs) {
            return None;
        }
        let ours = describe(self.mark.as_ref()?.as_str());
        Some(format!(
            "{}: it was written for {}, and an import into {ours} would refuse it: give that \
             import its own results file (--out FILE) or move this one away",
            path.display(),
            describe(&theirs),
        ))
    }

    /// Whether a file that records no tenant (written by an earlier version) is read:
    /// always when `--adopt-results` is given or this run's tenant cannot be told; else the
    /// refusal of the file at `path`, written when it records an organization that may
    /// exist (`records_organizations`).
    ///
    /// # Errors
    /// The refusal, naming this run's tenant and both fixes.
    pub fn unmarked(&self, path: &Path, records_organizations: bool) -> Result<(), Error> {
        let Some(ours) = self.mark.as_ref().filter(|_| !self.adopt) else {
            return Ok(());
        };
        let ours = describe(ours.as_str());
        if !records_organizations {
            return Ok(());
        }
        let elsewhere = if self.import {
            "move it away, or give this run its own results file (--out FILE)"
        } else {
            "name the results file of an import into it"
        };
        Err(Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "it was written by an earlier version of orgimport, which did not record the \
                 tenant a results file is for, so it cannot tell whether its organizations are \
                 in {ours}: a rehearsal on the sandbox reads just the same. If an import into \
                 {ours} wrote it, run again with --adopt-results: its rows are then taken as \
                 that tenant's{rewritten}. If a --sandbox rehearsal or an import into another \
                 tenant wrote it, {elsewhere}.",
                rewritten = if self.import {
                    ", and the results file this run writes records it"
                } else {
                    ""
                }
            ),
        })
    }
}

/// The tenant the first row of the results file at `path` names; `None` when it is no results
/// file of this version, has no row, or cannot be read.
fn written_for(path: &Path) -> Option<String> {
    if !path.exists() {
        return None;
    }
    let opened = Opened::open(path, |why| why).ok()?;
    let layout = opened.layout;
    if !layout.version().records_tenant() {
        return None;
    }
    let row = opened.rows().ok()?.next()?.ok()?;
    Some(restore(layout.cell(&row.record, Column::Tenant)).to_string())
}

/// A mark's cell as messages name it: `the built-in sandbox (--sandbox)`, `tenant acme at
/// https://...`; `the tenant it was written for` for an empty cell.
fn describe(cell: &str) -> String {
    match cell {
        "" => "the tenant it was written for".to_string(),
        SANDBOX => format!("the {SANDBOX}"),
        tenant => format!("tenant {tenant}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_is_its_address_and_id_and_every_sandbox_run_is_one() {
        let url = |s: &str| Url::parse(s).unwrap();
        let acme = TenantMark::tenant(&url("https://acme.us.connect.secureauth.com"), "acme");
        assert_eq!(
            acme.as_str(),
            "acme at https://acme.us.connect.secureauth.com"
        );
        for same in [
            "https://ACME.us.connect.secureauth.com/",
            "https://acme.us.connect.secureauth.com:443",
            "https://acme.us.connect.secureauth.com/?x=1",
            "https://user:s3cret@acme.us.connect.secureauth.com",
        ] {
            assert_eq!(TenantMark::tenant(&url(same), "acme"), acme, "{same}");
        }
        for other in [
            "http://acme.us.connect.secureauth.com",
            "https://login.acme.com",
            "https://acme.us.connect.secureauth.com:8443",
        ] {
            assert_ne!(TenantMark::tenant(&url(other), "acme"), acme, "{other}");
        }
        assert_ne!(
            TenantMark::tenant(&url("http://127.0.0.1:8080"), "demo"),
            TenantMark::tenant(&url("http://127.0.0.1:8081"), "demo")
        );
        assert_eq!(TenantMark::sandbox(), TenantMark::sandbox());

        let check = TenantCheck::import(Some(acme.clone()), false);
        assert!(check.accepts(acme.as_str()));
        assert!(!check.accepts(TenantMark::sandbox().as_str()));
        assert!(!check.accepts(""));
        assert!(TenantCheck::any().accepts("anything"));
    }

    #[test]
    fn refusals_name_both_tenants_and_the_fix() {
        let acme = TenantMark::tenant(&Url::parse("https://acme.example.com").unwrap(), "acme");
        let path = Path::new("book.results.csv");
        let import = TenantCheck::import(Some(acme.clone()), false);
        let text = import
            .other_tenant(path, "line 2", TenantMark::sandbox().as_str())
            .to_string();
        assert!(
            text.starts_with(
                "book.results.csv: it was written for the built-in sandbox (--sandbox) (line \
                 2), and this run is for tenant acme at https://acme.example.com, so none"
            ),
            "{text}"
        );
        assert!(text.contains("--out FILE"), "{text}");
        let verify = TenantCheck::results_of(acme.clone(), false);
        let text = verify.other_tenant(path, "line 2", "").to_string();
        assert!(text.contains("line 2 names no tenant"), "{text}");
        assert!(!text.contains("--out"), "{text}");

        let text = import.unmarked(path, true).unwrap_err().to_string();
        assert!(text.contains("--adopt-results"), "{text}");
        assert!(import.unmarked(path, false).is_ok(), "nothing to misread");
        assert!(
            TenantCheck::import(Some(acme), true)
                .unmarked(path, true)
                .is_ok()
        );
    }
}
