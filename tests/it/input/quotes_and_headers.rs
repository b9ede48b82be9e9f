//! A quote left open that swallows rows of their own is never imported silently, and a header
//! repeated inside the file or with an invisible character is named, not read as a customer.

use super::*;

#[tokio::test]
async fn a_customer_swallowed_by_a_quote_a_later_stray_quote_closes_is_never_imported_silently() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // Row 2's note opens a quote that row 3's stray quote closes: beta-b would vanish into it.
    // Rows 6 and 8 hold line breaks in quoted fields, with fewer separators than the header's
    // on each line: an address, a note.
    let fixture = Fixture::new(
        "name,city,description\n\
         alpha-a,Berlin,\"Note about a\n\
         beta-b,Paris,Note with quote\" end\n\
         gamma-c,Rome,plain\n\
         delta-d,Oslo,plain\n\
         epsilon-e,Madrid,\"Street 1, Floor 2\nMadrid, Spain\"\n\
         zeta-z,Lisbon,\"Two admins:\nKlaus (primary), Petra (backup)\"\n",
    );

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    let rows = fixture.results_rows();
    assert_eq!(summary.count(Status::Created), 4, "{summary} {rows:?}");
    assert_eq!(summary.count(Status::Invalid), 1, "{summary} {rows:?}");
    let error = &rows[0]["error"];
    assert!(
        error.starts_with(
            "line 2: line 3, inside the quoted field 3 opened on line 2, is shaped like a row"
        ),
        "{rows:?}"
    );
    assert!(
        error.contains("beta-b,Paris,Note with quote end"),
        "{error}"
    );
    let orgs = orgs_by_name(&sandbox);
    let mut names: Vec<&str> = orgs.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["delta-d", "epsilon-e", "gamma-c", "zeta-z"]);
    assert_eq!(
        orgs["epsilon-e"].description,
        "Street 1, Floor 2\nMadrid, Spain"
    );
}

#[tokio::test]
async fn a_swallowed_row_with_a_quoted_field_or_an_extra_separator_is_never_imported_silently() {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    // q17-a's quote is closed by the opening quote of q17-b's own quoted field: inside the
    // quote, q17-b's line has one separator, the rest of it after the quote. q15-b's line has
    // one separator more than the header. ok-a and ok-b are notes that span lines.
    let fixture = Fixture::new(
        "name,description,notes\n\
         q17-a,\"Opened,n1\n\
         q17-b,\"mid\",n2\n\
         q17-c,closes\" here,n3\n\
         q17-d,ok,n4\n\
         q15-a,\"Opened\n\
         q15-b,mid,extra,\n\
         q15-c,ok\",n5\n\
         ok-a,\"An address\nBerlin\",n6\n\
         ok-b,\"He said \"\"hi\"\"\ntwice\",n7\n",
    );

    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();

    let rows = fixture.results_rows();
    assert_eq!(summary.count(Status::Invalid), 2, "{summary} {rows:?}");
    assert!(
        rows[0]["error"].contains("line 3, inside the quoted field 2 opened on line 2"),
        "{rows:?}"
    );
    let q15 = rows
        .iter()
        .find(|r| r["name"] == "q15-a")
        .expect("q15-a in the results");
    assert!(
        q15["error"].contains("line 7, inside the quoted field 2 opened on line 6"),
        "{q15:?}"
    );
    let orgs = orgs_by_name(&sandbox);
    let mut names: Vec<&str> = orgs.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["ok-a", "ok-b", "q17-c", "q17-d"]);
    assert_eq!(orgs["ok-b"].description, "He said \"hi\"\ntwice");
}

#[tokio::test]
async fn a_file_refused_for_a_quote_left_open_still_lists_the_problems_before_it() {
    let message = refused_before_any_create(
        "name,city,description\n\
         alpha-a,Berlin,ok\n\
         beta-b,Paris\n\
         gamma-c,Rome,\"open\n\
         delta-d,Oslo,x\n",
    )
    .await;
    let ragged = message
        .find("line 3: the row has 2 fields but the header has 3")
        .unwrap_or_else(|| panic!("line 3 not listed: {message}"));
    let refusal = message
        .find("line 4: the quoted field 3 opened on this line is still open")
        .unwrap_or_else(|| panic!("no refusal: {message}"));
    assert!(
        ragged < refusal,
        "the problems first, then the refusal: {message}"
    );
}

#[tokio::test]
async fn a_header_repeated_inside_the_file_is_no_customer() {
    // Two exports pasted together: the second one's header is not an organization.
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new(
        "id,name,description\n\
         a-1,Acme,first\n\
         ID, Name ,Description\n\
         b-1,Beta,second\n",
    );
    let summary = fixture.import(&sandbox, &["--rate", "1000"]).await.unwrap();
    let rows = fixture.results_rows();
    assert_eq!(summary.count(Status::Created), 2, "{summary} {rows:?}");
    assert_eq!(summary.count(Status::Invalid), 1, "{summary} {rows:?}");
    assert!(
        rows[1]["error"].contains("the row repeats the header"),
        "{rows:?}"
    );
    let orgs = orgs_by_name(&sandbox);
    let mut names: Vec<&str> = orgs.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["Acme", "Beta"]);
}

#[tokio::test]
async fn a_field_column_with_an_invisible_character_in_its_header_is_refused_not_dropped() {
    for (header, escaped) in [
        ("descrip\u{200b}tion", r"descrip\u{200b}tion"),
        ("\u{feff}description", r"\u{feff}description"),
    ] {
        let sandbox = start_sandbox(SandboxConfig::default()).await;
        let fixture = Fixture::new(&format!("name,{header}\nacme-1,Our best customer\n"));
        let error = fixture
            .import(&sandbox, &[])
            .await
            .expect_err("the description column would be dropped");
        let message = error.to_string();
        assert!(
            message.contains("no column feeds `description`"),
            "{message}"
        );
        assert!(message.contains(&format!("\"{escaped}\"")), "{message}");
        assert_eq!(sandbox.sandbox.stats().create_requests, 0);
    }
}

#[tokio::test]
async fn a_header_cell_with_a_no_break_space_or_an_invisible_character_is_named_escaped() {
    for (header, escaped, what) in [
        (
            "Account\u{a0}Name",
            r"Account\u{a0}Name",
            "a no-break space (U+00A0)",
        ),
        (
            "Account\u{200b} Name",
            r"Account\u{200b} Name",
            "a zero-width space (U+200B)",
        ),
        (
            "\u{feff}Account Name",
            r"\u{feff}Account Name",
            "a byte-order mark (U+FEFF)",
        ),
    ] {
        let sandbox = start_sandbox(SandboxConfig::default()).await;
        let fixture = Fixture::new(&format!("id,{header}\nacme-1,Acme\n"));
        let error = fixture
            .import(&sandbox, &["--map", "name=Account Name"])
            .await
            .expect_err("no such column");
        let message = error.to_string();
        assert!(
            message.contains("there is no column \"Account Name\""),
            "{message}"
        );
        assert!(
            message.contains(&format!("column 2 of the header, \"{escaped}\", looks like \"Account Name\" but is not: it holds {what}")),
            "{message}"
        );
        assert!(message.contains("Retype that header cell"), "{message}");
        assert_eq!(sandbox.sandbox.stats().create_requests, 0);
    }
}
