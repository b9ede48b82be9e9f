use super::*;

fn record(fields: &[&str]) -> StringRecord {
    StringRecord::from(fields.to_vec())
}

fn mapping(header: &[&str], toml_text: &str) -> Result<Mapping, String> {
    let file: MappingFile = toml::from_str(toml_text).map_err(|e| e.to_string())?;
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
    let err = mapping(&["A"], "[fields]\nname = \"Nom\"").unwrap_err();
    assert!(err.contains("no column \"Nom\""), "{err}");
    let err = mapping(&["A"], "[fields]\nnmae = \"A\"").unwrap_err();
    assert!(
        err.contains("\"nmae\" is not an organization field"),
        "{err}"
    );
    let err = mapping(&["A"], "[fields]\nname = { column = \"A\", value = \"x\" }").unwrap_err();
    assert!(err.contains("exactly one of"), "{err}");
    let err = mapping(&["A", "B"], "[fields]\nname = { format = \"{A\" }").unwrap_err();
    assert!(err.contains("unclosed"), "{err}");
    let err = Mapping::new(&record(&["id", "email"]), &MappingSpec::default()).unwrap_err();
    assert!(err.contains("no `name` column"), "{err}");
    let err = Mapping::new(&record(&["name", "Name"]), &MappingSpec::default()).unwrap_err();
    assert!(err.contains("two columns"), "{err}");
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
