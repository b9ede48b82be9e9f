//! Checking, before a command sends its first request, that each file it will write (the
//! results file, the summary JSON, the plan, a report, an export) can be written where the
//! user named it, and may be. A missing directory, a read-only one, or a read-only file is
//! refused up front, in a message that names the user's path and what to do, never a file
//! orgimport keeps beside it.
//!
//! Read-only is read from the permission bits as well as tried: a file or directory nobody may
//! write to is refused even for root, whom the operating system would let through, so that a
//! file made read-only on purpose is never replaced.
//!
//! What orgimport writes is only ever a regular file: a device or a FIFO named as the results
//! file is refused before it is read (a device would be read without end, a FIFO would hang).
//! A report ([`check_report`]: the plan, the verify and undo reports, the summary JSON, an
//! export) is also refused at a symbolic link, and over an import's results file or journal,
//! whichever import it is: `undo` and a rerun need them. The files themselves are opened by
//! [`crate::private_file`], which refuses the same at the moment they are opened.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use csv::StringRecord;

use super::journal::is_journal_header;
use super::layout::{Layout, restore};
use crate::Error;
use crate::private_file;

/// How a command writes a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing {
    /// Created, or overwritten where it is: the directory must let it be created when it is
    /// not there yet. (Every report is now [`Writing::Replaced`], never written in place.)
    InPlace,
    /// Written beside the old one and renamed over it (the results file, every report, the
    /// summary JSON, an export): its directory must be writable.
    Replaced,
}

/// Checks that `path`, which is `what` (e.g. "the results file", for the message), can be
/// written as `how` says, writing nothing that stays.
///
/// # Errors
/// [`Error::Io`] naming the directory the user gave when it is missing, not a directory,
/// read-only or refuses a new file (`nodir: no such directory, so the results file r.csv
/// cannot be written there; ...`), as the results file's lock has always said; naming `path`
/// when it is a directory, or exists and is read-only or cannot be opened for writing.
pub fn check_writable(path: &Path, what: &str, how: Writing) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    // The directory's problem, then what it means and what to do.
    let refuse_dir = |kind: ErrorKind, problem: String, fix: &str| {
        let message = format!("{problem}, so {what} {file} cannot be written there; {fix}");
        Err(Error::io(dir, std::io::Error::new(kind, message)))
    };
    let refuse_file =
        |kind: ErrorKind, message: String| Err(Error::io(path, std::io::Error::new(kind, message)));
    let dir_meta = match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => meta,
        Ok(_) => {
            return refuse_dir(
                ErrorKind::NotADirectory,
                "not a directory".into(),
                "choose another path",
            );
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return refuse_dir(
                ErrorKind::NotFound,
                "no such directory".into(),
                "create it first, or choose another path",
            );
        }
        Err(e) => return refuse_dir(e.kind(), e.to_string(), "choose another path"),
    };
    let existing = match std::fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return refuse_file(e.kind(), format!("cannot reach {what}: {e}")),
    };
    if let Some(meta) = &existing {
        if meta.is_dir() {
            return refuse_file(
                ErrorKind::IsADirectory,
                format!("this is a directory; name a file for {what}"),
            );
        }
        if let Some(kind) = private_file::not_a_file(meta) {
            return Err(not_regular(path, kind, what));
        }
        if meta.permissions().readonly() {
            return refuse_file(
                ErrorKind::PermissionDenied,
                format!(
                    "{what} is read-only, and orgimport does not replace a read-only file; \
                     make it writable (chmod u+w), or choose another path"
                ),
            );
        }
        // Opened to append, so nothing in it changes.
        if let Err(e) = OpenOptions::new().append(true).open(path) {
            return refuse_file(e.kind(), format!("{what} cannot be written: {e}"));
        }
    }
    if existing.is_none() || how == Writing::Replaced {
        // (Windows sets the read-only attribute of many a folder without meaning it: there,
        // only the try below counts.)
        if cfg!(unix) && dir_meta.permissions().readonly() {
            return refuse_dir(
                ErrorKind::PermissionDenied,
                "the directory is read-only".into(),
                "make it writable, or choose another path",
            );
        }
        if let Err(e) = try_create_in(dir) {
            return refuse_dir(
                e.kind(),
                format!("no file can be created in it ({e})"),
                "choose another path",
            );
        }
    }
    Ok(())
}

/// Checks that `path`, where a command writes `what`, a report (the plan, the verify or undo
/// report, the summary JSON, an export), may be written there, as [`check_writable`] does for
/// `how`, and that it is not a symbolic link, a device, a FIFO or a socket, nor `input` (the
/// customer file the command reads), nor `results` (the results file the command reads or
/// writes) nor any import's results file or journal, nor a file whose header is the input
/// columns of `results` (the input of the import that wrote it). `-` (standard output) is no
/// file: nothing to check.
///
/// # Errors
/// As [`check_writable`]; [`Error::Io`] naming `path` and what it is when it is one of those.
pub fn check_report(
    path: &Path,
    what: &str,
    how: Writing,
    results: Option<&Path>,
    input: Option<&Path>,
) -> Result<(), Error> {
    if crate::stdout::is_stdout(path) {
        return Ok(());
    }
    let refuse = |message: String| {
        Err(Error::io(
            path,
            std::io::Error::new(ErrorKind::InvalidInput, message),
        ))
    };
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.is_dir()
        && let Some(kind) = private_file::not_a_file(&meta)
    {
        let (this, fix) = if meta.file_type().is_symlink() {
            (kind.to_string(), "it is not followed")
        } else {
            (format!("{kind}, not a regular file"), "it is not opened")
        };
        return refuse(format!(
            "this is {this}, and {what} is written only to a regular file, so {fix}; choose \
             another path"
        ));
    }
    if let Some(input) = input
        && same_place(path, input)
    {
        return refuse(format!(
            "this is the input file of this command, and {what} is never written over it; \
             choose another path"
        ));
    }
    if let Some(results) = results
        && same_place(path, results)
    {
        return refuse(format!(
            "this is the results file of this import, and {what} is never written over it; \
             choose another path"
        ));
    }
    if let Some(kind) = import_file(path) {
        return refuse(format!(
            "this is {kind}, and {what} is never written over one (undo and a rerun need it); \
             choose another path"
        ));
    }
    if let Some(results) = results
        && is_input_of(path, results)
    {
        return refuse(format!(
            "its columns are the input columns of {}: it is the input of the import that \
             wrote it, and {what} is never written over an input; choose another path",
            results.display()
        ));
    }
    check_writable(path, what, how)
}

/// Refuses `path`, which is `what`, when something other than a regular file is there (a
/// link followed): orgimport reads and writes its files only as regular files.
///
/// # Errors
/// [`Error::Io`] naming `path` and what it is.
pub fn check_regular(path: &Path, what: &str) -> Result<(), Error> {
    match std::fs::metadata(path) {
        Ok(meta) => match private_file::not_a_file(&meta) {
            Some(kind) => Err(not_regular(path, kind, what)),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// The error for `path`, which is `what`, found to be `kind`, not a regular file.
fn not_regular(path: &Path, kind: &str, what: &str) -> Error {
    let message = format!(
        "this is {kind}, not a regular file, and {what} is read and written only as a regular \
         file (it is not opened); choose another path"
    );
    Error::io(path, std::io::Error::new(ErrorKind::InvalidInput, message))
}

/// Whether `a` and `b` name one file, existing or not: the same file when both exist, else
/// the same name in the same directory.
fn same_place(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return (x.dev(), x.ino()) == (y.dev(), y.ino());
        }
    }
    match (place(a), place(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Where `path` is: its own canonical path, or its directory's and its name.
fn place(path: &Path) -> Option<PathBuf> {
    if let Ok(place) = path.canonicalize() {
        return Some(place);
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Some(dir.canonicalize().ok()?.join(path.file_name()?))
}

/// How much of a file is read to tell whether its header is a results file's.
const HEADER_READ: u64 = 1024 * 1024;

/// The delimiters a results file may have (those of the inputs orgimport reads).
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// What import file the regular file at `path` is, by its header (`an import's results
/// file`, `an import's journal`); `None` for any other file, or none.
fn import_file(path: &Path) -> Option<&'static str> {
    header_of(path)?.into_iter().find_map(|headers| {
        if Layout::of(&headers).is_ok() {
            Some("an import's results file")
        } else if is_journal_header(&headers) {
            Some("an import's journal")
        } else {
            None
        }
    })
}

/// Whether the regular file at `path` has for header the input columns of the results file
/// `results`, in a delimiter orgimport reads: the customer file its import read.
fn is_input_of(path: &Path, results: &Path) -> bool {
    let Some(input_columns) = header_of(results).and_then(|candidates| {
        candidates.into_iter().find_map(|headers| {
            let width = Layout::of(&headers).ok()?.input_width();
            Some(headers.iter().take(width).collect::<Vec<_>>().join("\u{0}"))
        })
    }) else {
        return false;
    };
    header_of(path).is_some_and(|candidates| {
        candidates.into_iter().any(|headers| {
            headers.len() > 1 && headers.iter().collect::<Vec<_>>().join("\u{0}") == input_columns
        })
    })
}

/// The first line of the regular file at `path` read as a header in each delimiter
/// orgimport reads (its cells trimmed and restored); `None` when it cannot be read.
fn header_of(path: &Path) -> Option<Vec<StringRecord>> {
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut head = Vec::new();
    file.take(HEADER_READ).read_to_end(&mut head).ok()?;
    let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&head);
    let line = &head[..memchr::memchr(b'\n', head).unwrap_or(head.len())];
    Some(
        DELIMITERS
            .into_iter()
            .filter_map(|delimiter| {
                let headers: StringRecord = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .delimiter(delimiter)
                    .from_reader(line)
                    .records()
                    .next()?
                    .ok()?
                    .iter()
                    .map(|cell| restore(cell.trim()))
                    .collect();
                Some(headers)
            })
            .collect(),
    )
}

/// Creates and removes a file of a name nothing else uses in `dir`: whether a file can be
/// created there (ownership, a read-only file system and access rules included).
fn try_create_in(dir: &Path) -> std::io::Result<()> {
    for n in 0..100 {
        let probe = dir.join(format!(".orgimport-write-check-{}-{n}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&probe) {
            Ok(file) => {
                drop(file);
                return std::fs::remove_file(&probe);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn set_mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn refused(path: &Path, how: Writing) -> String {
        check_writable(path, "the results file", how)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_missing_or_read_only_place_is_refused_naming_the_users_path() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.csv");
        check_writable(&results, "the results file", Writing::Replaced).unwrap();
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "nothing is left behind"
        );

        let missing = dir.path().join("nodir");
        let message = refused(&missing.join("r.csv"), Writing::InPlace);
        assert_eq!(
            message,
            format!(
                "{}: no such directory, so the results file r.csv cannot be written there; \
                 create it first, or choose another path",
                missing.display()
            )
        );

        std::fs::write(&results, "x").unwrap();
        set_mode(&results, 0o444);
        let message = refused(&results, Writing::Replaced);
        assert!(
            message.contains("the results file is read-only"),
            "{message}"
        );
        assert_eq!(std::fs::read_to_string(&results).unwrap(), "x");

        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        set_mode(&locked, 0o555);
        let message = refused(&locked.join("r.csv"), Writing::InPlace);
        assert_eq!(
            message,
            format!(
                "{}: the directory is read-only, so the results file r.csv cannot be written \
                 there; make it writable, or choose another path",
                locked.display()
            )
        );
        // (The temp dir's own name starts with `.tmp`.)
        let words = message.replace(&dir.path().display().to_string(), "");
        for internal in [".journal", ".tmp", ".bak", ".lock", ".input"] {
            assert!(!words.contains(internal), "{message}");
        }

        let message = refused(dir.path(), Writing::InPlace);
        assert!(message.contains("this is a directory"), "{message}");
    }

    #[test]
    fn an_imports_results_file_or_journal_is_told_by_its_header_whatever_its_delimiter() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "\u{feff}name;status;org_id;http_status;error;attempts;changes\na;created;o;201;;1;\n",
                Some("an import's results file"),
            ),
            (
                "name\tstatus\torg_id\thttp_status\terror\tattempts\r\n",
                Some("an import's results file"),
            ),
            (
                "key,status,org_id,http_status,attempts,error\n",
                Some("an import's journal"),
            ),
            (
                "name;status;org_id;http_status;error;attempts;changes;tenant\n",
                Some("an import's results file"),
            ),
            (
                "key,status,org_id,http_status,attempts,error,changes,tenant: demo at \
                 http://127.0.0.1:1\n",
                Some("an import's journal"),
            ),
            (
                "key,status,org_id,http_status,attempts,error,changes,notes\n",
                None,
            ),
            ("name,action,org_id,changes,reason\na,create,,,\n", None),
            ("{\"exit_code\": 0}\n", None),
            ("", None),
        ];
        for (n, (text, kind)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("f{n}"));
            std::fs::write(&path, text).unwrap();
            assert_eq!(import_file(&path), kind, "{text:?}");
        }
        assert_eq!(import_file(&dir.path().join("missing")), None);
    }

    #[test]
    fn a_writable_file_in_a_read_only_directory_may_be_overwritten_in_place_only() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.verify.csv");
        std::fs::write(&report, "old").unwrap();
        set_mode(dir.path(), 0o555);
        check_writable(&report, "the verify report", Writing::InPlace).unwrap();
        let message = refused(&report, Writing::Replaced);
        assert!(message.contains("is read-only"), "{message}");
        set_mode(dir.path(), 0o755);
    }
}
