//! Secrets as the user gives them: the sandbox command's own, a secret file with whitespace
//! around or that is no file, a URL with a password, a settings file that is not valid; each
//! trimmed or refused, and never printed.

use super::*;

#[test]
fn the_sandbox_command_turns_the_echo_on_only_when_asked() {
    use orgimport::settings::Settings;
    let echo = |flags: &[&str]| {
        let args = [&["orgimport", "sandbox", "--port", "0"], flags].concat();
        let Ok(Settings::Sandbox(s)) =
            crate::fixture::resolve(args.iter().map(|a| a.to_string()).collect())
        else {
            panic!("a sandbox command")
        };
        s.config.echo_requests_in_errors
    };
    assert!(echo(&["--echo-requests-in-errors"]));
    assert!(!echo(&[]));
}

/// The first lines `orgimport sandbox` prints, up to its template line, with `secret` in its
/// environment (or none).
fn sandbox_banner(secret: Option<&str>) -> String {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut command = Command::new(env!("CARGO_BIN_EXE_orgimport"));
    command
        .args(["sandbox", "--port", "0"])
        .env_remove("ORGIMPORT_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(secret) = secret {
        command.env("ORGIMPORT_CLIENT_SECRET", secret);
    }
    let mut child = command.spawn().expect("the sandbox starts");
    let mut banner = String::new();
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("ORGIMPORT_TEMPLATE_ID") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    banner
}

#[test]
fn the_sandbox_command_never_prints_a_secret_it_was_given() {
    let secret = "given-sandbox-secret-5f1c";
    let banner = sandbox_banner(Some(secret));
    assert!(banner.contains("ORGIMPORT_TEMPLATE_ID"), "{banner}");
    assert!(!banner.contains(secret), "{banner}");
    assert!(banner.contains("not printed"), "{banner}");
    // A generated secret is the sandbox's own: printed so that an import can use it.
    let banner = sandbox_banner(None);
    assert!(
        banner.contains("export ORGIMPORT_CLIENT_SECRET="),
        "{banner}"
    );
}

#[tokio::test]
async fn a_secret_file_with_whitespace_around_is_trimmed_with_a_warning_and_two_lines_refused() {
    let sandbox = echoing(CANARY, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    let token = |contents: String| {
        std::fs::write(&file, contents).unwrap();
        let mut cmd = bin_for(&sandbox, dir.path());
        cmd.env_remove("ORGIMPORT_CLIENT_SECRET")
            .env("ORGIMPORT_CLIENT_SECRET_FILE", &file);
        run(cmd, &["token"])
    };
    for padded in [
        format!("{CANARY}\r\n"),
        format!("  {CANARY}\t\n"),
        format!("\u{feff}{CANARY}\n\n"),
    ] {
        let out = token(padded.clone()).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{padded:?}: {stderr}");
        assert!(
            stderr.contains("whitespace around the secret")
                && stderr.contains("was taken off")
                && stderr.contains("named by env ORGIMPORT_CLIENT_SECRET_FILE")
                && !stderr.contains("--client-secret-file"),
            "{padded:?}: {stderr}"
        );
        assert!(!stderr.contains("q7Zx"), "{stderr}");
    }
    let out = token(format!("{CANARY}\n")).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );

    let out = token(format!("{CANARY}\nsecond line\n")).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("holds more than one line"), "{stderr}");
    assert!(
        !stderr.contains("q7Zx") && !stderr.contains("second"),
        "{stderr}"
    );
    assert_eq!(
        sandbox.sandbox.stats().token_requests,
        4,
        "none for two lines"
    );
}

#[tokio::test]
async fn a_url_with_a_user_name_or_password_is_refused_and_never_printed() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = sandbox.sandbox.config();
    let with_user = sandbox
        .base_url
        .replacen("http://", "http://tuser:URLPASS@", 1);
    let token_url = format!("{with_user}/{}/oauth2/token", c.tenant);
    let cases: [(&str, String, &[&str]); 6] = [
        ("ORGIMPORT_BASE_URL", with_user.clone(), &["config"]),
        (
            "ORGIMPORT_BASE_URL",
            with_user.clone(),
            &["config", "--json"],
        ),
        ("ORGIMPORT_BASE_URL", with_user.clone(), &["token"]),
        ("ORGIMPORT_TOKEN_URL", token_url.clone(), &["config"]),
        ("ORGIMPORT_TOKEN_URL", token_url.clone(), &["token"]),
        (
            "ORGIMPORT_BASE_URL",
            with_user.replacen(":URLPASS", "", 1),
            &["token"],
        ),
    ];
    for (name, url, args) in cases {
        let mut cmd = bin_for(&sandbox, dir.path());
        cmd.env(name, &url);
        let out = run(cmd, args).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name} {args:?}: {stdout}{stderr}"
        );
        assert!(
            !stdout.contains("URLPASS") && !stderr.contains("URLPASS"),
            "{name} {args:?}: {stdout}{stderr}"
        );
        assert!(
            format!("{stdout}{stderr}").contains("holds a user name or a password")
                && format!("{stdout}{stderr}").contains("ORGIMPORT_CLIENT_SECRET"),
            "{name} {args:?}: {stdout}{stderr}"
        );
    }
    assert_eq!(sandbox.sandbox.stats().token_requests, 0, "nothing sent");
}

#[tokio::test]
async fn a_settings_file_that_is_not_valid_is_located_without_its_text() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    for (line, place) in [
        (r#"client_secret = "TOML-SECRET-XYZ""#, "line 3, column 1"),
        (
            r#"allow_insecure_http = "TOML-SECRET-XYZ""#,
            "line 3, column 23",
        ),
        (r#"client_id = "TOML-SECRET-XYZ"#, "line 3, column"),
        (r#"rate = "TOML-SECRET-XYZ""#, "line 3, column 8"),
        ("TOML-SECRET-XYZ", "line 3, column"),
    ] {
        std::fs::write(
            dir.path().join("orgimport.toml"),
            format!("[profiles.a]\ntenant = \"demo\"\n{line}\n"),
        )
        .unwrap();
        for args in [&["config"][..], &["token"]] {
            let out = run(bin_for(&sandbox, dir.path()), args).await;
            let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert_eq!(out.status.code(), Some(2), "{line}: {all}");
            assert!(!all.contains("TOML-SECRET"), "{line}: {all}");
            assert!(
                all.contains("orgimport.toml: not a valid settings file at ")
                    && all.contains(place),
                "{line}: {all}"
            );
        }
    }
}

#[tokio::test]
async fn a_secret_file_that_is_no_file_too_large_or_with_control_characters_is_refused() {
    let sandbox = echoing(CANARY, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let cases = [
        (
            std::path::PathBuf::from("/dev/zero"),
            "is not a regular file",
        ),
        (fifo, "is not a regular file"),
        (
            write(
                "large",
                format!("{CANARY}{}", "x".repeat(70 << 10)).into_bytes(),
            ),
            "is larger than 64 KiB",
        ),
        (
            write("nul", format!("{CANARY}\0tail\n").into_bytes()),
            "holds a control character",
        ),
        (
            write("escape", format!("{CANARY}\u{1b}[2J\n").into_bytes()),
            "holds a control character",
        ),
    ];
    for (file, message) in cases {
        let mut cmd = bin_for(&sandbox, dir.path());
        cmd.env_remove("ORGIMPORT_CLIENT_SECRET")
            .env("ORGIMPORT_CLIENT_SECRET_FILE", &file);
        let out = tokio::time::timeout(std::time::Duration::from_secs(20), run(cmd, &["token"]))
            .await
            .unwrap_or_else(|_| panic!("{}: hung", file.display()));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{}: {all}", file.display());
        assert!(all.contains(message), "{}: {all}", file.display());
        assert!(!all.contains("q7Zx"), "{all}");
    }
    assert_eq!(sandbox.sandbox.stats().token_requests, 0, "nothing sent");
}
