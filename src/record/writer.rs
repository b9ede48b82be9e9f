//! Writing the results file whole at the end of a run: every input row in order, then its
//! outcome.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::*;
use crate::Error;
use crate::input::{self, Dialect};

/// Writes the results file: every row of `input` in order, its fields as read, then its
/// outcome, in UTF-8 with a byte-order mark and the input's delimiter. Written beside
/// `results` first and renamed over it, so a crash leaves either the old file or the new one.
///
/// # Errors
/// [`Error::Io`]/[`Error::Input`] when reading the input again or writing fails, or when the
/// input no longer has as many rows as `outcomes` (it was changed during the run).
pub fn write(
    input_path: &Path,
    dialect: &Dialect,
    results: &Path,
    outcomes: &[Outcome],
) -> Result<(), Error> {
    let mut reader = input::reader(input_path, dialect)?;
    let headers = input::read_headers(input_path, &mut reader)?;
    let width = headers.len();
    // The input's delimiter: a file from a spreadsheet set to ';' opens back in it as well.
    let delimiter = input::delimiter_of(input_path, dialect)?;
    let tmp = {
        let mut name = results.as_os_str().to_owned();
        name.push(".tmp");
        PathBuf::from(name)
    };
    let io = |e: std::io::Error| Error::io(&tmp, e);
    let file = File::create(&tmp).map_err(io)?;
    let mut buffered = BufWriter::with_capacity(256 * 1024, file);
    // A byte-order mark, so that Excel reads the file as UTF-8.
    buffered.write_all("\u{feff}".as_bytes()).map_err(io)?;
    let mut writer = input::writer(buffered, delimiter);
    let mut header: Vec<Cow<str>> = headers.iter().map(neutralize).collect();
    header.extend(RESULT_COLUMNS.map(Cow::Borrowed));
    writer
        .write_record(header.iter().map(|h| h.as_bytes()))
        .map_err(|e| io(e.into()))?;

    let mut count = 0usize;
    let mut number = String::new();
    let write_error = |e: csv::Error| io(e.into());
    // The input's records as bytes, without the line numbers `input::rows` counts: each
    // cell is written as it was read (text that is not UTF-8 as U+FFFD, as everywhere).
    let mut record = csv::ByteRecord::new();
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| Error::Input {
                path: input_path.to_path_buf(),
                message: e.to_string(),
            })?;
        if !more {
            break;
        }
        let Some(outcome) = outcomes.get(count) else {
            count += 1;
            break;
        };
        count += 1;
        // Laid out in exactly `width` columns: surplus fields joined into the last one,
        // missing ones empty (as `RawRow::fields_in`).
        let ragged = record.len() > width && width > 0;
        let plain = if ragged { width - 1 } else { record.len() };
        for field in record.iter().take(plain) {
            let text = String::from_utf8_lossy(field);
            writer
                .write_field(neutralize(&text).as_bytes())
                .map_err(write_error)?;
        }
        if ragged {
            let surplus: Vec<Cow<str>> = record
                .iter()
                .skip(plain)
                .map(String::from_utf8_lossy)
                .collect();
            writer
                .write_field(neutralize(&surplus.join(",")).as_bytes())
                .map_err(write_error)?;
        }
        for _ in record.len()..width {
            writer.write_field("").map_err(write_error)?;
        }
        writer
            .write_field(outcome.status.as_str())
            .map_err(write_error)?;
        writer
            .write_field(outcome.org_id.as_deref().unwrap_or_default())
            .map_err(write_error)?;
        number.clear();
        if let Some(status) = outcome.http_status {
            let _ = write!(number, "{status}");
        }
        writer.write_field(&number).map_err(write_error)?;
        writer
            .write_field(neutralize(outcome.error.as_deref().unwrap_or_default()).as_bytes())
            .map_err(write_error)?;
        number.clear();
        let _ = write!(number, "{}", outcome.attempts);
        writer.write_field(&number).map_err(write_error)?;
        // The last field ends the record.
        writer
            .write_record([neutralize(outcome.changes.as_deref().unwrap_or_default()).as_bytes()])
            .map_err(write_error)?;
    }
    if count != outcomes.len() {
        return Err(Error::Input {
            path: input_path.to_path_buf(),
            message: format!(
                "the file changed during the run (it had {} rows, now {count}); \
                 the outcomes are kept in {}",
                outcomes.len(),
                journal_path(results).display()
            ),
        });
    }
    writer
        .into_inner()
        .map_err(|e| io(std::io::Error::other(e.to_string())))?
        .into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    std::fs::rename(&tmp, results).map_err(|e| Error::io(results, e))
}
