//! The journal beside the results file: one line appended and flushed for each row as it is
//! sent and as it finishes, so that a crash loses nothing.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::*;
use crate::Error;
use crate::input::{self};

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
pub(crate) const OLD_JOURNAL_WIDTH: usize = 6;

/// The journal beside `results`.
pub fn journal_path(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// The word a journal line carries for a row whose first request is about to be sent.
pub(crate) const PENDING: &str = "pending";

/// The append-only journal of rows finished in this run, flushed as they finish.
pub struct Journal {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
}

impl Journal {
    /// Opens (or continues) the journal beside `results`.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be created.
    pub fn open(results: &Path) -> Result<Journal, Error> {
        let path = journal_path(results);
        let fresh = !path.exists()
            || std::fs::metadata(&path)
                .map(|m| m.len() == 0)
                .unwrap_or(true);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut writer = input::writer(BufWriter::new(file), b',');
        if fresh {
            writer
                .write_record(JOURNAL_COLUMNS)
                .map_err(|e| Error::io(&path, e.into()))?;
        }
        Ok(Journal { path, writer })
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
            .map_err(|e| Error::io(&self.path, e.into()))
    }

    /// Appends that the first request for the row `key` is about to be sent, so that a rerun
    /// after a crash knows to look for its organization before sending it again.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn append_pending(&mut self, key: &str) -> Result<(), Error> {
        self.writer
            .write_record([key, PENDING, "", "", "", "", ""])
            .map_err(|e| Error::io(&self.path, e.into()))
    }

    /// Pushes what was appended to the operating system, so it survives the process.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.writer.flush().map_err(|e| Error::io(&self.path, e))
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
