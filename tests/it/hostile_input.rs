//! Hostile input against the sandbox: cells a spreadsheet would evaluate, names that collide
//! once slugged, mapping files with mistakes, invisible and bidi characters, control characters
//! in headers and cells.

use orgimport::record::Status;
use orgimport::sandbox::SandboxConfig;

use crate::fixture::Fixture;
use crate::util::start_sandbox;

#[tokio::test]
async fn org_ids_that_a_spreadsheet_would_evaluate_are_neutralized_and_read_back() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // Valid ids (letters, digits, '-') that Excel reads as formulas: -1-1 is -2, -A1 a cell.
    let fixture = Fixture::new("id,name\n-1-1,minus-one\n-A1,minus-a1\n+1,plus\n");

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    assert_eq!(summary.count(Status::Created), 2, "{summary}");
    let rows = fixture.results_rows();
    for (row, id) in [(0, "-1-1"), (1, "-A1")] {
        assert_eq!(rows[row]["org_id"], format!("'{id}"), "{rows:?}");
        assert_eq!(rows[row]["id"], format!("'{id}"), "{rows:?}");
    }
    assert_eq!(
        rows[2]["status"], "invalid",
        "'+' is no id character: {rows:?}"
    );
    // The marks are taken off when the file is read again: nothing is sent twice.
    let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!((again.sent, again.done_before), (0, 2), "{again}");
    assert_eq!(sandbox.sandbox.stats().create_requests, 2);
}

#[tokio::test]
async fn names_slugged_alike_are_created_once_and_the_others_name_the_first_line() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(
        "Account ID,Account Name\n\
         001,Acme Inc\n\
         002,\"ACME, Inc.\"\n\
         003,Acme Inc.\n\
         004,Beta GmbH\n",
    );
    let mapping = fixture.dir.path().join("crm-mapping.toml");
    std::fs::write(
        &mapping,
        "[fields]\nid = \"Account ID\"\nname = { slug = \"Account Name\" }\n",
    )
    .unwrap();

    let summary = fixture
        .import(&sandbox, &["--mapping", mapping.to_str().unwrap()])
        .await
        .unwrap();

    assert_eq!(summary.count(Status::Created), 2, "{summary}");
    assert_eq!(summary.count(Status::Invalid), 2, "{summary}");
    let rows = fixture.results_rows();
    for row in &rows[1..3] {
        assert!(
            row["error"].contains("name \"acme-inc\" (the slug of")
                && row["error"].contains("is already the name of line 2"),
            "{row:?}"
        );
    }
    let acme = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| o.name == "acme-inc")
        .count();
    assert_eq!(acme, 1, "one organization named acme-inc");
}

#[tokio::test]
async fn a_mapping_file_mistake_stops_the_import_naming_the_file_line_and_field() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("Account Name,Employees\nacme,12\n");
    let mapping = fixture.dir.path().join("crm-mapping.toml");
    std::fs::write(
        &mapping,
        "[fields]\nname = { slug = \"Account Name\" }\n\n[metadata]\n\
         employees = { column = \"Employees\", type = \"date\" }\n",
    )
    .unwrap();

    let error = fixture
        .import(&sandbox, &["--mapping", mapping.to_str().unwrap()])
        .await
        .expect_err("the mapping is refused");

    assert_eq!(
        error.to_string(),
        format!(
            "{}: line 5: [metadata] employees: type \"date\" is not one of string, number, \
             bool, list, json",
            mapping.display()
        )
    );
    assert_eq!(sandbox.sandbox.stats().token_requests, 0);
    assert_eq!(sandbox.sandbox.stats().create_requests, 0);
}

#[tokio::test]
async fn invisible_names_and_bidi_controls_are_invalid_and_named_by_position() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(
        "name,displayName,id,domains\n\
         \u{200b},,,\n\
         \u{feff}\u{2060}\u{ad},,,\n\
         \u{200c}\u{200d},,,\n\
         invoice\u{202e}fdp.exe,,,\n\
         fine,\u{2067}Acme,,\n\
         fine-2,,ab\u{202d}c,\n\
         fine-3,,,ok.com;ex\u{2066}ample.com\n\
         fine-4,\u{200b},,\n\
         visible\u{200b}joined,Zoë\u{200d},,\n",
    );

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    assert_eq!(summary.count(Status::Created), 1, "{summary}");
    let rows = fixture.results_rows();
    let error = |row: usize| rows[row]["error"].clone();
    for (row, text) in [
        (
            0,
            "line 2: name: \"\\u{200b}\" is empty once its invisible characters",
        ),
        (
            1,
            "line 3: name: \"\\u{feff}\\u{2060}\\u{ad}\" is empty once",
        ),
        (2, "line 4: name: \"\\u{200c}\\u{200d}\" is empty once"),
        (
            3,
            "line 5: name: \"invoice\\u{202e}fdp.exe\" contains U+202E RIGHT-TO-LEFT OVERRIDE \
             at character 8",
        ),
        (
            4,
            "line 6: displayName: \"\\u{2067}Acme\" contains U+2067 RIGHT-TO-LEFT ISOLATE at \
             character 1",
        ),
        (
            5,
            "line 7: id: \"ab\\u{202d}c\" is not a valid organization id: U+202D LEFT-TO-RIGHT \
             OVERRIDE at character 3",
        ),
        (
            6,
            "line 8: domains: \"ex\\u{2066}ample.com\" contains U+2066 LEFT-TO-RIGHT ISOLATE at \
             character 3",
        ),
        (7, "line 9: displayName: \"\\u{200b}\" is empty once"),
    ] {
        assert!(error(row).starts_with(text), "{}", error(row));
        assert_eq!(rows[row]["status"], "invalid");
    }
    // Invisible characters beside visible ones are the name's own business.
    assert_eq!(rows[8]["status"], "created", "{rows:?}");
    assert_eq!(sandbox.sandbox.stats().create_requests, 1);
}

#[test]
fn control_characters_from_headers_and_cells_are_escaped_in_every_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = |csv: &[u8], extra: &[&str]| {
        let input = dir.path().join("hostile.csv");
        std::fs::write(&input, csv).unwrap();
        let out = assert_cmd::Command::cargo_bin("orgimport")
            .unwrap()
            .arg(extra[0])
            .arg(&input)
            .args(&extra[1..])
            .output()
            .unwrap();
        let all = [out.stdout.clone(), out.stderr.clone()].concat();
        for byte in [0x00, 0x1b, 0x07, 0x7f] {
            assert!(
                !all.contains(&byte),
                "raw byte {byte:#x} printed: {}",
                String::from_utf8_lossy(&all)
            );
        }
        assert!(
            !String::from_utf8_lossy(&all).contains(['\u{9b}', '\u{202e}']),
            "a raw C1 or bidi control printed"
        );
        String::from_utf8_lossy(&all).into_owned()
    };

    // A header with NUL and an ANSI escape, and no name column.
    let text = run(b"na\0me,\x1b[31mred\x1b[0m\nacme,x\n", &["validate"]);
    assert!(
        text.contains("(the header has: na\\u{0}me, \\u{1b}[31mred\\u{1b}[0m)"),
        "{text}"
    );
    // A column named by a flag, holding escapes, and cells full of them.
    let text = run(
        b"name,E\x1bMail,id\n\x1b]0;pwned\x07,x\x7f@y,\xc2\x9b\xe2\x80\xae\n",
        &["validate", "--map", "email=E\x1bMail"],
    );
    assert!(
        text.contains("name: \"\\u{1b}]0;pwned\\u{7}\" contains a control character"),
        "{text}"
    );
    assert!(
        text.contains("E\\u{1b}Mail: \"x\\u{7f}@y\" is not an email address"),
        "{text}"
    );
    assert!(text.contains("id: \"\\u{9b}\\u{202e}\""), "{text}");
    // An import's summary names the kind of problem by the column, escaped too.
    let text = run(
        b"name,E\x1bMail\nacme,x@\nbeta,\n",
        &["import", "--sandbox", "--map", "email=E\x1bMail"],
    );
    assert!(text.contains("1 invalid (E\\u{1b}Mail)"), "{text}");
}
