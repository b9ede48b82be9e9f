//! `-` as the path of a report (the plan, the verify and undo reports, an export, the summary
//! JSON): the report is written to standard output, straight, with nothing else there (every
//! message and the progress go to stderr). There is no file to check, to write beside and
//! rename, or to keep the mode of; a reader that closes the pipe early (`| head`) ends the
//! report there, and that is not an error.
//!
//! Where a file is needed (the results file, which a rerun resumes from and `undo` reads),
//! `-` is refused when the settings are resolved.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The output path that means standard output.
pub(crate) const STDOUT: &str = "-";

/// Whether `path` names standard output ([`STDOUT`]).
pub(crate) fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == STDOUT
}

/// How messages name a report's place: `standard output` for `-`, else the path.
pub(crate) fn shown(path: &Path) -> String {
    if is_stdout(path) {
        "standard output".to_string()
    } else {
        path.display().to_string()
    }
}

/// Standard output as a report's writer: a closed pipe swallows the rest, without an error.
#[derive(Debug, Default)]
pub(crate) struct Stdout {
    /// The reader went away: nothing more is written.
    closed: bool,
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.closed {
            match io::stdout().lock().write_all(buf) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => self.closed = true,
                other => other?,
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match io::stdout().lock().flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// Writes `bytes`, a whole report, to standard output.
///
/// # Errors
/// The operating system's (a closed pipe aside).
pub(crate) fn write_all(bytes: &[u8]) -> io::Result<()> {
    let mut out = Stdout::default();
    out.write_all(bytes)?;
    out.flush()
}

/// A private folder in the system's temporary directory (0700, removed with what it holds
/// when dropped), for a report that must be read back before it is shown: an export on
/// standard output is written here, read back as `import` would read it, then copied out.
#[derive(Debug)]
pub(crate) struct Staging {
    dir: PathBuf,
}

impl Staging {
    /// Creates the folder, under a name no other folder has.
    ///
    /// # Errors
    /// The operating system's, when no folder can be created there.
    pub(crate) fn new() -> io::Result<Staging> {
        let base = std::env::temp_dir();
        let mut last = None;
        for n in 0..100u32 {
            let dir = base.join(format!("orgimport-{}-{n}", std::process::id()));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            match builder.create(&dir) {
                Ok(()) => return Ok(Staging { dir }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free name")))
    }

    /// The file `name` in the folder.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Copies the CSV file at `path` to standard output, without its byte-order mark.
///
/// # Errors
/// The operating system's (a closed pipe aside).
pub(crate) fn copy_csv(path: &Path) -> io::Result<()> {
    let bytes = std::fs::read(path)?;
    write_all(bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lone_dash_is_standard_output() {
        assert!(is_stdout(Path::new("-")));
        for other in ["./-", "-.csv", "--", ""] {
            assert!(!is_stdout(Path::new(other)), "{other}");
        }
        assert_eq!(shown(Path::new("-")), "standard output");
        assert_eq!(shown(Path::new("r.csv")), "r.csv");
    }
}
