//! The journal beside the results file: one line appended and flushed for each row as it is
//! sent and as it finishes, so that a crash loses nothing; and reading it back, lines of every
//! version (6 fields before `changes`, 7 since) and a torn last line included. Its header ends
//! with the tenant the run is for (`tenant: acme at https://...`), as the results file's rows
//! do; a journal of an earlier version has none.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use csv::StringRecord;

use super::read_back::{self, Cells, Place, Reading};
use super::*;
use crate::Error;
use crate::input::{self, Source};
use crate::private_file::{self, Open};

/// The journal's columns (not the results file's: a key, and `attempts` before `error`).
pub(crate) const JOURNAL_COLUMNS: [&str; 7] = [
    "key",
    "status",
    "org_id",
    "http_status",
    "attempts",
    "error",
    "changes",
];
/// Journal lines written before `changes` was added have this many fields.
const OLD_JOURNAL_WIDTH: usize = 6;
/// What the header's last cell starts with, before the tenant the journal is for.
const TENANT_CELL: &str = "tenant: ";

/// Whether `headers` (formula marks removed) are a journal's: its columns, then the tenant
/// it is for (this version), or without it (before), or without `changes` either.
pub(crate) fn is_journal_header(headers: &StringRecord) -> bool {
    let cells: Vec<&str> = headers.iter().collect();
    let full = JOURNAL_COLUMNS.len();
    match cells.len() {
        n if n == full + 1 => {
            cells[..full] == JOURNAL_COLUMNS && cells[full].starts_with(TENANT_CELL)
        }
        n if n == full || n == OLD_JOURNAL_WIDTH => cells == JOURNAL_COLUMNS[..n],
        _ => false,
    }
}

/// The journal beside `results`.
pub fn journal_path(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// Whether the file ends with a line ending (or is empty).
fn ends_a_line(mut file: &File) -> std::io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// The word a journal line carries for a row whose first request is about to be sent.
const PENDING: &str = "pending";

/// The append-only journal of rows finished in this run, flushed as they finish.
pub struct Journal {
    path: PathBuf,
    /// The results file it is beside: the path its errors name.
    results: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
}

/// An error writing the journal at `journal` beside `results`, worded for the user: the
/// results file they named first, then which file beside it failed (and so where it is).
fn unwritable(results: &Path, journal: &Path, e: std::io::Error) -> Error {
    let message = format!(
        "cannot write the run's journal beside it, {}: {e}",
        journal.display()
    );
    Error::io(results, std::io::Error::new(e.kind(), message))
}

impl Journal {
    /// Opens (or continues) the journal beside `results`, of a run for `tenant` (a journal
    /// it continues was checked to be that tenant's when it was read).
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be created.
    pub fn open(results: &Path, tenant: &TenantMark) -> Result<Journal, Error> {
        let path = journal_path(results);
        let file = private_file::open(&path, Open::Append);
        let file = file.map_err(|e| unwritable(results, &path, e))?;
        Journal::over(results, path, file, tenant)
    }

    /// The journal beside `results`, at `path`, open as `file`, of a run for `tenant`.
    fn over(
        results: &Path,
        path: PathBuf,
        file: File,
        tenant: &TenantMark,
    ) -> Result<Journal, Error> {
        let io = |e| unwritable(results, &path, e);
        let fresh = file.metadata().map_err(io)?.len() == 0;
        let torn = !fresh && !ends_a_line(&file).map_err(io)?;
        let mut buffered = BufWriter::new(file);
        if torn {
            // A crash tore the last line: this run's lines start on a line of their own,
            // else the first would be read as part of the torn one and lost.
            buffered.write_all(b"\n").map_err(io)?;
        }
        let mut writer = input::csv_writer(buffered, b',');
        if fresh {
            let tenant = format!("{TENANT_CELL}{tenant}");
            let header = JOURNAL_COLUMNS.iter().copied().chain([tenant.as_str()]);
            writer.write_record(header).map_err(|e| io(e.into()))?;
        }
        Ok(Journal {
            results: results.to_path_buf(),
            path,
            writer,
        })
    }

    /// Appends one finished row (buffered until [`Journal::flush`]).
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn append(&mut self, key: &str, outcome: &Outcome) -> Result<(), Error> {
        let http = outcome
            .http_status
            .map(|s| s.to_string())
            .unwrap_or_default();
        let attempts = outcome.attempts.to_string();
        self.writer
            .write_record([
                key,
                outcome.status.as_str(),
                outcome.org_id.as_deref().unwrap_or(""),
                &http,
                &attempts,
                outcome.error.as_deref().unwrap_or(""),
                outcome.changes.as_deref().unwrap_or(""),
            ])
            .map_err(|e| self.unwritable(e.into()))
    }

    /// Appends that the first request for the row `key` is about to be sent, so that a rerun
    /// after a crash knows to look for its organization before sending it again.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn append_pending(&mut self, key: &str) -> Result<(), Error> {
        self.writer
            .write_record([key, PENDING, "", "", "", "", ""])
            .map_err(|e| self.unwritable(e.into()))
    }

    /// Pushes what was appended to the operating system, so it survives the process.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn flush(&mut self) -> Result<(), Error> {
        let flushed = self.writer.flush();
        flushed.map_err(|e| self.unwritable(e))
    }

    fn unwritable(&self, e: std::io::Error) -> Error {
        unwritable(&self.results, &self.path, e)
    }

    /// Removes the journal once the results file holds everything.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be removed.
    pub fn remove(self) -> Result<(), Error> {
        drop(self.writer);
        std::fs::remove_file(&self.path).map_err(|e| Error::io(&self.path, e))
    }
}

/// One line of the journal, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JournalLine {
    /// The row's first request was about to be sent.
    Pending,
    /// The row finished: what its cells say, checked ([`read_back::read_cells`]); a line whose
    /// fields cannot be trusted is [`Reading::Unreadable`].
    Finished(Reading),
    /// A line that names no row (no key): why, for stderr.
    Junk(String),
}

/// Reads the journal at `path`, calling `each` with each line's place, row key and what it
/// says, in order; returns the tenant its header names (`None`: an earlier version's, which
/// names none). Lines of the version before `changes` are read as they are; a line torn
/// by a crash mid-write (fewer fields than any version writes) is not read: a row that was
/// sent has a `pending` line before it, and one that was not is compared with the tenant
/// again.
///
/// # Errors
/// [`Error::Io`]/[`Error::Input`] when the file cannot be read.
pub(crate) fn read(
    path: &Path,
    mut each: impl FnMut(Place, String, JournalLine),
) -> Result<Option<String>, Error> {
    let source = Source::written(path)?;
    let tenant = source
        .headers()
        .get(JOURNAL_COLUMNS.len())
        .and_then(|cell| cell.strip_prefix(TENANT_CELL))
        .map(str::to_string);
    let rows = source.rows(JOURNAL_COLUMNS.len())?;
    for row in rows.allowing_torn_end() {
        let row = row?;
        let place = Place::Journal(row.line);
        let r = row.record;
        // A line of the version before `changes` has one field less, and nothing else wrong.
        let problem = match r.len() {
            OLD_JOURNAL_WIDTH => None,
            _ => row.problem,
        };
        if r.len() < OLD_JOURNAL_WIDTH {
            // Torn by a crash (the next run starts its lines on a line of their own): a row
            // that was sent has its `pending` line before this one, so nothing is lost.
            continue;
        }
        let key = r.get(0).unwrap_or("").to_string();
        if key.is_empty() {
            each(
                place,
                key,
                JournalLine::Junk("a journal line without a row key: ignored".into()),
            );
            continue;
        }
        if let Some(problem) = problem {
            each(
                place,
                key,
                JournalLine::Finished(Reading::Unreadable(read_back::unreadable_line(&problem))),
            );
            continue;
        }
        if &r[1] == PENDING {
            each(place, key, JournalLine::Pending);
            continue;
        }
        let reading = read_back::read_cells(Cells {
            status: &r[1],
            org_id: &r[2],
            http_status: &r[3],
            error: &r[5],
            attempts: &r[4],
            changes: r.get(6).unwrap_or(""),
        });
        each(place, key, JournalLine::Finished(reading));
    }
    Ok(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line's key and outcome (`None`: pending).
    fn lines(path: &Path) -> Vec<(String, Option<Outcome>)> {
        let mut read = Vec::new();
        let _tenant = super::read(path, |_, key, line| {
            let outcome = match line {
                JournalLine::Pending => None,
                JournalLine::Finished(Reading::Sound(outcome)) => Some(outcome),
                other => panic!("{key}: {other:?}"),
            };
            read.push((key, outcome));
        })
        .unwrap();
        read
    }

    #[test]
    fn what_is_appended_reads_back_and_old_and_torn_lines_are_handled() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("in.results.csv");
        let updated = Outcome {
            status: Status::Updated,
            org_id: Some("org-1".into()),
            http_status: Some(200),
            error: None,
            attempts: 2,
            changes: Some("name: \"a\" -> \"b\"".into()),
            kind: None,
        };
        let failed = Outcome {
            status: Status::Failed,
            org_id: None,
            http_status: None,
            error: Some("HTTP 409, \"taken\"".into()),
            attempts: 0,
            changes: None,
            kind: None,
        };
        let mut journal = Journal::open(&results, &TenantMark::sandbox()).unwrap();
        journal.append_pending("id:a").unwrap();
        journal.append("id:a", &updated).unwrap();
        journal.append("name:b", &failed).unwrap();
        journal.flush().unwrap();
        drop(journal);
        let path = journal_path(&results);
        assert_eq!(
            lines(&path),
            [
                ("id:a".to_string(), None),
                ("id:a".to_string(), Some(updated.clone())),
                ("name:b".to_string(), Some(failed.clone())),
            ]
        );

        // The header names the tenant the run was for.
        let tenant = super::read(&path, |_, _, _| {}).unwrap();
        assert_eq!(tenant.as_deref(), Some(TenantMark::sandbox().as_str()));

        // A journal an older build began (6 fields, no `changes`), continued by this one,
        // torn by a crash in its last line.
        std::fs::write(
            &path,
            "key,status,org_id,http_status,attempts,error\n\
             id:old,created,org-9,201,3,\n\
             id:new,exists,org-8,200,1,,\n\
             id:torn,crea",
        )
        .unwrap();
        let read = lines(&path);
        assert_eq!(read.len(), 2, "{read:?}");
        assert_eq!(super::read(&path, |_, _, _| {}).unwrap(), None, "no tenant");
        assert_eq!(read[0].0, "id:old");
        let old = read[0].1.as_ref().unwrap();
        assert_eq!(
            (
                old.status,
                old.org_id.as_deref(),
                old.http_status,
                old.attempts
            ),
            (Status::Created, Some("org-9"), Some(201), 3)
        );
        assert_eq!(old.changes, None);
        assert_eq!(read[1].1.as_ref().unwrap().status, Status::Exists);

        // Continued by the next run: its lines start on a line of their own, under no second
        // header.
        let mut journal = Journal::open(&results, &TenantMark::sandbox()).unwrap();
        journal.append("id:more", &failed).unwrap();
        journal.flush().unwrap();
        let read = lines(&path);
        assert_eq!(read.len(), 3, "{read:?}");
        assert_eq!(read[2], ("id:more".to_string(), Some(failed)));
        journal.remove().unwrap();
        assert!(!path.exists());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_is_reported_naming_the_results_file_and_where_the_journal_is() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.csv");
        // The journal on a full disk: /dev/full, opened as if it were the journal (a link to
        // it at the journal's name is refused, as any link is).
        let full = std::fs::OpenOptions::new()
            .append(true)
            .open("/dev/full")
            .unwrap();
        let tenant = TenantMark::sandbox();
        let mut journal = Journal::over(&results, journal_path(&results), full, &tenant).unwrap();
        journal.append_pending("id:a").unwrap();
        let error = journal.flush().unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "{}: cannot write the run's journal beside it, {}: No space left on device (os \
                 error 28)",
                results.display(),
                journal_path(&results).display()
            )
        );
    }
}
