//! The seams between runs: one run at a time per results file (a second import or an undo is
//! refused, a lock left by a killed run is taken over), and the input pinned for the length of
//! a run (an edit during it never pairs a row with another row's organization).

use std::collections::HashMap;
use std::process::{Child, Output};
use std::time::Duration;

use orgimport::ExitStatus;
use orgimport::record::{ResultsLock, Status, lock_path};
use orgimport::sandbox::{Faults, SandboxConfig};

use crate::fixture::{Fixture, customers};
use crate::ops::{bin_for, run, text};
use crate::util::{TestSandbox, start_sandbox, wait_while_running, wait_while_task};

/// The sandbox's organizations by name (templates left out).
fn ids_by_name(sandbox: &TestSandbox) -> HashMap<String, String> {
    sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| (o.name, o.id))
        .collect()
}

/// Checks that no name was committed twice, and that every row of the results file that has
/// an `org_id` carries the organization of its own name.
fn assert_each_row_has_its_own_organization(fixture: &Fixture, sandbox: &TestSandbox) {
    let commits = sandbox.sandbox.commits_by_name();
    let twice: Vec<_> = commits.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "created more than once: {twice:?}");
    let ids = ids_by_name(sandbox);
    for row in fixture.results_rows() {
        if !row["org_id"].is_empty() {
            assert_eq!(
                Some(&row["org_id"]),
                ids.get(&row["name"]),
                "{}: {row:?}",
                row["name"]
            );
        }
    }
}

/// A sandbox with some latency, in a runtime of its own so that a synchronous test can run
/// the binary beside it.
fn slow_sandbox(runtime: &tokio::runtime::Runtime) -> TestSandbox {
    runtime.block_on(start_sandbox(SandboxConfig {
        faults: Faults {
            latency: Duration::from_millis(5),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    }))
}

/// Waits for `child` and returns its output with its stderr as text.
fn finish(child: Child) -> (Output, String) {
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    (out, stderr)
}

#[test]
fn two_imports_started_together_on_one_results_file_one_runs_and_the_other_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = slow_sandbox(&runtime);
    let fixture = Fixture::new(&customers(40));
    // 40 rows at 20/s: the run that gets the lock holds it for about two seconds.
    let flags = ["--rate", "20", "--concurrency", "4"];

    let first = fixture.spawn_import(&sandbox, &flags);
    let second = fixture.spawn_import(&sandbox, &flags);
    let pids = [first.id(), second.id()];
    let ends = [finish(first), finish(second)];

    let codes: Vec<_> = ends.iter().map(|(out, _)| out.status.code()).collect();
    let refused = codes.iter().position(|c| *c == Some(2));
    let Some(refused) = refused else {
        panic!("neither was refused: {codes:?}, {ends:?}")
    };
    let ran = 1 - refused;
    assert_eq!(codes[ran], Some(0), "{}", ends[ran].1);
    let message = &ends[refused].1;
    assert!(
        message.contains(&fixture.results().display().to_string()),
        "the refusal names the results file: {message}"
    );
    assert!(
        message.contains(&format!("pid {} on host ", pids[ran])),
        "the refusal names the run that holds it: {message}"
    );
    assert!(message.contains("started "), "{message}");

    assert_each_row_has_its_own_organization(&fixture, &sandbox);
    assert_eq!(sandbox.sandbox.stats().creates_committed, 40);
    let results = fixture.results_rows();
    assert_eq!(results.len(), 40);
    assert!(
        results.iter().all(|r| r["status"] == "created"),
        "{results:?}"
    );
    assert!(
        !lock_path(&fixture.results()).exists(),
        "removed at the end"
    );
    drop(runtime);
}

#[test]
fn an_import_killed_with_sigkill_leaves_its_lock_to_the_rerun_which_finishes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = slow_sandbox(&runtime);
    let fixture = Fixture::new(&customers(300));

    let mut child = fixture.spawn_import(&sandbox, &["--rate", "100", "--concurrency", "4"]);
    let killed = child.id();
    wait_while_running("a create committed, before the kill", &mut child, || {
        sandbox.sandbox.stats().creates_committed > 0
    });
    child.kill().unwrap(); // SIGKILL: no chance to remove the lock file
    child.wait().unwrap();
    let lock = lock_path(&fixture.results());
    let left = std::fs::read_to_string(&lock).unwrap();
    assert!(left.contains(&format!("pid={killed}\n")), "{left}");

    // Without --quiet, to see the rerun say whose lock it takes over.
    let mut args = fixture.args(&sandbox, &sandbox.secret(), &["--rate", "2000"]);
    args.retain(|a| a != "--quiet");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .args(&args[1..])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("the run before (pid {killed} on host "))
            && stderr.contains("ended without finishing; this run takes over"),
        "{stderr}"
    );
    assert!(!lock.exists(), "removed at the end of the rerun");
    assert_each_row_has_its_own_organization(&fixture, &sandbox);
    assert_eq!(sandbox.sandbox.stats().creates_committed, 300);
    drop(runtime);
}

#[test]
fn the_rerun_after_a_kill_counts_its_look_ups_as_look_ups_not_retries() {
    // Replies take 300 ms: at the kill, each of the 8 workers has a create out and no answer,
    // which the rerun looks up before it sends the row again. Nothing is refused and nothing
    // fails, so nothing is sent twice: a look-up is not a retry.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(start_sandbox(SandboxConfig {
        faults: Faults {
            latency: Duration::from_millis(300),
            ..Faults::default()
        },
        ..SandboxConfig::default()
    }));
    let fixture = Fixture::new(&customers(40));
    let mut child = fixture.spawn_import(&sandbox, &["--rate", "100", "--concurrency", "8"]);
    wait_while_running("a create committed, before the kill", &mut child, || {
        sandbox.sandbox.stats().creates_committed > 0
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let before = sandbox.sandbox.stats();

    let summary = runtime
        .block_on(fixture.import(&sandbox, &["--rate", "1000", "--concurrency", "8"]))
        .unwrap();
    let after = sandbox.sandbox.stats();
    assert_eq!(summary.count(Status::Created), 40, "{summary:?}");
    assert_eq!(after.rate_limited + after.faults_injected, 0, "{after:?}");
    assert!(
        summary.look_ups >= 1,
        "rows were out at the kill: {summary:?}"
    );
    assert_eq!(summary.retries(), 0, "{summary:?}");
    // Every row was done by the killed run (the results file or a look-up says so) or sent
    // by this one: the summary's figures add up to the rows.
    assert_eq!(summary.done_before as u64 + summary.sent, 40, "{summary:?}");
    assert_eq!(
        summary.requests,
        summary.sent + summary.look_ups,
        "each row sent once, besides the look-ups: {summary:?}"
    );
    assert_eq!(
        after.create_requests - before.create_requests,
        summary.sent,
        "{summary:?}"
    );
    assert_each_row_has_its_own_organization(&fixture, &sandbox);
    drop(runtime);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_a_run_holds_the_results_file_import_and_undo_are_refused_and_send_nothing() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(10));
    fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    std::fs::write(fixture.input(), customers(20)).unwrap();
    let dir = fixture.dir.path();
    let results = fixture.results();
    let before = std::fs::read(&results).unwrap();

    // This test process holds the lock, as a running import would.
    let held = ResultsLock::take(&results, "import").unwrap();
    let holder = format!("pid {} on host ", std::process::id());
    let creates = sandbox.sandbox.stats().create_requests;

    let out = run(
        bin_for(&sandbox, dir),
        &["import", "customers.csv", "--rate", "1000"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("customers.results.csv"), "{stderr}");
    assert!(stderr.contains(&holder), "{stderr}");

    let out = run(
        bin_for(&sandbox, dir),
        &["undo", "customers.results.csv", "--yes"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another orgimport run is using this results file"),
        "{stderr}"
    );
    assert!(stderr.contains(&holder), "{stderr}");

    // A dry run sends nothing and writes no results: it is not refused.
    let out = run(
        bin_for(&sandbox, dir),
        &["import", "customers.csv", "--dry-run"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    assert_eq!(sandbox.sandbox.stats().create_requests, creates);
    assert_eq!(sandbox.sandbox.stats().organizations, 10, "nothing deleted");
    assert_eq!(
        std::fs::read(&results).unwrap(),
        before,
        "results untouched"
    );
    let lock_text = std::fs::read_to_string(held.path()).unwrap();
    assert!(
        lock_text.contains(&format!("pid={}\n", std::process::id())),
        "the refused runs left the holder's lock file as it was: {lock_text}"
    );

    held.release();
    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 20, "{summary}");
}

#[test]
fn undo_is_refused_while_an_import_runs_on_the_results_file() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = slow_sandbox(&runtime);
    let fixture = Fixture::new(&customers(10));
    runtime
        .block_on(fixture.import(&sandbox, &["--rate", "1000"]))
        .unwrap();
    // 30 more rows at 20/s: the import runs for a second and a half after its first create.
    std::fs::write(fixture.input(), customers(40)).unwrap();
    let mut import = fixture.spawn_import(&sandbox, &["--rate", "20", "--concurrency", "2"]);
    wait_while_running("the second import's first create", &mut import, || {
        sandbox.sandbox.stats().creates_committed > 10
    });

    let undo = runtime.block_on(run(
        bin_for(&sandbox, fixture.dir.path()),
        &["undo", "customers.results.csv", "--yes"],
    ));
    let stderr = text(&undo.stderr);
    assert_eq!(undo.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {} on host ", import.id())),
        "{stderr}"
    );
    assert!(stderr.contains("orgimport import"), "{stderr}");
    assert!(import.try_wait().unwrap().is_none(), "refused while it ran");

    let (out, stderr) = finish(import);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(sandbox.sandbox.stats().organizations, 40, "nothing deleted");
    assert_each_row_has_its_own_organization(&fixture, &sandbox);
    drop(runtime);
}

#[tokio::test]
async fn results_in_a_missing_directory_name_the_directory_before_anything_is_sent() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(3));
    let missing = fixture.dir.path().join("no-such-dir");
    let out = missing.join("out.csv");

    let error = fixture
        .import(&sandbox, &["--out", out.to_str().unwrap()])
        .await
        .unwrap_err();

    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: no such directory", missing.display())),
        "{message}"
    );
    assert!(
        !message.contains(".journal") && !message.contains(".lock"),
        "{message}"
    );
    assert_eq!(sandbox.sandbox.stats().api_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_edited_during_the_run_never_pairs_a_row_with_another_rows_organization() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(200));
    let args = fixture.args(
        &sandbox,
        &sandbox.secret(),
        &["--rate", "100", "--concurrency", "4"],
    );
    let run = tokio::spawn(crate::fixture::import_with(args));
    wait_while_task("40 creates committed", &run, || {
        sandbox.sandbox.stats().creates_committed >= 40
    })
    .await;
    // Rewritten in place, as an editor saving over it might: row 5 deleted, so every row
    // after it moves up one, and a new customer appended (the same count of rows).
    let mut lines: Vec<String> = customers(201).lines().map(str::to_string).collect();
    lines.remove(1 + 5);
    std::fs::write(fixture.input(), lines.join("\n") + "\n").unwrap();
    let summary = run.await.unwrap().unwrap();

    assert!(summary.input_changed.is_some(), "{summary}");
    assert_eq!(summary.exit_status(), ExitStatus::Failed, "{summary}");
    assert_eq!(summary.count(Status::Created), 200, "{summary}");
    let results = fixture.results_rows();
    assert_eq!(results.len(), 200);
    assert_eq!(
        results[5]["name"], "customer-00005",
        "the rows as at the start"
    );
    assert!(results.iter().all(|r| r["name"] != "customer-00200"));
    assert_eq!(
        ids_by_name(&sandbox).get("customer-00200"),
        None,
        "never sent"
    );
    assert_each_row_has_its_own_organization(&fixture, &sandbox);

    // A rerun plans from the file as it is now: the appended customer is imported.
    let rerun = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(rerun.input_changed, None);
    assert_eq!(rerun.exit_status(), ExitStatus::Success, "{rerun}");
    assert_eq!(rerun.count(Status::Created), 200, "{rerun}");
    assert_eq!(rerun.done_before, 199, "{rerun}");
    let results = fixture.results_rows();
    let appended = results.iter().find(|r| r["name"] == "customer-00200");
    assert_eq!(appended.unwrap()["status"], "created");
    assert_each_row_has_its_own_organization(&fixture, &sandbox);
    assert_eq!(sandbox.sandbox.stats().creates_committed, 201);
    assert!(!orgimport::input::snapshot::snapshot_path(&fixture.results()).exists());
}

#[tokio::test]
async fn an_input_named_as_a_file_kept_beside_the_results_is_refused_and_left_as_it_was() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(3));
    let secret = sandbox.secret();
    let results = fixture.dir.path().join("r.csv");
    for side in ["r.csv.lock", "r.csv.journal", "r.csv.input"] {
        let input = fixture.dir.path().join(side);
        std::fs::write(&input, customers(3)).unwrap();
        let mut args = fixture.args(&sandbox, &secret, &["--out", results.to_str().unwrap()]);
        args[2] = input.to_str().unwrap().to_string();

        let error = crate::fixture::import_with(args).await.unwrap_err();

        assert!(
            error.to_string().contains("rename the input"),
            "{side}: {error}"
        );
        assert_eq!(
            std::fs::read_to_string(&input).unwrap(),
            customers(3),
            "{side}"
        );
    }
    assert_eq!(sandbox.sandbox.stats().api_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_children_are_sent_as_planned_whatever_happens_to_the_runs_copy_of_the_input() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // 100 parents, then a child of each: two waves, the children's sent once every parent is.
    let input = |child: &str| {
        let mut csv = String::from("name,parent\n");
        for i in 0..100 {
            csv.push_str(&format!("parent-{i:03},\n"));
        }
        for i in 0..100 {
            csv.push_str(&format!("{child}-{i:03},parent-{i:03}\n"));
        }
        csv
    };
    let fixture = Fixture::new(&input("child"));
    let args = fixture.args(
        &sandbox,
        &sandbox.secret(),
        &["--rate", "100", "--concurrency", "4"],
    );
    let run = tokio::spawn(crate::fixture::import_with(args));
    wait_while_task("10 parents created", &run, || {
        sandbox.sandbox.stats().creates_committed >= 10
    })
    .await;
    // The run's own copy of the input, rewritten while the parents are sent: the children go
    // out as the plan built their requests, the input is not read again to send them.
    let copy = orgimport::input::snapshot::snapshot_path(&fixture.results());
    assert!(copy.exists(), "the run's copy of the input is there");
    std::fs::write(&copy, input("edited")).unwrap();
    let summary = run.await.unwrap().unwrap();

    assert_eq!(summary.count(Status::Created), 200, "{summary}");
    let ids = ids_by_name(&sandbox);
    assert!(ids.contains_key("child-099"), "{ids:?}");
    let edited: Vec<_> = ids.keys().filter(|n| n.starts_with("edited")).collect();
    assert!(
        edited.is_empty(),
        "sent from the copy as it was edited: {edited:?}"
    );
}
