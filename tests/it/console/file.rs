//! Step 1, the file: the upload (streamed, bounded, 0600, in the working folder under a safe
//! name whatever the given one says) and what the engine finds in it.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use super::{ok_json, refused, start, start_with};

/// A workbook of `tests/fixtures/sheets`.
fn sheet_fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sheets")
            .join(name),
    )
    .unwrap()
}

/// What `orgimport validate FILE` prints as its error (without `error: `).
fn cli_error(path: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .arg("validate")
        .arg(path)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .strip_prefix("error: ")
        .unwrap_or_else(|| panic!("{stderr}"))
        .trim_end()
        .to_string()
}

#[tokio::test]
async fn a_csv_upload_is_stored_private_in_the_folder_and_described() {
    let console = start().await;
    let csv = "name;email;parent\nAcme;a@acme.test;\nBeta;b@beta.test;Acme\n";
    let facts = ok_json(console.upload("customers.csv", csv.into()).await).await;
    assert_eq!(facts["file"], "customers.csv");
    assert_eq!(facts["rows"], 2);
    assert_eq!(facts["encoding"], "UTF-8");
    assert_eq!(facts["delimiter"], ";");
    assert_eq!(facts["header_row"], 1);
    assert_eq!(facts["headers"], json!(["name", "email", "parent"]));
    assert_eq!(console.files(), ["customers.csv"]);
    let stored = console.path("customers.csv");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), csv);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&stored).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // What the page shows after a reload.
    assert_eq!(console.get_json("/api/file").await, facts);
    let page = console.get("/").await.text().await.unwrap();
    assert!(
        page.contains(r#"<label for="customer-file">Customer file</label>"#),
        "{page}"
    );
    assert!(page.contains("Continue"), "{page}");
}

#[tokio::test]
async fn an_encoding_the_cli_cannot_tell_is_named_as_with_encoding() {
    let console = start().await;
    let mut csv = b"name,description\n".to_vec();
    csv.extend_from_slice(b"Caf\xe9 Ren\xe9,cr\xe8me br\xfbl\xe9e for everyone\n");
    let error = refused(
        console.upload("latin.csv", csv).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, cli_error(&console.path("latin.csv")));
    assert!(error.contains("--encoding"), "{error}");
    let facts = ok_json(
        console
            .post_json("/api/file/read", &json!({"encoding": "windows-1252"}))
            .await,
    )
    .await;
    assert_eq!(facts["encoding"], "windows-1252");
    assert_eq!(facts["rows"], 1);
    let error = refused(
        console
            .post_json("/api/file/read", &json!({"encoding": "klingon"}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(error.contains("klingon"), "{error}");
}

#[tokio::test]
async fn a_hostile_name_only_ever_names_a_file_of_the_folder() {
    let outer = tempfile::tempdir().unwrap();
    let work = outer.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let console = start_with(|s| s.dir = work.canonicalize().unwrap()).await;
    let mut console = console;
    console.login().await;
    let long = format!("{}.csv", "x".repeat(5000));
    let cases = [
        ("../escape.csv", "escape.csv"),
        ("../../../../../../tmp/abs.csv", "abs.csv"),
        ("/etc/passwd.csv", "passwd.csv"),
        ("..\\..\\win.csv", "win.csv"),
        ("nul\0byte.csv", "nulbyte.csv"),
        (".hidden.csv", "hidden.csv"),
        (long.as_str(), ""),
    ];
    for (given, stored) in cases {
        let facts = ok_json(console.upload(given, b"name\nAcme\n".to_vec()).await).await;
        let file = facts["file"].as_str().unwrap();
        if stored.is_empty() {
            assert_eq!(file, format!("{}.csv", "x".repeat(80)));
        } else {
            assert_eq!(file, stored, "{given:?}");
        }
        assert!(work.join(file).is_file(), "{given:?}");
    }
    // Nothing outside the working folder, and nothing left half-written in it.
    let outside: Vec<_> = std::fs::read_dir(outer.path()).unwrap().collect();
    assert_eq!(outside.len(), 1);
    let inside: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(inside.len(), cases.len(), "{inside:?}");
    assert!(inside.iter().all(|n| !n.starts_with('.')), "{inside:?}");
}

#[tokio::test]
async fn an_upload_named_as_the_tools_own_files_or_not_a_customer_file_is_refused() {
    let console = start().await;
    let bytes = b"name\nAcme\n".to_vec();
    for name in [
        "orgimport.toml",
        "orgimport-mapping-0a1b2c3d4e5f.toml",
        "customers.results.csv",
        "customers.sandbox.results.csv",
        "Customers.RESULTS.csv",
        "customers.corrected.csv",
        "customers.plan.csv",
        "customers.sandbox.plan.csv",
        "customers.verify.csv",
        "customers.undo.csv",
        "customers.csv.lock",
        "customers.results.csv.lock",
        "customers.results.csv.journal",
        "customers.results.csv.input",
        "customers.csv.bak",
        "client-secret",
        "..",
        "run.sh",
    ] {
        let error = refused(
            console.upload(name, bytes.clone()).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(error.contains("rename it"), "{name}: {error}");
    }
    assert!(console.files().is_empty(), "{:?}", console.files());
    for name in ["a.csv", "b.TSV", "c.txt"] {
        ok_json(console.upload(name, bytes.clone()).await).await;
    }
    for name in ["d.xlsx", "e.xlsm", "f.xls", "g.ods"] {
        // Taken by name (the CLI then reads what the bytes are, and says so).
        let reply = console
            .upload(name, sheet_fixture("empty_first.xlsx"))
            .await;
        let text = reply.text().await.unwrap();
        assert!(!text.contains("rename it"), "{name}: {text}");
    }
    assert_eq!(console.files().len(), 7, "{:?}", console.files());
}

#[tokio::test]
async fn a_file_of_the_same_name_is_never_replaced_and_the_same_bytes_are_the_same_file() {
    let console = start().await;
    std::fs::write(console.path("customers.csv"), "name\nMine\n").unwrap();
    let first = ok_json(
        console
            .upload("customers.csv", b"name\nAcme\n".to_vec())
            .await,
    )
    .await;
    assert_eq!(first["file"], "customers-2.csv");
    assert_eq!(
        std::fs::read_to_string(console.path("customers.csv")).unwrap(),
        "name\nMine\n"
    );
    // The same bytes again (to resume a run): the same file, so the same results file.
    let again = ok_json(
        console
            .upload("customers.csv", b"name\nAcme\n".to_vec())
            .await,
    )
    .await;
    assert_eq!(again["file"], "customers-2.csv");
    assert_eq!(console.files(), ["customers-2.csv", "customers.csv"]);
}

// Multi-threaded: the raw socket below blocks its thread, and the console must go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_past_the_bound_is_refused_and_leaves_nothing() {
    let console = start_with(|s| s.max_upload = 1000).await;
    let mut console = console;
    console.login().await;
    let big = format!("name\n{}", "Acme\n".repeat(400));
    let error = refused(
        console.upload("big.csv", big.into()).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(error.contains("larger than the console takes"), "{error}");
    assert!(console.files().is_empty(), "{:?}", console.files());

    // Without a length announced (chunked), counted as it streams in.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", console.port)).unwrap();
    write!(
        stream,
        "PUT /api/file?name=big.csv HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n\
         Origin: {base}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        port = console.port,
        cookie = console.cookie.as_deref().unwrap(),
        base = console.base
    )
    .unwrap();
    // Past the bound, and no end: the server must stop reading by itself.
    for _ in 0..8 {
        let chunk = "Acme Corporation\n".repeat(10);
        write!(stream, "{:x}\r\n{chunk}\r\n", chunk.len()).unwrap();
    }
    // The reply comes before the body's end: the head is all this test reads.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 12];
    if let Err(e) = stream.read_exact(&mut head) {
        panic!("{e:?}; files {:?}", console.files());
    }
    let head = String::from_utf8_lossy(&head);
    assert_eq!(head, "HTTP/1.1 413", "{head}");
    drop(stream);
    assert!(console.files().is_empty(), "{:?}", console.files());
}

#[tokio::test]
async fn a_file_the_cli_refuses_is_refused_with_its_message() {
    let console = start().await;
    let error = refused(
        console.upload("empty.csv", Vec::new()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, cli_error(&console.path("empty.csv")));
    let book = sheet_fixture("password.xlsx");
    let error = refused(
        console.upload("locked.xlsx", book).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, cli_error(&console.path("locked.xlsx")));
    assert!(error.contains("password"), "{error}");
}

#[tokio::test]
async fn a_workbook_offers_its_visible_sheets_and_reads_the_one_chosen() {
    let console = start().await;
    // Its first sheet is empty: refused as the CLI refuses it, the choice offered.
    let error = refused(
        console
            .upload("book.xlsx", sheet_fixture("empty_first.xlsx"))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error, cli_error(&console.path("book.xlsx")));
    let part = console.get("/part/file").await.text().await.unwrap();
    assert!(
        part.contains(r#"<label for="sheet">Sheet</label>"#),
        "{part}"
    );
    assert!(part.contains(r#"<option value="Customers""#), "{part}");
    let facts = ok_json(
        console
            .post_json("/api/file/read", &json!({"sheet": "Customers"}))
            .await,
    )
    .await;
    assert_eq!(facts["sheet"], "Customers");
    assert_eq!(facts["sheets"], json!(["Cover", "Customers"]));
    assert!(facts["rows"].as_u64().unwrap() > 0, "{facts}");
    assert_eq!(facts["encoding"], json!(null));
    // A sheet it does not have: the CLI's message.
    let error = refused(
        console
            .post_json("/api/file/read", &json!({"sheet": "Nope"}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(error.contains("there is no sheet \"Nope\""), "{error}");
}

/// A "Read again" the CLI refuses (a header row past the file's end) says why and keeps the
/// file as it was read, with the columns matched after it.
#[tokio::test]
async fn a_failed_read_again_keeps_the_file_as_it_was_read() {
    let console = start().await;
    let csv = "name,description\nAcme,one\nGlobex,two\n";
    console.upload_and_map("kept.csv", csv).await;
    let columns = console.get_json("/api/columns").await;
    let facts = console.get_json("/api/file").await;
    assert_eq!(facts["rows"], 2, "{facts}");
    let error = refused(
        console
            .post_json("/api/file/read", &json!({"header_row": 99999}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(error.contains("99999"), "{error}");
    assert_eq!(console.get_json("/api/file").await, facts);
    assert_eq!(console.get_json("/api/columns").await, columns);
}

#[tokio::test]
async fn title_rows_are_passed_with_the_header_row() {
    let console = start().await;
    let book = sheet_fixture("title_rows.xlsx");
    let before = console.upload("export.xlsx", book).await;
    let _ = before.text().await;
    let facts = ok_json(
        console
            .post_json("/api/file/read", &json!({"header_row": 4}))
            .await,
    )
    .await;
    assert_eq!(facts["header_row"], 4);
    assert!(
        facts["headers"]
            .as_array()
            .unwrap()
            .contains(&json!("name")),
        "{facts}"
    );
    let error = refused(
        console
            .post_json("/api/file/read", &json!({"header_row": 0}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(error.contains("from 1"), "{error}");
}

#[tokio::test]
async fn reading_again_before_any_upload_says_so() {
    let console = start().await;
    refused(console.get("/api/file").await, StatusCode::NOT_FOUND).await;
    refused(
        console
            .post_json("/api/file/read", &json!({"sheet": "x"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
}
