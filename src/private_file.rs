//! Opening the files orgimport creates: each holds customer data or a run's state (the results
//! file, its journal, lock and input copy, the plan, the verify and undo reports, an export,
//! the summary JSON), so each is created readable and writable by its owner only (0600),
//! whatever the umask, and only ever as a regular file: a symbolic link, a FIFO or a device
//! found at its name is refused, never followed or opened. A file that exists keeps its mode
//! when written again in place; a file written beside another and renamed over it (every
//! report, the summary JSON, the results file) gets the mode of the one it replaces from
//! [`keep_mode`], when that one is the user's own.
//!
//! Every file orgimport writes is opened here, and nowhere else (the checks of
//! [`crate::record::writable`] aside, which write nothing).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// How a file is opened; each creates it (0600) when it is not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// A new file: refused when anything is at its name (a temporary file, the input's copy).
    New,
    /// Written from its start, what it held dropped (a report, the summary JSON).
    Truncate,
    /// Appended to, and read (the journal).
    Append,
    /// Read and written where the caller seeks, what it holds kept (the lock).
    Update,
}

/// The mode of every file orgimport creates: its owner may read and write it, no one else.
pub(crate) const MODE: u32 = 0o600;

/// Opens `path` as `how` says: created 0600 when it is not there, refused when something else
/// than a regular file is at its name, or when it is put there meanwhile (never followed).
///
/// # Errors
/// The operating system's error; one of kind [`io::ErrorKind::InvalidInput`] saying what is
/// there (`this is a symbolic link, ...`) when it is not a regular file.
pub(crate) fn open(path: &Path, how: Open) -> io::Result<File> {
    refuse_other_than_a_file(path)?;
    let mut options = OpenOptions::new();
    match how {
        Open::New => options.write(true).create_new(true),
        Open::Truncate => options.write(true).create(true).truncate(true),
        Open::Append => options.read(true).append(true).create(true),
        Open::Update => options.read(true).write(true).create(true).truncate(false),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NOFOLLOW: a symbolic link put at the name since the look above is refused, not
        // followed. O_NONBLOCK: a FIFO put there does not block the open (it is refused just
        // below); on a regular file it changes nothing.
        options
            .mode(MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| {
        // What O_NOFOLLOW and O_NONBLOCK refuse, said as the look above says it.
        match refuse_other_than_a_file(path) {
            Err(refused) => refused,
            Ok(()) => e,
        }
    })?;
    let meta = file.metadata()?;
    if let Some(what) = not_a_file(&meta) {
        return Err(refusal(what));
    }
    Ok(file)
}

/// Writes `bytes` to a new file that replaces `path`: written beside it (`<path>.tmp`, 0600),
/// given the mode of the file it replaces as [`keep_mode`] says, and renamed over it. Never
/// written in place, so that a hard link or another user's file at `path` is never written
/// through. For whole files written at once (the summary JSON, an upload).
///
/// # Errors
/// As [`open`], and the disk's errors; what is at `path` is refused when it is not a regular
/// file (or nothing).
pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    refuse_other_than_a_file(path)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    remove_leftover(&tmp)?;
    let written = (|| {
        let mut file = open(&tmp, Open::New)?;
        keep_mode(path, &file)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        refuse_replacing(path)?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Gives `file`, written to replace `path` (renamed over it), the mode of the regular file at
/// `path`, so that a file the user made 0600 or 0640 stays so; nothing when there is none, or
/// when that file is not the user's own (another user's file, one of mode 0666 say, is no
/// choice of the user's: `file` stays 0600).
///
/// # Errors
/// The operating system's, when the mode cannot be set.
pub(crate) fn keep_mode(path: &Path, file: &File) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && is_own(&meta) => set_mode_of(file, &meta),
        _ => Ok(()),
    }
}

/// Whether the file of `meta` belongs to the user orgimport runs as (its effective user).
#[cfg(unix)]
fn is_own(meta: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    meta.uid() == unsafe { libc::geteuid() }
}

#[cfg(not(unix))]
fn is_own(_: &Metadata) -> bool {
    true
}

#[cfg(unix)]
fn set_mode_of(file: &File, meta: &Metadata) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // The permission bits only: never a set-user-id bit copied onto a new file.
    let mode = meta.permissions().mode() & 0o777;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode_of(file: &File, meta: &Metadata) -> io::Result<()> {
    file.set_permissions(meta.permissions())
}

/// Removes the regular file at `path` that a killed run left (a temporary file, the input's
/// copy), so that it can be created anew; nothing when there is none.
///
/// # Errors
/// One of kind [`io::ErrorKind::InvalidInput`] saying what is there when it is not a regular
/// file (a symbolic link someone put there is refused, not removed nor followed); the
/// operating system's when it cannot be removed.
pub(crate) fn remove_leftover(path: &Path) -> io::Result<()> {
    refuse_other_than_a_file(path)?;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Refuses what is at `path` (not followed, when a link) unless it is a regular file or
/// nothing.
///
/// # Errors
/// One of kind [`io::ErrorKind::InvalidInput`] saying what is there; the operating system's
/// when it cannot be looked at.
pub(crate) fn refuse_other_than_a_file(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => match not_a_file(&meta) {
            Some(what) => Err(refusal(what)),
            None => Ok(()),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Refuses to replace what is at `path` (renaming a file over it) unless it is a regular file,
/// or a link to one, or nothing: a device or a pipe named through a link (`/dev/stdout`)
/// included.
///
/// # Errors
/// One of kind [`io::ErrorKind::InvalidInput`] saying what is there.
pub(crate) fn refuse_replacing(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) => match not_a_file(&meta) {
            Some(what) => Err(refusal(what)),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// What `meta` says a file is, worded for a message (`a FIFO (named pipe)`), when it is not a
/// regular file.
pub(crate) fn not_a_file(meta: &Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_symlink() {
        return Some("a symbolic link");
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if kind.is_char_device() {
            return Some("a character device");
        }
        if kind.is_block_device() {
            return Some("a block device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// The error for a name at which `what` is found rather than a regular file.
fn refusal(what: &str) -> io::Error {
    let this = if what.starts_with("not ") {
        format!("this is {what}")
    } else {
        format!("this is {what}, not a regular file")
    };
    // A device or a directory is not the user's to remove.
    let fix = if what.contains("device") || what.contains("directory") {
        "choose another path"
    } else {
        "remove it, or choose another path"
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{this}, and orgimport writes only to a regular file, never through a link nor to \
             a device or a pipe; {fix}"
        ),
    )
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_file_is_0600_whatever_the_umask_and_an_old_one_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        for (n, how) in [Open::New, Open::Truncate, Open::Append, Open::Update]
            .into_iter()
            .enumerate()
        {
            let path = dir.path().join(format!("f{n}"));
            drop(open(&path, how).unwrap());
            assert_eq!(mode(&path), 0o600, "{how:?}");
        }
        let old = dir.path().join("old");
        std::fs::write(&old, "x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&old, b"y").unwrap();
        assert_eq!(
            (mode(&old), std::fs::read(&old).unwrap()),
            (0o640, b"y".to_vec())
        );
        let beside = dir.path().join("beside");
        let file = open(&beside, Open::New).unwrap();
        keep_mode(&old, &file).unwrap();
        assert_eq!(mode(&beside), 0o640);
    }

    #[test]
    fn a_link_a_fifo_or_a_device_is_refused_and_what_it_names_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, what) in [
            (&link, "this is a symbolic link, not a regular file"),
            (&fifo, "this is a FIFO (named pipe), not a regular file"),
            (
                &PathBuf::from("/dev/null"),
                "this is a character device, not a regular file",
            ),
        ] {
            for how in [Open::New, Open::Truncate, Open::Append, Open::Update] {
                let e = open(path, how).unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{how:?} {e}");
                assert!(e.to_string().starts_with(what), "{how:?} {e}");
            }
            assert!(remove_leftover(path).is_err());
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(link.symlink_metadata().is_ok() && fifo.exists());
        remove_leftover(&victim).unwrap();
        remove_leftover(&victim).unwrap();
        assert!(!victim.exists());
    }
}
