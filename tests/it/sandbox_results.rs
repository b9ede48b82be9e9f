//! `verify` and `undo` of a `--sandbox` rehearsal's results file: they take no `--sandbox`,
//! and the sandbox of that run is gone with what it created, so their refusal says so rather
//! than suggest running against it.

use crate::fixture::customers;
use crate::ops::{bin, bin_for, run, text};
use crate::util::start_sandbox;

#[tokio::test]
async fn verify_and_undo_of_a_rehearsals_results_suggest_nothing_they_refuse() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.csv"), customers(2)).unwrap();
    let out = run(
        bin(dir.path()),
        &["import", "c.csv", "--sandbox", "--quiet"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sandbox = start_sandbox(Default::default()).await;
    for args in [
        &["verify", "c.sandbox.results.csv"][..],
        &["undo", "c.sandbox.results.csv", "--yes"],
    ] {
        let out = run(bin_for(&sandbox, dir.path()), args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("it was written for the built-in sandbox (--sandbox)")
                && stderr.contains("none is left to verify or undo")
                && stderr.contains("`orgimport sandbox`"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("or run against"), "{args:?}: {stderr}");
        // The command refuses the flag the message does not suggest.
        let out = run(bin(dir.path()), &[args, &["--sandbox"]].concat()).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert!(sandbox.sandbox.organizations().iter().all(|o| o.template));
}
