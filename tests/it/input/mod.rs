//! Real-world input against the sandbox: spreadsheet dialects, column mappings, hierarchies
//! in any order, and `orgimport validate`.

use std::collections::HashMap;
use std::path::Path;

use orgimport::record::Status;
use orgimport::sandbox::SandboxConfig;

use crate::fixture::Fixture;
use crate::util::start_sandbox;

mod quotes_and_headers;

/// The sandbox's organizations (templates left out) by name.
fn orgs_by_name(
    sandbox: &crate::util::TestSandbox,
) -> HashMap<String, orgimport::sandbox::Organization> {
    sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| (o.name.clone(), o))
        .collect()
}

#[tokio::test]
async fn a_three_level_hierarchy_in_shuffled_order_is_created_parents_first() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // Grandchildren first, then children, then the top: as CRM exports often list them.
    let fixture = Fixture::new(
        "name,parent,displayName\n\
         berlin-branch,emea-sub,Berlin\n\
         paris-branch,emea-sub,Paris\n\
         tokyo-branch,apac-sub,Tokyo\n\
         emea-sub,acme-holding,EMEA\n\
         apac-sub,acme-holding,APAC\n\
         acme-holding,,ACME Holding\n\
         solo,,Solo\n",
    );

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    assert_eq!(summary.count(Status::Created), 7, "{summary}");
    let orgs = orgs_by_name(&sandbox);
    let id = |name: &str| orgs[name].id.clone();
    assert_eq!(orgs["acme-holding"].parent_id, None);
    assert_eq!(orgs["emea-sub"].parent_id, Some(id("acme-holding")));
    assert_eq!(orgs["apac-sub"].parent_id, Some(id("acme-holding")));
    assert_eq!(orgs["berlin-branch"].parent_id, Some(id("emea-sub")));
    assert_eq!(orgs["tokyo-branch"].parent_id, Some(id("apac-sub")));
    assert_eq!(orgs["acme-holding"].number_of_child_organizations, 2);
    for row in fixture.results_rows() {
        assert_eq!(row["org_id"], id(&row["name"]), "{row:?}");
    }
}

#[tokio::test]
async fn cycles_missing_and_invalid_parents_are_invalid_rows() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(
        "name,parent,email\n\
         a,b,\n\
         b,a,\n\
         me,me,\n\
         orphan,nobody,\n\
         bad-parent,,not-an-email\n\
         child-of-bad,bad-parent,\n\
         grandchild-of-bad,child-of-bad,\n\
         fine,,\n\
         bad-child-of-bad,bad-parent,also-not-an-email\n",
    );

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    assert_eq!(summary.count(Status::Created), 1, "{summary}");
    assert_eq!(summary.count(Status::Invalid), 8, "{summary}");
    let rows = fixture.results_rows();
    let error = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap()["error"].clone();
    assert!(
        error("a").contains("cycle: line 2 -> line 3 -> line 2"),
        "{}",
        error("a")
    );
    assert!(error("b").contains("cycle"), "{}", error("b"));
    assert!(error("me").contains("names itself"), "{}", error("me"));
    assert!(
        error("orphan").contains("\"nobody\" is neither the id nor the name"),
        "{}",
        error("orphan")
    );
    assert!(
        error("child-of-bad").contains("its parent, line 6, is invalid"),
        "{}",
        error("child-of-bad")
    );
    assert!(
        error("grandchild-of-bad").contains("its parent, line 7, is invalid"),
        "{}",
        error("grandchild-of-bad")
    );
    // The parent's own problem is named, however deep; a child's own problem is kept.
    let parents_problem = "its parent, line 6, is invalid (email: \"not-an-email\" is not an email";
    for name in ["child-of-bad", "bad-child-of-bad"] {
        assert!(
            error(name).contains(parents_problem),
            "{name}: {}",
            error(name)
        );
    }
    // Named once, where it is, not nested message in message.
    let grandchild = error("grandchild-of-bad");
    assert!(
        grandchild.contains(
            "its parent, line 7, is invalid (through line 6: email: \"not-an-email\" is not an \
             email"
        ),
        "{grandchild}"
    );
    assert!(!grandchild.contains("(its parent"), "{grandchild}");
    assert!(
        error("bad-child-of-bad").contains("email: \"also-not-an-email\" is not an email"),
        "{}",
        error("bad-child-of-bad")
    );
    assert_eq!(sandbox.sandbox.stats().create_requests, 1);
}

#[tokio::test]
async fn a_child_whose_parent_failed_is_not_sent_and_says_why() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // The parent's own parent_id names no organization: the API refuses it (404).
    let fixture = Fixture::new(
        "id,name,parent_id\n\
         kid,kid,mum\n\
         mum,mum,no-such-organization\n",
    );

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    let rows = fixture.results_rows();
    assert_eq!(rows[1]["status"], "failed", "{rows:?}");
    assert_eq!(rows[1]["http_status"], "404");
    assert_eq!(rows[0]["status"], "not_sent", "{rows:?}");
    assert!(
        rows[0]["error"].contains("its parent, line 3, was not created (HTTP 404"),
        "{}",
        rows[0]["error"]
    );
    assert_eq!(
        sandbox.sandbox.stats().create_requests,
        1,
        "the child was never sent"
    );
    assert_eq!(summary.exit_status().code(), 1);
}

#[tokio::test]
async fn a_parent_id_naming_another_row_waits_for_it() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("id,name,parent_id\nkid-1,kid,mum-1\nmum-1,mum,\n");

    fixture.import(&sandbox, &[]).await.unwrap();

    assert_eq!(
        orgs_by_name(&sandbox)["kid"].parent_id.as_deref(),
        Some("mum-1")
    );
}

#[tokio::test]
async fn an_excel_export_with_bom_semicolons_crlf_and_line_breaks_is_read() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(
        "\u{feff} Name ;ID;Notes;Domains\r\n\
         acme;acme-1;\"two\r\nlines\";acme.com,acme.de\r\n\
         \r\n\
         beta;;\"=HYPERLINK(\"\"x\"\")\";\r\n",
    );

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    assert_eq!(summary.count(Status::Created), 2, "{summary}");
    let orgs = orgs_by_name(&sandbox);
    assert_eq!(
        orgs["acme"].domains,
        Some(vec!["acme.com".to_string(), "acme.de".to_string()])
    );
    // The results file: UTF-8 with a BOM, the input's ';', formulas neutralized.
    let raw = std::fs::read_to_string(fixture.results()).unwrap();
    assert!(
        raw.starts_with("\u{feff}Name;ID;Notes;Domains;status;"),
        "{raw}"
    );
    assert!(raw.contains("'=HYPERLINK"), "{raw}");
    assert!(raw.contains("\"two\r\nlines\""), "{raw}");
    // And a rerun still recognises every row.
    let again = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    assert_eq!(again.sent, 0, "{again}");
}

#[tokio::test]
async fn utf16_tab_files_and_named_encodings_are_decoded() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // Excel's "Unicode text": UTF-16LE with a BOM, tab-separated.
    let utf16: Vec<u8> = "\u{feff}name\tdisplayName\r\nsao-paulo\tSão Paulo Ltda\r\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let fixture = Fixture::new("");
    std::fs::write(fixture.input(), utf16).unwrap();
    let summary = fixture.import(&sandbox, &[]).await.unwrap();
    assert_eq!(summary.count(Status::Created), 1, "{summary}");

    // Windows-1252 without --encoding: detected, and the row created with its letters (it
    // was invalid, "not UTF-8", before the encoding was detected).
    let latin = Fixture::new("");
    std::fs::write(
        latin.input(),
        b"name,description\nm\xfcller,M\xfcller GmbH\n",
    )
    .unwrap();
    let summary = latin.import(&sandbox, &[]).await.unwrap();
    let rows = latin.results_rows();
    assert_eq!(summary.count(Status::Created), 1, "{summary}");
    assert_eq!(rows[0]["description"], "Müller GmbH", "copied as decoded");
    assert!(
        sandbox
            .sandbox
            .organizations()
            .iter()
            .any(|o| o.name == "müller" && o.description == "Müller GmbH")
    );
    // Named, the encoding wins: the same bytes read as ISO-8859-5 (Cyrillic).
    let latin = Fixture::new("");
    std::fs::write(latin.input(), b"name,displayName\nmuller,M\xfcller GmbH\n").unwrap();
    let summary = latin
        .import(&sandbox, &["--encoding", "iso-8859-5"])
        .await
        .unwrap();
    assert_eq!(summary.count(Status::Created), 1, "{summary}");
    assert_eq!(latin.results_rows()[0]["displayName"], "Mќller GmbH");
    assert!(
        sandbox
            .sandbox
            .organizations()
            .iter()
            .any(|o| o.name == "muller")
    );
}

#[tokio::test]
async fn ragged_rows_are_reported_by_line() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("name,id\nok,\nshort\ntoo,many,fields\nlast,\n");

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    let rows = fixture.results_rows();
    assert_eq!(summary.count(Status::Created), 2, "{summary} {rows:?}");
    assert!(
        rows[1]["error"].starts_with("line 3: the row has 1 fields"),
        "{rows:?}"
    );
    assert!(
        rows[2]["error"].starts_with("line 4: the row has 3 fields"),
        "{rows:?}"
    );
    // The results keep the header's columns: a short row padded, a long row's surplus
    // joined into its last column.
    assert_eq!(
        (rows[1]["name"].as_str(), rows[1]["id"].as_str()),
        ("short", "")
    );
    assert_eq!(
        (rows[2]["name"].as_str(), rows[2]["id"].as_str()),
        ("too", "many,fields")
    );
    assert_eq!(rows[3]["status"], "created", "{rows:?}");
}

/// Imports `csv` into a fresh sandbox, which must refuse the file naming it and create
/// nothing; the refusal's message.
async fn refused_before_any_create(csv: &str) -> String {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(csv);

    let error = fixture
        .import(&sandbox, &["--rate", "1000"])
        .await
        .expect_err("the file is refused");

    let message = error.to_string();
    assert!(message.contains("customers.csv"), "{message}");
    assert_eq!(sandbox.sandbox.stats().create_requests, 0);
    message
}

#[tokio::test]
async fn a_quote_still_open_at_the_end_of_the_file_refuses_it_however_few_rows_it_swallowed() {
    // Two columns, two rows swallowed: too few to look like rows inside the field, and the csv
    // reader takes the end of the file for the closing quote.
    let message =
        refused_before_any_create("name,description\nAcme,\"unclosed quote\nBeta,ok\nGamma,ok\n")
            .await;
    assert!(
        message.contains("line 2: the quoted field 2 opened on this line is still open"),
        "{message}"
    );
    assert!(message.contains("over 2 more lines"), "{message}");
}

#[tokio::test]
async fn a_quote_left_open_that_swallows_customers_refuses_the_file_before_any_create() {
    let mut csv = String::from("name,description,id\n");
    for line in 2..=1001 {
        match line {
            12 => csv.push_str("\"Acme Holdings,big,acme\n"),
            602 => csv.push_str("Monitors,12\" monitor,monitors\n"),
            _ => csv.push_str(&format!("customer-{line},plain,cust-{line}\n")),
        }
    }
    let message = refused_before_any_create(&csv).await;
    assert!(message.contains("line 12: the quoted field 1"), "{message}");
    assert!(message.contains("over 590 more lines"), "{message}");
}

#[tokio::test]
async fn errors_name_the_right_line_in_a_file_with_cr_only_and_mixed_line_endings() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // Lines 2 and 4 are good; 3 (CR-ended) and 6 (after a CRLF and a blank CR line) are not.
    let fixture = Fixture::new("name,email\rgood-1,\rbad-1,not-an-email\ngood-2,\r\n\rbad-2,x@\r");

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    let rows = fixture.results_rows();
    assert_eq!(summary.count(Status::Created), 2, "{summary} {rows:?}");
    assert!(rows[1]["error"].starts_with("line 3: email"), "{rows:?}");
    assert!(rows[3]["error"].starts_with("line 6: email"), "{rows:?}");
}

#[test]
fn validate_lists_every_problem_of_the_samples_with_a_summary() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let out = assert_cmd::Command::cargo_bin("orgimport")
        .unwrap()
        .arg("validate")
        .arg(samples.join("customers.csv"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    for (line, text) in [
        (27, "name: is empty"),
        (
            74,
            "email: \"sales at example.com\" is not an email address",
        ),
        (121, "id: \"cust 0042/x\" is not a valid organization id"),
        (167, "color: \"#12345G\" is not a hex color"),
        (
            232,
            "name \"strassburger-verpackung-042\" is already used by line 44",
        ),
        (261, "domains: \"sanchez corp.com\" is not a domain name"),
    ] {
        assert!(
            stdout.contains(&format!("customers.csv:{line}: {text}")),
            "line {line}: {stdout}"
        );
    }
    assert!(
        stderr.contains("300 rows, 294 valid, 6 invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("1 bad email"), "{stderr}");
}

#[tokio::test]
async fn the_crm_sample_imports_with_its_mapping() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let fixture = Fixture::new("");
    std::fs::copy(samples.join("crm-export.csv"), fixture.input()).unwrap();
    let mapping = samples.join("crm-mapping.toml");

    let summary = fixture
        .import(
            &sandbox,
            &["--mapping", mapping.to_str().unwrap(), "--rate", "1000"],
        )
        .await
        .unwrap();

    assert_eq!(summary.count(Status::Created), 27, "{summary}");
    assert_eq!(summary.count(Status::Invalid), 2, "{summary}");
    let orgs = orgs_by_name(&sandbox);
    let sohne = &orgs["muller-sohne-kg"];
    assert!(sohne.metadata.payload["employees"].is_i64(), "{sohne:?}");
    assert!(
        sohne.metadata.payload["orgEntitlements"].is_array(),
        "{sohne:?}"
    );
    let zurich = &orgs["nordlicht-zurich-netz"];
    let swiss = &orgs["nordlicht-energie-schweiz-ag"];
    assert_eq!(zurich.parent_id.as_deref(), Some(swiss.id.as_str()));
    assert_eq!(
        swiss.parent_id.as_deref(),
        Some(orgs["nordlicht-energie-ag"].id.as_str())
    );
}
