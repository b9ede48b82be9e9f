//! Files the console writes in its working folder: an upload streamed to disk (bounded,
//! 0600, hashed as it comes) under a name derived from the given one that can only name a
//! file of that folder, placed without ever replacing a file already there.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::StatusCode;
use http_body::Body as _;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::ApiError;
use crate::private_file::{self, Open};

/// The longest stem a stored name keeps, in characters.
const MAX_STEM: usize = 80;

/// A safe file name for an upload named `given`: its last path part only (`/` and `\` both
/// separate), no control character (NUL included), letters, digits, `.`, `-`, `_` and
/// spaces kept and anything else made `_`, no leading dot (never a hidden file, never `..`),
/// a stem of at most 80 characters and its extension kept, never a name Windows reserves.
pub(crate) fn safe_name(given: &str) -> String {
    let last = given.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            c if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') => c,
            _ => '_',
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| c == '.' || c == ' ');
    let (stem, extension) = match cleaned.rsplit_once('.') {
        Some((stem, ext))
            if !ext.is_empty()
                && ext.len() <= 5
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (stem, Some(ext.to_ascii_lowercase()))
        }
        _ => (cleaned, None),
    };
    let mut stem: String = stem
        .trim_end_matches(['.', ' '])
        .chars()
        .take(MAX_STEM)
        .collect();
    let reserved = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "LPT1", "LPT2",
    ];
    if stem.is_empty() || reserved.contains(&stem.to_ascii_uppercase().as_str()) {
        stem = format!("upload{}", if stem.is_empty() { "" } else { "-" }) + &stem;
    }
    match extension {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem,
    }
}

/// The extensions an upload may have: the files the page offers to choose (a CSV or text
/// file, a workbook). Compared without case.
pub(crate) const EXTENSIONS: &[&str] = &["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "ods"];

/// The endings of the files orgimport writes beside an input (`<stem>.results.csv`,
/// `<stem>.sandbox.results.csv`, the plan, the corrected copy, the verify and undo reports,
/// the problem rows): an upload named so would stand for one of them. Compared without case.
const TOOL_ENDINGS: &[&str] = &[
    ".results.csv",
    ".plan.csv",
    ".corrected.csv",
    ".verify.csv",
    ".undo.csv",
    ".problems.csv",
];

/// Why the stored name `name` (as [`safe_name`] made it) cannot be an upload's, if it cannot:
/// its extension is not one of [`EXTENSIONS`] (so never `orgimport.toml`, a mapping file, a
/// lock, a journal, a backup ...), or it ends as a file orgimport writes beside an input.
pub(crate) fn refused_name(name: &str) -> Option<String> {
    let lower = name.to_lowercase();
    let extension = lower.rsplit_once('.').map(|(_, ext)| ext);
    if !extension.is_some_and(|ext| EXTENSIONS.contains(&ext)) {
        return Some(format!(
            "{name:?} is not a customer file the console takes: its name must end in .{} \
             (rename it)",
            EXTENSIONS.join(", .")
        ));
    }
    if let Some(ending) = TOOL_ENDINGS.iter().find(|e| lower.ends_with(*e)) {
        return Some(format!(
            "{name:?} ends in {ending}, as a file orgimport writes itself: upload the \
             customer file under another name (rename it)"
        ));
    }
    None
}

/// Streams `body` into a new file of `dir` (0600, created new), never holding more than a
/// chunk; refuses it past `limit` bytes (the partial file removed). Returns the file, its
/// size and the SHA-256 of its bytes.
///
/// # Errors
/// 413 past the limit, 400 when the body breaks off, 500 when the disk refuses.
pub(crate) async fn receive(
    dir: &Path,
    body: Body,
    limit: u64,
) -> Result<(PathBuf, u64, [u8; 32]), ApiError> {
    let temp = dir.join(format!(
        ".orgimport-upload-{}.part",
        crate::settings::console::new_token()
    ));
    let file = private_file::open(&temp, Open::New).map_err(|e| disk(&temp, e))?;
    let result = write_body(tokio::fs::File::from_std(file), body, limit, &temp).await;
    match result {
        Ok((size, hash)) => Ok((temp, size, hash)),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Writes the body's chunks to `file` as they come, counting and hashing them.
async fn write_body(
    mut file: tokio::fs::File,
    mut body: Body,
    limit: u64,
    path: &Path,
) -> Result<(u64, [u8; 32]), ApiError> {
    let mut size = 0u64;
    let mut hash = Sha256::new();
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| ApiError::bad(format!("the upload broke off: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        size += data.len() as u64;
        if size > limit {
            return Err(too_large(limit));
        }
        hash.update(&data);
        file.write_all(&data).await.map_err(|e| disk(path, e))?;
    }
    file.flush().await.map_err(|e| disk(path, e))?;
    file.sync_all().await.map_err(|e| disk(path, e))?;
    Ok((size, hash.finalize().into()))
}

/// The refusal of an upload over `limit` bytes.
pub(crate) fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the file is larger than the console takes ({} MiB); import it with `orgimport \
             import` instead",
            limit >> 20
        ),
    )
}

/// A disk error, as a 500 naming the file.
fn disk(path: &Path, e: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("{}: {e}", path.display()),
    )
}

/// Gives the received file `temp` (whose bytes hash to `hash`) its name in `dir`: `name`,
/// else `stem-2.ext`, `stem-3.ext` ... the first free one. A file already there is never
/// replaced; when it holds the same bytes it is the same file (a second upload to resume a
/// run), and `temp` is dropped for it. Returns the file's path.
///
/// # Errors
/// 500 when the disk refuses, or a thousand names are taken.
pub(crate) fn place(
    dir: &Path,
    temp: &Path,
    name: &str,
    hash: &[u8; 32],
) -> Result<PathBuf, ApiError> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) => (stem, format!(".{ext}")),
        None => (name, String::new()),
    };
    for n in 1..1000 {
        let candidate = match n {
            1 => dir.join(name),
            n => dir.join(format!("{stem}-{n}{ext}")),
        };
        // A hard link fails when anything is at the name: no window in which a file of the
        // same name, put there meanwhile, would be replaced.
        match std::fs::hard_link(temp, &candidate) {
            Ok(()) => {
                let _ = std::fs::remove_file(temp);
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if same_bytes(&candidate, hash) {
                    let _ = std::fs::remove_file(temp);
                    return Ok(candidate);
                }
            }
            Err(e) => {
                let _ = std::fs::remove_file(temp);
                return Err(disk(&candidate, e));
            }
        }
    }
    let _ = std::fs::remove_file(temp);
    Err(ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "{}: a thousand files of this name are there already",
            dir.join(name).display()
        ),
    ))
}

/// Whether `path` is a regular file (not a link) whose bytes hash to `hash`.
fn same_bytes(path: &Path, hash: &[u8; 32]) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).is_ok() && <[u8; 32]>::from(hasher.finalize()) == *hash
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn a_safe_name_names_a_file_of_the_folder_only() {
        for (given, safe) in [
            ("customers.xlsx", "customers.xlsx"),
            ("../../etc/passwd", "passwd"),
            ("..", "upload"),
            ("/etc/cron.d/x.csv", "x.csv"),
            ("C:\\Users\\me\\Book 1.XLSX", "Book 1.xlsx"),
            ("a\0b.csv", "ab.csv"),
            (".bashrc", "bashrc"),
            ("nul.csv", "upload-nul.csv"),
            ("", "upload"),
            ("a/", "upload"),
            ("naïve café.csv", "naïve café.csv"),
            ("x;rm -rf $HOME.csv", "x_rm -rf _HOME.csv"),
        ] {
            assert_eq!(safe_name(given), safe, "{given:?}");
        }
        let long = format!("{}.csv", "a".repeat(10_000));
        assert_eq!(safe_name(&long), format!("{}.csv", "a".repeat(80)));
    }

    #[test]
    fn only_customer_files_not_named_as_the_tools_own_are_taken() {
        use super::refused_name;
        for ok in [
            "a.csv",
            "a.TSV",
            "b.txt",
            "c.xlsx",
            "c.xlsm",
            "c.xls",
            "c.ods",
            "x.sandbox.csv",
        ] {
            assert_eq!(refused_name(ok), None, "{ok}");
        }
        for bad in [
            "orgimport.toml",
            "orgimport-mapping-0a1b2c3d4e5f.toml",
            "a.results.csv",
            "a.sandbox.results.csv",
            "A.Results.CSV",
            "a.corrected.csv",
            "a.plan.csv",
            "a.verify.csv",
            "a.csv.lock",
            "a.results.csv.journal",
            "a.csv.bak",
            "a.results.csv.input",
            "upload",
            "a.exe",
        ] {
            assert!(refused_name(bad).is_some(), "{bad}");
        }
    }
}
