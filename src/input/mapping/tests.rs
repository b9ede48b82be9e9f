use super::*;

pub(super) fn record(fields: &[&str]) -> StringRecord {
    StringRecord::from(fields.to_vec())
}

pub(super) fn mapping(header: &[&str], toml_text: &str) -> Result<Mapping, String> {
    let file = MappingFile::parse(toml_text, "map.toml")?;
    Mapping::new(
        &record(header),
        &MappingSpec {
            file: Some(file),
            overrides: vec![],
        },
    )
}

#[test]
fn maps_known_columns_case_insensitively_and_metadata_by_prefix() {
    let m = mapping(
        &[
            "Name",
            " ID ",
            "displayName",
            "metadata.salesforceId",
            "owner",
        ],
        "",
    )
    .unwrap();
    let row = record(&["acme", "cust-1", "ACME Inc", "001xx", "Kim"]);
    let request = m.to_request(&row, Some("tpl")).unwrap();
    assert_eq!(request.name, "acme");
    assert_eq!(request.id.as_deref(), Some("cust-1"));
    assert_eq!(request.display_name.as_deref(), Some("ACME Inc"));
    assert_eq!(request.template_id.as_deref(), Some("tpl"));
    assert_eq!(request.metadata.unwrap().payload["salesforceId"], "001xx");
    assert_eq!(m.key(&row).as_deref(), Some("id:cust-1"));
}

#[test]
fn a_mapping_file_names_columns_values_formats_slugs_and_types() {
    let m = mapping(
        &[
            "Account Name",
            "Account ID",
            "Industry",
            "Country",
            "Entitlements",
            "Employees",
            "Active",
            "Extra",
        ],
        r#"
        [fields]
        name = { slug = "Account Name" }
        displayName = "account name"
        description = { format = "{Industry} customer in {Country} {{EU}}" }
        template_id = { value = "tpl-1" }
        [metadata]
        salesforceId = "Account ID"
        orgEntitlements = { column = "Entitlements", type = "list", separator = "|" }
        employees = { column = "Employees", type = "number" }
        active = { column = "Active", type = "bool" }
        extra = { column = "Extra", type = "json" }
        "#,
    )
    .unwrap();
    let row = record(&[
        "Müller GmbH",
        "001A",
        "Retail",
        "DE",
        "sso| api ",
        "250",
        "yes",
        r#"{"a":[1]}"#,
    ]);
    let r = m.to_request(&row, None).unwrap();
    assert_eq!(r.name, "muller-gmbh");
    assert_eq!(r.display_name.as_deref(), Some("Müller GmbH"));
    assert_eq!(r.description.as_deref(), Some("Retail customer in DE {EU}"));
    assert_eq!(r.template_id.as_deref(), Some("tpl-1"));
    let p = r.metadata.unwrap().payload;
    assert_eq!(p["orgEntitlements"], serde_json::json!(["sso", "api"]));
    assert_eq!(p["employees"], 250);
    assert_eq!(p["active"], true);
    assert_eq!(p["extra"], serde_json::json!({"a": [1]}));
    assert_eq!(m.key(&row).as_deref(), Some("name:muller-gmbh"));

    let bad = record(&["***", "001A", "", "", "", "many", "perhaps", "{"]);
    let problems = m.to_request(&bad, None).unwrap_err();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 4, "{text:?}");
    assert!(
        text[0].starts_with("Account Name: cannot make a name from \"***\""),
        "{text:?}"
    );
    assert_eq!(text[1], "Active: \"perhaps\" is not true or false");
    assert_eq!(text[2], "Employees: \"many\" is not a number");
    assert!(text[3].starts_with("Extra: \"{\" is not JSON"), "{text:?}");
}

#[test]
fn mapping_mistakes_are_named() {
    let err = mapping(&["A"], "[fields]\nname = { column = \"A\", value = \"x\" }").unwrap_err();
    assert_eq!(
        err,
        "line 2: [fields] name: give exactly one of column, value, format, slug"
    );
    let err = mapping(&["A", "B"], "[fields]\nname = { format = \"{A\" }").unwrap_err();
    assert!(
        err.starts_with("line 2: [fields] name: format \"{A\" has an unclosed"),
        "{err}"
    );
    let err = Mapping::new(&record(&["id", "email"]), &MappingSpec::default()).unwrap_err();
    assert!(err.contains("no `name` column"), "{err}");
    let err = Mapping::new(&record(&["name", "Name"]), &MappingSpec::default()).unwrap_err();
    assert!(err.contains("two columns"), "{err}");
}

#[test]
fn a_mapping_file_mistake_names_the_line_the_field_and_what_is_allowed() {
    let parse = |text: &str| MappingFile::parse(text, "crm-mapping.toml").unwrap_err();
    // A type that does not exist, after six good lines.
    let file = "[fields]\nname = \"A\"\nid = \"B\"\n\n[metadata]\nregion = \"C\"\n\
                employees = { column = \"D\", type = \"date\" }\n";
    assert_eq!(
        parse(file),
        "line 7: [metadata] employees: type \"date\" is not one of string, number, bool, list, json"
    );
    // A number where a column's header goes, in both forms.
    let err = parse("[fields]\nname = 42\n");
    assert!(
        err.starts_with("line 2: [fields] name: 42 is a number; give a column's header in quotes"),
        "{err}"
    );
    let err = parse("[fields]\nname = { column = 42 }\n");
    assert!(
        err.starts_with(
            "line 2: [fields] name: column must be text in quotes (column = \"...\"), not 42"
        ),
        "{err}"
    );
    // A key a source does not have.
    let err = parse("[fields]\nname = { colum = \"A\" }\n");
    assert_eq!(
        err,
        "line 2: [fields] name: \"colum\" is not a key of a source; use one of column, value, \
         format, slug, and type, separator or transform"
    );
    // A field that is no organization field, and a table that is no table of a mapping.
    let err = parse("[fields]\nname = \"A\"\nnmae = \"B\"\n");
    assert!(
        err.starts_with("line 3: [fields] nmae: not an organization field; use one of name, id,"),
        "{err}"
    );
    let err = parse("[feilds]\nname = \"A\"\n");
    assert!(
        err.starts_with("line 1: \"feilds\" is not a table"),
        "{err}"
    );
    // Every mistake at once, in file order; a field given twice, in two spellings.
    let err =
        parse("[metadata]\nx = true\n[fields]\nName = \"A\"\nname = \"B\"\nemail = [\"a\"]\n");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with("line 2: [metadata] x: true is true or false"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("crm-mapping.toml: line 5: [fields] name: given twice"),
        "{err}"
    );
    assert!(
        lines[2].starts_with("crm-mapping.toml: line 6: [fields] email: [\"a\"] is a list"),
        "{err}"
    );
    // Not TOML at all.
    let err = parse("[fields]\nname = \"A\"\nid = \n");
    assert!(err.starts_with("line 3: not TOML"), "{err}");
    // Escapes in names are shown as escapes.
    let err = parse("[fields]\n\"na\\u001bme\" = \"A\"\n");
    assert!(
        err.starts_with("line 2: [fields] na\\u{1b}me: not an"),
        "{err}"
    );
}

#[test]
fn a_column_the_input_lacks_is_named_by_the_mapping_files_line_and_flags_win() {
    let err = mapping(
        &["A"],
        "[fields]\nname = \"A\"\n\n[metadata]\nregion = \"Nom\"\n",
    )
    .unwrap_err();
    assert!(
        err.starts_with(
            "map.toml line 5: [metadata] region: there is no column \"Nom\" (the header has: A)"
        ),
        "{err}"
    );
    // A --map flag replaces the file's entry, however the file spells the field.
    let file = MappingFile::parse("[fields]\nname = \"A\"\ndisplayname = \"A\"\n", "m").unwrap();
    let m = Mapping::new(
        &record(&["A", "B"]),
        &MappingSpec {
            file: Some(file),
            overrides: vec![("displayName".into(), "B".into())],
        },
    )
    .unwrap();
    let request = m.to_request(&record(&["acme", "Acme Inc"]), None).unwrap();
    assert_eq!(request.display_name.as_deref(), Some("Acme Inc"));
    let err = Mapping::new(
        &record(&["A"]),
        &MappingSpec {
            file: None,
            overrides: vec![("nmae".into(), "A".into())],
        },
    )
    .unwrap_err();
    assert!(
        err.starts_with("\"nmae\" is not an organization field"),
        "{err}"
    );
}

#[test]
fn every_problem_of_a_row_is_reported() {
    let m = Mapping::new(
        &record(&["name", "id", "email", "color", "domains"]),
        &MappingSpec::default(),
    )
    .unwrap();
    let row = record(&["", "a b", "x at y", "blue", "ok.com;acme corp.com"]);
    let problems = m.to_request(&row, None).unwrap_err();
    let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            ProblemKind::MissingName,
            ProblemKind::BadId,
            ProblemKind::BadEmail,
            ProblemKind::BadColor,
            ProblemKind::BadDomain
        ]
    );
    assert_eq!(
        problems[1].to_string(),
        "id: \"a b\" is not a valid organization id: ' ' is not allowed (use letters, digits, '_', '.' and '-')"
    );
}

#[test]
fn map_flags_win_over_the_file_and_the_headers() {
    let m = Mapping::new(
        &record(&["name", "Company"]),
        &MappingSpec {
            file: None,
            overrides: vec![("name".into(), "Company".into())],
        },
    )
    .unwrap();
    assert_eq!(
        m.to_request(&record(&["x", "acme"]), None).unwrap().name,
        "acme"
    );
}

#[test]
fn neutralized_cells_are_read_as_the_values_they_were_written_from() {
    let m = mapping(&["id", "name", "description", "metadata.note"], "").unwrap();
    // As a results file or an export writes `-1-1`, `=Acme, "Inc"`, `+1 555` and `'=x`.
    let row = record(&["'-1-1", "'=Acme, \"Inc\"", "'+1 555", "''=x"]);
    let request = m.to_request(&row, Some("tpl")).unwrap();
    assert_eq!(request.id.as_deref(), Some("-1-1"));
    assert_eq!(request.name, "=Acme, \"Inc\"");
    assert_eq!(request.description.as_deref(), Some("+1 555"));
    assert_eq!(request.metadata.unwrap().payload["note"], "'=x");
    // A quote before a plain word is the user's own.
    let row = record(&["", "'quoted", "", ""]);
    assert_eq!(m.to_request(&row, None).unwrap().name, "'quoted");
}

#[test]
fn a_json_metadata_header_types_its_cells_and_keys_round_trip_through_their_headers() {
    let m = mapping(
        &[
            "name",
            "metadata.tags:json",
            "metadata.Employees:JSON",
            "metadata.plain",
        ],
        "",
    )
    .unwrap();
    let row = record(&["acme", "[\"a\",\"b\"]", "1200", "[1]"]);
    let payload = m.to_request(&row, None).unwrap().metadata.unwrap().payload;
    assert_eq!(payload["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(payload["Employees"], serde_json::json!(1200));
    assert_eq!(payload["plain"], "[1]");
    let bad = m
        .to_request(&record(&["acme", "[", "", ""]), None)
        .unwrap_err();
    assert!(bad[0].to_string().contains("metadata.tags:json"), "{bad:?}");
    assert!(mapping(&["name", "metadata.:json"], "").is_err());
    assert!(mapping(&["name", "metadata.a", "metadata.a:json"], "").is_err());

    for (key, json) in [
        ("tags", true),
        ("region", false),
        ("odd:json", false),
        ("x:JSON", true),
    ] {
        let (header, cells_json) = metadata_column(key, json);
        let m = mapping(&["name", &header], "").unwrap();
        let cell = if cells_json { "\"v\"" } else { "v" };
        let payload = m
            .to_request(&record(&["n", cell]), None)
            .unwrap()
            .metadata
            .unwrap()
            .payload;
        assert_eq!(payload[key], "v", "{key} as {header}");
    }
}

#[test]
fn a_website_column_gives_its_host_and_www_is_dropped_when_asked() {
    let m = mapping(
        &["Account", "Website", "Other Sites"],
        r#"
        [fields]
        name = "Account"
        domains = { column = "Website", transform = "host" }
        [metadata]
        sites = { column = "Other Sites", type = "list", transform = "strip-www" }
        "#,
    )
    .unwrap();
    for (website, domains) in [
        ("https://www.globex.com/path", vec!["globex.com"]),
        ("HTTP://WWW.Globex.COM:8443/a?b#c", vec!["globex.com"]),
        ("www.globex.com/about", vec!["globex.com"]),
        ("globex.com", vec!["globex.com"]),
        ("https://user@shop.globex.co.uk", vec!["shop.globex.co.uk"]),
        (
            "https://www.globex.com; http://initech.example/",
            vec!["globex.com", "initech.example"],
        ),
    ] {
        let row = record(&["globex", website, "www.a.example;b.example"]);
        let request = m.to_request(&row, None).unwrap();
        assert_eq!(request.domains, domains, "{website}");
        assert_eq!(
            request.metadata.unwrap().payload["sites"],
            serde_json::json!(["a.example", "b.example"])
        );
    }
    // Without a transform a URL is refused, as before.
    let plain = mapping(
        &["Account", "Website"],
        "[fields]\nname = \"Account\"\ndomains = \"Website\"\n",
    )
    .unwrap();
    let row = record(&["globex", "https://www.globex.com"]);
    let refused = format!("{:?}", plain.to_request(&row, None).unwrap_err());
    // ... with the way out named.
    assert!(refused.contains("transform = \\\"host\\\""), "{refused}");
    let row = record(&["globex", "globex com"]);
    let refused = format!("{:?}", plain.to_request(&row, None).unwrap_err());
    assert!(!refused.contains("transform"), "{refused}");

    let error = mapping(
        &["Website"],
        "[fields]\ndomains = { column = \"Website\", transform = \"url\" }\n",
    )
    .unwrap_err();
    assert!(
        error.contains("transform must be one of host, strip-www"),
        "{error}"
    );
    let error = mapping(
        &["Website"],
        "[fields]\ndomains = { value = \"x.example\", transform = \"host\" }\n",
    )
    .unwrap_err();
    assert!(error.contains("give column too"), "{error}");
}

#[test]
fn list_items_and_trimmed_cells_are_as_the_standard_library_makes_them() {
    for cell in [
        "", ";", ",", "a", "a;b,c", "a;", ";a", "a;;b", " a ; b ", "é;ü,ß", "a,b;",
    ] {
        let items: Vec<&str> = Items::Semicolon(Some(cell)).collect();
        let split: Vec<&str> = cell.split([';', ',']).collect();
        assert_eq!(items, split, "{cell:?}");
    }
    for cell in [
        "", "a", " a", "a ", "\u{a0}a", "a\u{a0}", "\u{3000}", "ab", "é", " ", "a b", "\ta\t",
    ] {
        assert_eq!(trimmed(cell), cell.trim(), "{cell:?}");
    }
}
