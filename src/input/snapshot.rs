//! The input pinned for a run: a copy taken when the run starts, beside the results file, that
//! every pass of the run reads (the plan, each wave's rows, the results file), so that an edit
//! of the input during the run cannot pair one row with another row's outcome; and, at the
//! end, whether the input was changed meanwhile.
//!
//! A copy costs one pass of disk I/O and the file's size on disk for the length of the run
//! (`copy_file_range` on Linux, a clone on file systems that have them), and no memory:
//! holding the rows in memory instead would double an import's peak at a million rows.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::private_file::{self, Open};

/// The input name that means standard input: an import reads it once, into its copy.
pub const STDIN: &str = "-";

/// Whether `input` names standard input ([`STDIN`]).
pub fn is_stdin(input: &Path) -> bool {
    input.as_os_str() == STDIN
}

/// The copy beside `results`.
pub fn snapshot_path(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".input");
    PathBuf::from(name)
}

/// What the metadata says of a file, to notice a change without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    /// Its size.
    len: u64,
    /// When it was last written.
    modified: Option<SystemTime>,
    /// Which file it is (device and inode), so that one saved under the name is noticed.
    #[cfg(unix)]
    identity: (u64, u64),
}

impl Stamp {
    fn of(path: &Path) -> std::io::Result<Stamp> {
        let meta = std::fs::metadata(path)?;
        Ok(Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            identity: {
                use std::os::unix::fs::MetadataExt;
                (meta.dev(), meta.ino())
            },
        })
    }
}

/// How many times a copy is taken again when the input changed while it was copied.
const COPIES: usize = 3;

/// A file written this shortly before it was copied may be written again without its
/// modification time moving (the clock the file system stamps with is coarse), so its bytes
/// are compared at the end even when its metadata is unchanged.
const RACY: Duration = Duration::from_secs(2);

/// The input as it was when the run started, in a file of its own; removed when dropped.
#[derive(Debug)]
pub struct InputSnapshot {
    /// The input as the user named it: for messages, and to compare with at the end.
    input: PathBuf,
    /// The copy every pass reads.
    copy: PathBuf,
    /// The input's metadata when it was copied; `None` when it is not a regular file (a pipe
    /// can be read once only, and cannot be compared).
    stamp: Option<Stamp>,
    /// When the copy was taken.
    copied_at: SystemTime,
}

impl InputSnapshot {
    /// Copies `input` beside `results` (replacing a copy a killed run left there).
    ///
    /// # Errors
    /// [`Error::Io`] when the input cannot be read or the copy written; [`Error::Input`] when
    /// the input is the copy's own path, or changed each time it was copied (it is being
    /// written: run again once it is saved).
    pub fn take(input: &Path, results: &Path) -> Result<InputSnapshot, Error> {
        let copy = snapshot_path(results);
        if !is_stdin(input) && same_file(input, &copy) {
            return Err(Error::Input {
                path: input.to_path_buf(),
                message: format!(
                    "this name is where orgimport keeps its copy of the input for the results \
                     file {}; rename the input or choose another --out",
                    results.display()
                ),
            });
        }
        // Standard input is read once, like a pipe: its copy is the input.
        let regular = !is_stdin(input)
            && std::fs::metadata(input)
                .map_err(|e| Error::io(input, e))?
                .is_file();
        for _ in 0..COPIES {
            // A copy a killed run left; anything else at its name is refused, not followed.
            private_file::remove_leftover(&copy).map_err(|e| Error::io(&copy, e))?;
            let before = regular
                .then(|| Stamp::of(input))
                .transpose()
                .map_err(|e| Error::io(input, e))?;
            copy_file(input, &copy)?;
            let after = regular
                .then(|| Stamp::of(input))
                .transpose()
                .map_err(|e| Error::io(input, e))?;
            let copied_len = std::fs::metadata(&copy)
                .map_err(|e| Error::io(&copy, e))?
                .len();
            if before == after && after.as_ref().is_none_or(|s| s.len == copied_len) {
                return Ok(InputSnapshot {
                    input: input.to_path_buf(),
                    copy,
                    stamp: after,
                    copied_at: SystemTime::now(),
                });
            }
        }
        remove(&copy)?;
        Err(Error::Input {
            path: input.to_path_buf(),
            message: "the file changed each time it was read; run again once it is saved".into(),
        })
    }

    /// The copy, which every pass of the run reads.
    pub fn path(&self) -> &Path {
        &self.copy
    }

    /// `error` naming the input where it names the copy: a problem found in the copy's rows
    /// is the input's.
    pub fn named_as_input(&self, error: Error) -> Error {
        match error {
            Error::Input { path, message } if path == self.copy => Error::Input {
                path: self.input.clone(),
                message,
            },
            Error::Io { path, error } if path == self.copy => Error::Io {
                path: self.input.clone(),
                error,
            },
            other => other,
        }
    }

    /// How the input differs now from the copy, if it does: `None` when it is the same. The
    /// metadata is compared first; the bytes are read only when it differs, or when the input
    /// had been written just before it was copied.
    pub fn change(&self) -> Option<String> {
        let then = self.stamp.as_ref()?;
        let now = match Stamp::of(&self.input) {
            Ok(now) => now,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Some("it was removed".to_string());
            }
            Err(e) => return Some(format!("it cannot be read any more ({e})")),
        };
        let racy = then.modified.is_none_or(|modified| {
            self.copied_at
                .duration_since(modified)
                .is_ok_and(|age| age < RACY)
                || modified > self.copied_at
        });
        if &now == then && !racy {
            return None;
        }
        match same_bytes(&self.input, &self.copy) {
            Ok(true) => None,
            Ok(false) => Some("its content changed".to_string()),
            Err(e) => Some(format!("it cannot be compared any more ({e})")),
        }
    }

    /// Removes the copy at the end of the run (as dropping does).
    pub fn remove(mut self) {
        self.remove_copy();
    }

    fn remove_copy(&mut self) {
        if self.copy.as_os_str().is_empty() {
            return;
        }
        if let Err(e) = remove(&self.copy) {
            tracing::warn!(error = %e, "cannot remove the input's copy");
        }
        self.copy = PathBuf::new();
    }
}

impl Drop for InputSnapshot {
    fn drop(&mut self) {
        self.remove_copy();
    }
}

/// Removes `path` if it is there.
fn remove(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// Copies `from` to a new file `to`, its bytes only (a read-only input gives a writable copy,
/// readable by its owner only).
fn copy_file(from: &Path, to: &Path) -> Result<(), Error> {
    let mut source: Box<dyn Read> = if is_stdin(from) {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(from).map_err(|e| Error::io(from, e))?)
    };
    let mut target = private_file::open(to, Open::New).map_err(|e| Error::io(to, e))?;
    std::io::copy(&mut source, &mut target).map_err(|e| Error::io(to, e))?;
    Ok(())
}

/// Whether `a` and `b` name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether the files `a` and `b` hold the same bytes, read side by side.
fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    const BLOCK: usize = 256 * 1024;
    let (mut a, mut b) = (
        BufReader::with_capacity(BLOCK, File::open(a)?),
        BufReader::with_capacity(BLOCK, File::open(b)?),
    );
    let (mut x, mut y) = (vec![0u8; BLOCK], vec![0u8; BLOCK]);
    loop {
        let n = read_full(&mut a, &mut x)?;
        let m = read_full(&mut b, &mut y)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Fills `buf` as far as the file goes; the count is short only at its end.
pub(super) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_holds_the_input_as_it_was_and_a_change_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        let results = dir.path().join("in.results.csv");
        std::fs::write(&input, "name\na\nb\n").unwrap();
        let snapshot = InputSnapshot::take(&input, &results).unwrap();
        assert_eq!(snapshot.path(), dir.path().join("in.results.csv.input"));
        assert_eq!(snapshot.change(), None);

        // Saved again with the same bytes: not a change.
        std::fs::write(&input, "name\na\nb\n").unwrap();
        assert_eq!(snapshot.change(), None);

        // One row removed, one added: the copy keeps the rows as they were.
        std::fs::write(&input, "name\nb\nc\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(snapshot.path()).unwrap(),
            "name\na\nb\n"
        );
        assert_eq!(snapshot.change().as_deref(), Some("its content changed"));

        // Rewritten in place to the same length within one tick of a coarse clock: the
        // metadata says nothing, the bytes do.
        drop(snapshot);
        std::fs::write(&input, "name\na\nb\n").unwrap();
        let snapshot = InputSnapshot::take(&input, &results).unwrap();
        let modified = std::fs::metadata(&input).unwrap().modified().unwrap();
        std::fs::write(&input, "name\nc\nd\n").unwrap();
        let file = File::options().write(true).open(&input).unwrap();
        file.set_modified(modified).unwrap();
        drop(file);
        assert_eq!(snapshot.change().as_deref(), Some("its content changed"));
        std::fs::remove_file(&input).unwrap();
        assert_eq!(snapshot.change().as_deref(), Some("it was removed"));

        let copy = snapshot.path().to_path_buf();
        snapshot.remove();
        assert!(!copy.exists());
    }

    #[test]
    fn a_copy_left_by_a_killed_run_is_replaced_and_a_read_only_input_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        let results = dir.path().join("in.results.csv");
        std::fs::write(&input, "name\nnew\n").unwrap();
        let mut perms = std::fs::metadata(&input).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&input, perms).unwrap();
        std::fs::write(snapshot_path(&results), "name\nold\nrows\n").unwrap();
        for _ in 0..2 {
            let snapshot = InputSnapshot::take(&input, &results).unwrap();
            assert_eq!(
                std::fs::read_to_string(snapshot.path()).unwrap(),
                "name\nnew\n"
            );
            // Dropped without `remove`, as by an early return: removed all the same.
        }
        assert!(!snapshot_path(&results).exists());
    }

    #[test]
    fn errors_about_the_copy_name_the_input_and_the_copy_never_replaces_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        let results = dir.path().join("out.csv");
        std::fs::write(&input, "name\na\n").unwrap();
        let snapshot = InputSnapshot::take(&input, &results).unwrap();
        let named = snapshot.named_as_input(Error::Input {
            path: snapshot.path().to_path_buf(),
            message: "line 2: bad".into(),
        });
        assert_eq!(
            named.to_string(),
            format!("{}: line 2: bad", input.display())
        );
        drop(snapshot);

        // An input named as the copy of the results file `in.csv` would be: refused, kept.
        let clash = dir.path().join("r.csv.input");
        std::fs::write(&clash, "name\na\n").unwrap();
        let err = InputSnapshot::take(&clash, &dir.path().join("r.csv")).unwrap_err();
        assert!(err.to_string().contains("rename the input"), "{err}");
        assert_eq!(std::fs::read_to_string(&clash).unwrap(), "name\na\n");
    }
}
