//! No command writes through a link, to a device or to a FIFO: a report refuses them and writes
//! nothing, an import refuses them as its results file before reading it, and a link planted
//! beside the results file is refused with its target untouched.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_refuse_a_link_a_device_or_a_fifo_and_write_nothing() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(3));
    let dir = fixture.dir.path();
    let (code, stderr) = run(&sandbox, dir, &["import", "customers.csv"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::write(dir.join("victim"), "theirs").unwrap();
    std::os::unix::fs::symlink(dir.join("victim"), dir.join("link")).unwrap();
    // /dev/stdout as root would be replaced by `export --force`: a link to a device in the
    // test's own directory stands for it.
    std::os::unix::fs::symlink("/dev/null", dir.join("null")).unwrap();
    mkfifo(&dir.join("fifo"));
    let sent = requests(&sandbox);
    let reports: [&[&str]; 5] = [
        &["plan", "customers.csv", "--out"],
        &["verify", "customers.results.csv", "--out"],
        &["undo", "customers.results.csv", "--yes", "--out"],
        &[
            "import",
            "customers.csv",
            "--out",
            "new.csv",
            "--summary-json",
        ],
        &["export", "--force", "--out"],
    ];
    for report in reports {
        for (name, said) in [
            ("link", "this is a symbolic link, and"),
            ("null", "this is a symbolic link, and"),
            (
                "fifo",
                "this is a FIFO (named pipe), not a regular file, and",
            ),
        ] {
            let args = [report, &[name]].concat();
            let (code, stderr) = run(&sandbox, dir, &args).await;
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            let named = format!("{name}: {said}");
            assert!(stderr.contains(&named), "{args:?}: {stderr}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("victim")).unwrap(),
        "theirs"
    );
    let kind = |name: &str| {
        std::fs::symlink_metadata(dir.join(name))
            .unwrap()
            .file_type()
    };
    assert!(kind("link").is_symlink() && kind("null").is_symlink());
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind("fifo")));
    assert!(!dir.join("new.csv").exists());
    assert_eq!(requests(&sandbox), sent, "nothing was sent");
    assert_eq!(sandbox.sandbox.stats().organizations, 3, "nothing deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_refuses_a_device_or_a_fifo_as_its_results_file_before_reading_it() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(3));
    let dir = fixture.dir.path();
    std::os::unix::fs::symlink("/dev/null", dir.join("null.csv")).unwrap();
    mkfifo(&dir.join("fifo.csv"));
    for (name, kind) in [
        ("null.csv", "a character device"),
        ("fifo.csv", "a FIFO (named pipe)"),
    ] {
        for dry_run in [false, true] {
            let mut args = vec!["import", "customers.csv", "--out", name];
            if dry_run {
                args.push("--dry-run");
            }
            let (code, stderr) = run(&sandbox, dir, &args).await;
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            let said = format!(
                "{name}: this is {kind}, not a regular file, and the results file is read and \
                 written only as a regular file"
            );
            assert!(stderr.contains(&said), "{args:?}: {stderr}");
        }
    }
    assert_eq!(requests(&sandbox), 0, "nothing was sent");
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.contains(".csv."))
        .collect();
    assert!(left.is_empty(), "nothing beside them: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_planted_beside_the_results_file_is_refused_and_its_target_untouched() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(&customers(3));
    let dir = fixture.dir.path();
    let results = fixture.results();
    std::fs::write(dir.join("victim"), "theirs").unwrap();
    for planted in [
        lock_path(&results),
        journal_path(&results),
        input_copy(&results),
    ] {
        std::os::unix::fs::symlink(dir.join("victim"), &planted).unwrap();
        let (code, stderr) = run(&sandbox, dir, &["import", "customers.csv"]).await;
        assert_eq!(code, Some(2), "{}: {stderr}", planted.display());
        let name = planted.file_name().unwrap().to_string_lossy();
        let said = format!("{name}: this is a symbolic link, not a regular file");
        assert!(stderr.contains(&said), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(dir.join("victim")).unwrap(),
            "theirs",
            "{}",
            planted.display()
        );
        assert!(planted.symlink_metadata().unwrap().file_type().is_symlink());
        assert!(!results.exists());
        std::fs::remove_file(&planted).unwrap();
    }
    assert_eq!(sandbox.sandbox.stats().organizations, 0, "nothing created");
}
