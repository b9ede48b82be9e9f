//! The checks of a row without its request agree with the request's.

use super::*;

use crate::input::mapping::tests::{mapping, record};

/// Every field, metadata of each type, and domains taken from a website.
const HEADER: [&str; 13] = [
    "name",
    "id",
    "parent_id",
    "template_id",
    "displayName",
    "description",
    "email",
    "color",
    "Site",
    "metadata.n",
    "metadata.ok",
    "metadata.tags",
    "metadata.j:json",
];

/// A mapping of [`HEADER`].
fn every_field() -> Mapping {
    mapping(
        &HEADER,
        "[fields]\ndomains = { column = \"Site\", transform = \"host\" }\n\
         [metadata]\nn = { column = \"metadata.n\", type = \"number\" }\n\
         ok = { column = \"metadata.ok\", type = \"bool\" }\n\
         tags = { column = \"metadata.tags\", type = \"list\" }\n",
    )
    .unwrap()
}

#[test]
fn a_row_checked_without_its_request_has_the_problems_its_request_finds() {
    let m = every_field();
    let long = "x".repeat(300);
    let rows: Vec<Vec<&str>> = vec![
        vec![
            "acme",
            "c-1",
            "",
            "",
            "Acme",
            "d",
            "a@acme.com",
            "#fff",
            "https://acme.com",
            "5",
            "yes",
            "a;b",
            "[1]",
        ],
        vec![
            "",
            "c 1",
            "p/1",
            "t\u{202e}1",
            "\u{200b}",
            &long,
            "not-an-email",
            "red",
            "https://",
            "five",
            "maybe",
            "",
            "[",
        ],
        vec![
            &long,
            "",
            "",
            "",
            "a\u{7}b",
            "",
            "",
            "",
            "münchen.de, https://x/\u{202e}y",
            "",
            "",
            "",
            "",
        ],
        vec![
            "\u{200b} ",
            "",
            "",
            "",
            "  ",
            "",
            "a b@x.com",
            "",
            "//cdn.example.com/x;bad_host.com",
            "1.5",
            "0",
            "x",
            "{}",
        ],
        HEADER.to_vec(),
    ];
    for (i, row) in rows.iter().enumerate() {
        let row = record(row);
        let built = m.to_request(&row, Some("tpl")).err().unwrap_or_default();
        let checked = m.problems(&row);
        assert_eq!(format!("{checked:?}"), format!("{built:?}"), "{row:?}");
        // The first row is valid; each other one has problems.
        assert_eq!(checked.is_empty(), i == 0, "{checked:?}");
    }
}

/// Pieces cells are made of: each kind of problem the checks know, and what sits near one.
const PIECES: &[&str] = &[
    "",
    " ",
    "acme",
    "c-1",
    "c 1",
    "p/1",
    "A",
    "a@acme.com",
    "a b@x.com",
    "@",
    "#fff",
    "red",
    "https://",
    "https://acme.com",
    "//cdn.example.com/x",
    "münchen.de",
    "bad_host.com",
    ";",
    ",",
    ".",
    "-",
    "5",
    "1.5",
    "five",
    "yes",
    "0",
    "maybe",
    "[1]",
    "[",
    "{}",
    "\u{202e}",
    "\u{200b}",
    "\u{7}",
    "\t",
    "é",
    "x.y.z",
    "xn--",
    "\"",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Any row: the checks without the request find exactly the request's problems.
    #[test]
    fn any_row_checked_without_its_request_has_the_problems_its_request_finds(
        cells in proptest::collection::vec(
            proptest::collection::vec(proptest::sample::select(PIECES), 0..4),
            13,
        ),
        long in proptest::bool::ANY,
    ) {
        let m = every_field();
        let mut fields: Vec<String> = cells.iter().map(|pieces| pieces.concat()).collect();
        if long {
            fields[0].push_str(&"x".repeat(300));
        }
        let row = StringRecord::from(fields);
        let built = m.to_request(&row, Some("tpl")).err().unwrap_or_default();
        let checked = m.problems(&row);
        proptest::prop_assert_eq!(format!("{checked:?}"), format!("{built:?}"), "{:?}", row);
    }
}
