//! The Columns step: suggestions made once each, metadata keys from headers, and a mapping
//! file quoted as TOML the CLI reads back.

use super::*;

#[test]
fn a_header_with_quotes_and_a_newline_is_written_as_toml_the_cli_reads() {
    let headers = vec![
        "Account \"Name\"\n\\x".to_string(),
        "Web site".to_string(),
        "R\u{e9}gion\t'x'".to_string(),
    ];
    let fields = [
        "name".into(),
        "metadata.site".into(),
        "metadata.r\u{e9}gion 'x'".into(),
    ];
    let text = mapping_text(&headers, &fields).unwrap();
    let file = MappingFile::parse(&text, "m.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(matches!(&file.fields["name"], SourceSpec::Column(c) if *c == headers[0]));
    assert!(file.metadata.contains_key("site"));
    assert!(file.metadata.contains_key("r\u{e9}gion 'x'"), "{text}");
}

#[test]
fn no_field_is_suggested_twice() {
    let headers: Vec<String> = ["notes", "description", "Company", "Account Name", "Region"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    assert_eq!(
        suggestions(&headers),
        ["ignore", "description", "name", "ignore", "metadata.region"]
    );
}

#[test]
fn camel_case_keys_are_made_from_headers() {
    assert_eq!(metadata_key("Account Owner"), "accountOwner");
    assert_eq!(metadata_key("Favourite Biscuit"), "favouriteBiscuit");
    assert_eq!(metadata_key("--"), "value");
}
