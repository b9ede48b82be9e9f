//! Checking, before a command sends its first request, that each file it will write (the
//! results file, the summary JSON, the plan, a report) can be written where the user named it.
//! A missing directory, a read-only one, or a read-only file is refused up front, in a message
//! that names the user's path and what to do, never a file orgimport keeps beside it.
//!
//! Read-only is read from the permission bits as well as tried: a file or directory nobody may
//! write to is refused even for root, whom the operating system would let through, so that a
//! file made read-only on purpose is never replaced.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::Path;

use crate::Error;

/// How a command writes a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing {
    /// Created, or overwritten where it is (the summary JSON, the plan, a report): the
    /// directory must let it be created when it is not there yet.
    InPlace,
    /// Written beside the old one and renamed over it, with files kept beside it while the
    /// run goes on (the results file): its directory must be writable.
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
