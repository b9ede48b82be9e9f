//! The record kept beside a corrected copy, `<stem>.corrected.json`: the SHA-256 of the
//! upload the copy was made from, how that upload was read, the copy's own SHA-256 and the
//! edits in it. With it, a console started again and given the same upload takes the copy
//! up again (its edits, and so its results file, from which the run resumes), and never a
//! copy made from other bytes, another reading of them, or changed since it was written.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::input::Dialect;

/// Cell edits by row index, then column.
pub(crate) type Edits = HashMap<usize, HashMap<usize, String>>;

/// What the record says.
#[derive(Serialize, Deserialize)]
struct Record {
    /// The upload's SHA-256, hex.
    upload_sha256: String,
    /// How the upload was read: delimiter, encoding, sheet, header row.
    reading: String,
    /// The corrected copy's SHA-256, hex, as written.
    copy_sha256: String,
    /// The edits in the copy.
    edits: BTreeMap<usize, BTreeMap<usize, String>>,
}

/// What is found at a corrected copy's name for an upload.
pub(crate) enum Found {
    /// No file there.
    Nothing,
    /// The copy made from this upload read this way: its edits.
    Ours(Edits),
    /// A copy the console made from this upload read another way: its to replace.
    Replaceable,
    /// Anything else (another upload's copy, a copy changed since, a file of the user's):
    /// why it is not taken, nor replaced.
    Foreign(String),
}

/// The record's path for the corrected copy `copy`: `<stem>.corrected.json` beside it.
pub(crate) fn record_path(copy: &Path) -> PathBuf {
    copy.with_extension("json")
}

/// `dialect` as the record writes it.
fn reading(dialect: &Dialect) -> String {
    format!(
        "delimiter={:?} encoding={:?} sheet={:?} header_row={:?}",
        dialect.delimiter,
        dialect.encoding.map(|e| e.name()),
        dialect.sheet,
        dialect.header_row
    )
}

/// The hex SHA-256 of the file at `path`.
fn file_hash(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// `bytes` as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the record of `copy`, just written from the upload hashing to `upload` read as
/// `dialect`, with `edits` in it.
///
/// # Errors
/// The copy cannot be read, or the record written.
pub(crate) fn write(
    copy: &Path,
    upload: &[u8; 32],
    dialect: &Dialect,
    edits: &Edits,
) -> std::io::Result<()> {
    let record = Record {
        upload_sha256: hex(upload),
        reading: reading(dialect),
        copy_sha256: file_hash(copy)?,
        edits: edits
            .iter()
            .map(|(row, cells)| (*row, cells.clone().into_iter().collect()))
            .collect(),
    };
    let text = serde_json::to_string_pretty(&record).map_err(std::io::Error::other)?;
    crate::private_file::write(&record_path(copy), text.as_bytes())
}

/// What is at the corrected copy's name `copy` for the upload hashing to `upload`, read as
/// `dialect`.
pub(crate) fn find(copy: &Path, upload: &[u8; 32], dialect: &Dialect) -> Found {
    let shown = copy
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if std::fs::symlink_metadata(copy).is_err() {
        return Found::Nothing;
    }
    let foreign = |why: &str| {
        Found::Foreign(format!(
            "{shown} is there already and {why}: the console neither uses nor replaces it; \
             move it away to correct cells here"
        ))
    };
    let record: Option<Record> = std::fs::read(record_path(copy))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let Some(record) = record else {
        return foreign("the console has no record of making it");
    };
    if record.upload_sha256 != hex(upload) {
        return foreign("was made from another file");
    }
    if file_hash(copy).ok().as_deref() != Some(record.copy_sha256.as_str()) {
        return foreign("was changed since the console wrote it");
    }
    if record.reading != reading(dialect) {
        return Found::Replaceable;
    }
    Found::Ours(
        record
            .edits
            .into_iter()
            .map(|(row, cells)| (row, cells.into_iter().collect()))
            .collect(),
    )
}
