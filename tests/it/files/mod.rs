//! The files orgimport writes on a shared machine: each one it creates is its owner's only
//! (0600 under any umask), one that exists keeps its mode, and no command writes through a
//! link planted at one of its names, to a device or a FIFO, or over an import's results file.
//! Each command is the real binary, run with umask 022, against a sandbox over HTTP.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use orgimport::record::{journal_path, lock_path};
use orgimport::sandbox::{Faults, SandboxConfig};

use crate::fixture::{Fixture, customers};
use crate::util::{TestSandbox, start_sandbox};

mod special;

/// How long a command may take before it is taken for hung (on a FIFO) and killed.
const HUNG: Duration = Duration::from_secs(15);

/// The binary run in `dir` with umask 022 and a clean environment pointed at `sandbox` (the
/// secret in the environment, never argv), as `ops::bin_for`.
fn orgimport(sandbox: &TestSandbox, dir: &Path, args: &[&str]) -> Command {
    let c = sandbox.sandbox.config();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orgimport"));
    cmd.args(args)
        .env_clear()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("ORGIMPORT_BASE_URL", &sandbox.base_url)
        .env("ORGIMPORT_TENANT", &c.tenant)
        .env("ORGIMPORT_CLIENT_ID", &c.client_id)
        .env("ORGIMPORT_CLIENT_SECRET", sandbox.secret())
        .env("ORGIMPORT_TEMPLATE_ID", &c.template_id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: umask is async-signal-safe and touches only the child's own state.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    cmd
}

/// Runs `args` to its end off the runtime's thread (so that the sandbox answers), killed
/// when it takes longer than [`HUNG`]: its exit code (`None` when killed) and stderr.
async fn run(sandbox: &TestSandbox, dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = orgimport(sandbox, dir, args).spawn().unwrap();
    let started = Instant::now();
    let out: Output = tokio::task::spawn_blocking(move || {
        while child.try_wait().unwrap().is_none() && started.elapsed() < HUNG {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code();
    assert!(
        code.is_some(),
        "{args:?} hung (killed after {HUNG:?}): {stderr}"
    );
    (code, stderr)
}

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string; mkfifo only reads it.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// The `.input` copy beside `results`.
fn input_copy(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".input");
    PathBuf::from(name)
}

/// Requests the sandbox answered, of any kind.
fn requests(sandbox: &TestSandbox) -> u64 {
    let stats = sandbox.sandbox.stats();
    stats.token_requests + stats.api_requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_orgimport_creates_is_its_owners_only_under_umask_022() {
    let sandbox = start_sandbox(SandboxConfig {
        faults: Faults {
            latency: Duration::from_millis(5),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let fixture = Fixture::new(&customers(400));
    let dir = fixture.dir.path();
    let results = fixture.results();

    // A run killed mid-way leaves its journal, lock and input copy behind: as a crash does.
    let mut child = orgimport(
        &sandbox,
        dir,
        &[
            "import",
            "customers.csv",
            "--rate",
            "50",
            "--concurrency",
            "2",
        ],
    )
    .spawn()
    .unwrap();
    let journal = journal_path(&results);
    let started = Instant::now();
    while std::fs::metadata(&journal).map_or(true, |m| m.len() < 200) {
        assert!(started.elapsed() < HUNG, "the run wrote no journal");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for left in [journal.clone(), lock_path(&results), input_copy(&results)] {
        assert_eq!(mode(&left), 0o600, "{}", left.display());
    }

    // The same command finishes the run; then every report there is.
    let (code, stderr) = run(
        &sandbox,
        dir,
        &[
            "import",
            "customers.csv",
            "--rate",
            "1000",
            "--summary-json",
            "s.json",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let commands: [&[&str]; 4] = [
        &["plan", "customers.csv", "--out", "p.csv", "--rate", "1000"],
        &["verify", "customers.results.csv", "--rate", "1000"],
        &["export", "--out", "e.csv", "--rate", "1000"],
        &["undo", "customers.results.csv", "--yes", "--rate", "1000"],
    ];
    for args in commands {
        let (code, stderr) = run(&sandbox, dir, args).await;
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
    for name in [
        "customers.results.csv",
        "s.json",
        "p.csv",
        "customers.verify.csv",
        "e.csv",
        "customers.undo.csv",
    ] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_results_file_rewritten_by_a_rerun_or_undo_keeps_its_mode() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(4));
    let dir = fixture.dir.path();
    let results = fixture.results();
    let (code, stderr) = run(&sandbox, dir, &["import", "customers.csv"]).await;
    assert_eq!(code, Some(0), "{stderr}");

    // A rerun with a row more writes the results file anew, beside it and renamed over it.
    set_mode(&results, 0o640);
    std::fs::write(fixture.input(), customers(5)).unwrap();
    let before = std::fs::read(&results).unwrap();
    let (code, stderr) = run(&sandbox, dir, &["import", "customers.csv"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_ne!(std::fs::read(&results).unwrap(), before, "rewritten");
    assert_eq!(mode(&results), 0o640);

    // Undo writes it back, its rows marked to be sent again.
    set_mode(&results, 0o604);
    let (code, stderr) = run(&sandbox, dir, &["undo", "customers.results.csv", "--yes"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(mode(&results), 0o604);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_replaces_a_linked_or_foreign_file_and_never_writes_through_it() {
    use std::os::unix::fs::MetadataExt;
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(2));
    let dir = fixture.dir.path();
    let (code, stderr) = run(&sandbox, dir, &["import", "customers.csv"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let reports: [(&str, &[&str]); 5] = [
        (
            "v.csv",
            &["verify", "customers.results.csv", "--out", "v.csv"],
        ),
        ("p.csv", &["plan", "customers.csv", "--out", "p.csv"]),
        (
            "s.json",
            &["import", "customers.csv", "--summary-json", "s.json"],
        ),
        (
            "u.csv",
            &["undo", "customers.results.csv", "--yes", "--out", "u.csv"],
        ),
        ("e.csv", &["export", "--out", "e.csv", "--force"]),
    ];
    for (name, args) in reports {
        let path = dir.join(name);
        // Another name of the file (a hard link someone made to a file of theirs), and, as
        // root, a file of another user's that anyone may write.
        let victim = dir.join(format!("victim-{name}"));
        std::fs::write(&victim, "not yours").unwrap();
        std::fs::hard_link(&victim, &path).unwrap();
        set_mode(&path, 0o666);
        if root {
            std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        }

        let (code, stderr) = run(&sandbox, dir, args).await;

        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).len();
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "not yours",
            "{args:?}"
        );
        assert_ne!(read(&path), "not yours".len(), "{args:?}");
        let meta = std::fs::metadata(&path).unwrap();
        assert_ne!(
            meta.ino(),
            std::fs::metadata(&victim).unwrap().ino(),
            "{args:?}"
        );
        if root {
            assert_eq!((meta.uid(), mode(&path)), (0, 0o600), "{args:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_report_is_written_over_an_imports_results_file_or_journal() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(3));
    let dir = fixture.dir.path();
    let (code, stderr) = run(&sandbox, dir, &["import", "customers.csv"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    // Another import's results (another name, the same kind of file), and a journal an
    // interrupted import left.
    std::fs::copy(fixture.results(), dir.join("older.csv")).unwrap();
    std::fs::write(
        dir.join("left.journal"),
        "key,status,org_id,http_status,attempts,error,changes\nid:a,pending,,,,,\n",
    )
    .unwrap();
    let kept: Vec<(PathBuf, Vec<u8>)> = ["customers.results.csv", "older.csv", "left.journal"]
        .iter()
        .map(|name| (dir.join(name), std::fs::read(dir.join(name)).unwrap()))
        .collect();
    let sent = requests(&sandbox);
    let own = "this is the results file of this import, and";
    let an_import = "this is an import's results file, and";
    let cases: [(&[&str], &str); 9] = [
        (
            &[
                "verify",
                "customers.results.csv",
                "--out",
                "customers.results.csv",
            ],
            own,
        ),
        (
            &["verify", "customers.results.csv", "--out", "older.csv"],
            an_import,
        ),
        (
            &[
                "undo",
                "customers.results.csv",
                "--yes",
                "--out",
                "customers.results.csv",
            ],
            own,
        ),
        (
            &["plan", "customers.csv", "--out", "customers.results.csv"],
            own,
        ),
        (&["plan", "customers.csv", "--out", "older.csv"], an_import),
        (
            &["plan", "customers.csv", "--out", "left.journal"],
            "this is an import's journal, and the plan is never written over one",
        ),
        (
            &[
                "import",
                "customers.csv",
                "--summary-json",
                "customers.results.csv",
            ],
            own,
        ),
        (
            &[
                "import",
                "customers.csv",
                "--out",
                "new.csv",
                "--summary-json",
                "older.csv",
            ],
            an_import,
        ),
        (
            &["export", "--out", "customers.results.csv", "--force"],
            an_import,
        ),
    ];
    for (args, message) in cases {
        let (code, stderr) = run(&sandbox, dir, args).await;
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains("choose another path"), "{args:?}: {stderr}");
    }
    for (path, bytes) in kept {
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{}", path.display());
    }
    assert_eq!(requests(&sandbox), sent, "nothing was sent");
    assert_eq!(sandbox.sandbox.stats().organizations, 3, "nothing deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_report_is_written_over_the_customer_file_it_reads() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(3));
    let dir = fixture.dir.path();
    let (code, stderr) = run(
        &sandbox,
        dir,
        &["import", "customers.csv", "--out", "r.csv"],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    // Another name of the same file.
    std::fs::hard_link(dir.join("customers.csv"), dir.join("linked.csv")).unwrap();
    let input = std::fs::read(dir.join("customers.csv")).unwrap();
    let sent = requests(&sandbox);
    let own = "this is the input file of this command, and";
    let wrote = "its columns are the input columns of r.csv";
    let cases: [(&[&str], &str); 6] = [
        (&["plan", "customers.csv", "--out", "customers.csv"], own),
        (&["plan", "customers.csv", "--out", "linked.csv"], own),
        (&["plan", "./customers.csv", "--out", "customers.csv"], own),
        (
            &[
                "import",
                "customers.csv",
                "--out",
                "r2.csv",
                "--summary-json",
                "customers.csv",
            ],
            own,
        ),
        (&["verify", "r.csv", "--out", "customers.csv"], wrote),
        (&["undo", "r.csv", "--yes", "--out", "customers.csv"], wrote),
    ];
    for (args, message) in cases {
        let (code, stderr) = run(&sandbox, dir, args).await;
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains("choose another path"), "{args:?}: {stderr}");
        assert_eq!(
            std::fs::read(dir.join("customers.csv")).unwrap(),
            input,
            "{args:?}"
        );
    }
    assert!(!dir.join("r2.csv").exists());
    assert_eq!(requests(&sandbox), sent, "nothing was sent");
    assert_eq!(sandbox.sandbox.stats().organizations, 3, "nothing deleted");
}
