//! One run per results file: an operating-system lock on `<results>.lock`, taken by every
//! command that sends writes or writes the results file before it does either, and naming the
//! run that holds it (pid, host, start time) to the run it refuses.
//!
//! The lock is the operating system's (`flock` on Unix, `LockFileEx` on Windows), not the lock
//! file's existence: when a run is killed, the system releases its lock, so the file it leaves
//! behind is taken over by the next run, which says whose it was. A clean end removes the file.

use std::fmt;
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::private_file::{self, Open};

/// The lock file beside `results`.
pub fn lock_path(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The run holding (or last holding) a lock, as it wrote itself into the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holder {
    /// Its process id.
    pub pid: Option<u32>,
    /// The host it runs on (a lock on a shared disk may be held from another machine).
    pub host: Option<String>,
    /// When it took the lock (RFC 3339, UTC).
    pub started: Option<String>,
    /// The command it runs (`import`, `undo`).
    pub command: Option<String>,
}

impl Holder {
    /// This process, running `command`, now.
    fn this_process(command: &str) -> Holder {
        Holder {
            pid: Some(std::process::id()),
            host: Some(gethostname::gethostname().to_string_lossy().into_owned()),
            started: Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string()),
            command: Some(command.to_string()),
        }
    }

    /// The lock file's text: one `key=value` a line.
    fn to_text(&self) -> String {
        let mut text = String::new();
        let fields = [
            ("pid", self.pid.map(|p| p.to_string())),
            ("host", self.host.clone()),
            ("started", self.started.clone()),
            ("command", self.command.clone()),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                text.push_str(&format!("{key}={value}\n"));
            }
        }
        text
    }

    /// Reads a lock file's text; unknown lines and a torn last line are ignored, and `None`
    /// means it names no run at all (an empty file).
    fn parse(text: &str) -> Option<Holder> {
        let mut holder = Holder::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().to_string();
            match key.trim() {
                "pid" => holder.pid = value.parse().ok(),
                "host" => holder.host = Some(value),
                "started" => holder.started = Some(value),
                "command" => holder.command = Some(value),
                _ => {}
            }
        }
        (holder != Holder::default()).then_some(holder)
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unknown = "?";
        write!(
            f,
            "pid {} on host {}, started {}",
            self.pid.map_or(unknown.to_string(), |p| p.to_string()),
            self.host.as_deref().unwrap_or(unknown),
            self.started.as_deref().unwrap_or(unknown)
        )?;
        if let Some(command) = &self.command {
            write!(f, ", orgimport {command}")?;
        }
        Ok(())
    }
}

/// How many times a lock file replaced under this run (by the run before it ending) is
/// opened again before giving up.
const REOPENS: usize = 5;

/// The held lock on a results file; released, and its file removed, when dropped.
#[derive(Debug)]
pub struct ResultsLock {
    /// The lock file.
    path: PathBuf,
    /// The open lock file: the operating system's lock lives as long as it is open.
    file: Option<File>,
    /// The run that held the lock before and ended without removing it (killed, or its
    /// machine went down); `None` when the file was new or empty.
    pub taken_over: Option<Holder>,
}

impl ResultsLock {
    /// Takes the lock on `results` for this process, which runs `command`, and writes this
    /// process into the lock file; a lock file left by a run that is gone is taken over.
    ///
    /// # Errors
    /// [`Error::Busy`] naming the run that holds it; [`Error::Io`] naming the directory when
    /// `results`'s directory does not exist, or the lock file when it cannot be created or
    /// written.
    pub fn take(results: &Path, command: &str) -> Result<ResultsLock, Error> {
        let path = lock_path(results);
        let dir = match results.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            let file = results.file_name().unwrap_or_default().to_string_lossy();
            return Err(Error::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "no such directory, so the results file {file} cannot be written \
                         there; create it first"
                    ),
                ),
            ));
        }
        let io = |e| Error::io(&path, e);
        for _ in 0..REOPENS {
            let mut file = private_file::open(&path, Open::Update).map_err(io)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::Busy {
                        results: results.to_path_buf(),
                        holder: other_holder(&mut file),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
            // The run before may have removed the file between this open and this lock (as
            // it ends): this lock is then on a file nobody else opens, so open it again.
            if !still_at(&file, &path) {
                continue;
            }
            let taken_over = Holder::parse(&read_all(&mut file).map_err(io)?);
            let text = Holder::this_process(command).to_text();
            file.set_len(0).map_err(io)?;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            file.write_all(text.as_bytes()).map_err(io)?;
            file.flush().map_err(io)?;
            return Ok(ResultsLock {
                path,
                file: Some(file),
                taken_over,
            });
        }
        Err(io(std::io::Error::other(
            "the lock file kept being replaced while it was taken",
        )))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the lock file and releases the lock (as dropping does), at the end of a run.
    pub fn release(mut self) {
        self.remove();
    }

    /// Removes the file while the lock is still held, then closes it: a run that opened the
    /// file meanwhile finds it gone once it gets the lock, and opens a new one.
    fn remove(&mut self) {
        let Some(file) = self.file.take() else {
            return;
        };
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the lock file");
        }
        drop(file);
    }
}

impl Drop for ResultsLock {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The whole file, from its start.
fn read_all(file: &mut File) -> std::io::Result<String> {
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    Read::by_ref(file).take(64 * 1024).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The run holding the lock of `file`, as it says. A run that has just taken the lock may not
/// have written itself yet, so an empty file is read again a few times.
fn other_holder(file: &mut File) -> String {
    for _ in 0..20 {
        match read_all(file) {
            Ok(text) => {
                if let Some(holder) = Holder::parse(&text) {
                    return holder.to_string();
                }
            }
            // Windows' lock keeps other processes from reading the file at all.
            Err(e) => return format!("its pid, host and start time cannot be read: {e}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    "it has not written its pid, host and start time yet".to_string()
}

/// Whether `path` is still the file open as `file`.
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Whether `path` is still the file open as `file`: Windows does not let a file that another
/// process has open be replaced by a new one under its name, so it always is.
#[cfg(not(unix))]
fn still_at(_file: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_a_released_one_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("out.csv");
        let first = ResultsLock::take(&results, "import").unwrap();
        assert_eq!(first.taken_over, None);
        assert_eq!(first.path(), dir.path().join("out.csv.lock"));
        let text = std::fs::read_to_string(first.path()).unwrap();
        assert!(
            text.contains(&format!("pid={}\n", std::process::id())),
            "{text}"
        );

        let err = ResultsLock::take(&results, "undo").unwrap_err();
        let Error::Busy { results: named, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(named, &results);
        let message = err.to_string();
        assert!(message.contains("out.csv"), "{message}");
        assert!(
            message.contains(&format!("pid {} on host ", std::process::id())),
            "{message}"
        );
        assert!(message.contains("orgimport import"), "{message}");

        first.release();
        assert!(!dir.path().join("out.csv.lock").exists());
        let again = ResultsLock::take(&results, "undo").unwrap();
        assert_eq!(
            again.taken_over, None,
            "a released lock leaves nothing behind"
        );
        drop(again);
        assert!(!dir.path().join("out.csv.lock").exists());
    }

    #[test]
    fn a_lock_file_left_by_a_run_that_is_gone_is_taken_over_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("out.csv");
        // A killed run's file: the system released its lock, the file stayed, its last line
        // torn by whatever stopped it.
        std::fs::write(
            lock_path(&results),
            "pid=4242\nhost=elsewhere\nstarted=2026-01-02T03:04:05Z\ncommand=imp",
        )
        .unwrap();
        let lock = ResultsLock::take(&results, "import").unwrap();
        let before = lock.taken_over.clone().unwrap();
        assert_eq!(
            (
                before.pid,
                before.host.as_deref(),
                before.started.as_deref()
            ),
            (Some(4242), Some("elsewhere"), Some("2026-01-02T03:04:05Z"))
        );
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert!(
            !text.contains("4242"),
            "the file now names this run: {text}"
        );
    }

    #[test]
    fn a_missing_directory_is_named_rather_than_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir");
        let err = ResultsLock::take(&missing.join("out.csv"), "import").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&missing.display().to_string()),
            "{message}"
        );
        assert!(message.contains("no such directory"), "{message}");
        assert!(!message.contains(".lock"), "{message}");
    }

    #[test]
    fn holder_text_round_trips_and_an_empty_file_names_no_one() {
        let holder = Holder::this_process("undo");
        assert_eq!(Holder::parse(&holder.to_text()), Some(holder));
        assert_eq!(Holder::parse(""), None);
        assert_eq!(Holder::parse("junk\n"), None);
    }
}
