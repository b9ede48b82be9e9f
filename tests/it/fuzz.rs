//! A bounded fuzz harness (proptest) over what reads a customer file before anything is sent:
//! the CSV reader, the mapping file and the planner, fed arbitrary bytes and near-CSV (quotes,
//! delimiters, CR/LF mixes, byte-order marks, text that is not UTF-8, control and bidi
//! characters). Whatever the input: no panic, and every error and every invalid row names a
//! line that exists in the file. 200 cases a property (`PROPTEST_CASES` overrides); no network.

use std::path::Path;

use orgimport::input::{self, Dialect, MappingFile, MappingSpec};
use orgimport::planning::{self, InvalidRow};
use orgimport::record::{EarlierRuns, Status};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// 200 cases a property unless `PROPTEST_CASES` says otherwise; failures are not saved in
/// the source tree.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Pieces of near-CSV: header words, delimiters, quotes, line endings, byte-order marks, bytes
/// that are not UTF-8, controls, invisible and bidi characters, formula-like cells.
#[rustfmt::skip]
const CSV_PIECES: &[&[u8]] = &[
    b"name", b"id", b"parent", b"parent_id", b"email", b"domains", b"displayName",
    b"metadata.x", b"Account Name", b"Account ID", b",", b",", b",", b";", b"\t", b"|", b"\"",
    b"\"\"", b"\n", b"\n", b"\r", b"\r\n", b"\r\n", b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF",
    b"\xFF", b"\xC3", b"\xE2\x80", b"\x00", b"\x1b[31m", b"\x7f", b"\xC2\x9b",
    "\u{200b}".as_bytes(), "\u{202e}".as_bytes(), "\u{2066}".as_bytes(), "\u{feff}".as_bytes(),
    "é".as_bytes(), "東京".as_bytes(), b"acme", b"acme", b"beta", b"a.com", b"x@y.com", b"=1+1",
    b"-1-1", b"#fff", b" ", b"  ",
];

/// Header lines that map (or, with some mappings, do not).
const HEADERS: &[&[u8]] = &[
    b"name,id,parent,email,domains\n",
    b"name;parent_id;displayName\r\n",
    b"Account Name,Account ID,Parent\r",
    b"\xEF\xBB\xBFname,id\r\n",
    b"\n\r\nname\n",
    b"",
];

/// Mapping files the planner runs with ("" maps columns by their headers).
const MAPPINGS: &[&str] = &[
    "",
    "[fields]\nname = { slug = \"Account Name\" }\nid = \"Account ID\"\nparent = \"Parent\"\n",
    "[fields]\nid = { slug = \"name\" }\nname = \"name\"\n",
    "[fields]\nname = { format = \"{name}-{id}\" }\n[metadata]\nn = { column = \"id\", type = \"number\" }\n",
];

/// Near-CSV: a header line (or none) and up to 200 pieces, some of them words of their own.
fn near_csv() -> impl Strategy<Value = Vec<u8>> {
    // Words without `l`: a cell never reads "line 7" and passes for a line a message names.
    let piece = prop_oneof![
        4 => select(CSV_PIECES).prop_map(<[u8]>::to_vec),
        1 => "[a-k0-9]{1,6}".prop_map(String::into_bytes),
    ];
    (select(HEADERS), vec(piece, 0..200))
        .prop_map(|(header, pieces)| [header.to_vec(), pieces.concat()].concat())
}

/// Every dialect a user may name: found from the header, `;`, windows-1252, UTF-16LE.
fn dialect() -> impl Strategy<Value = Dialect> {
    select(vec![
        Dialect::default(),
        Dialect::parse(Some(";"), None).unwrap(),
        Dialect::parse(None, Some("windows-1252")).unwrap(),
        Dialect::parse(None, Some("utf-16le")).unwrap(),
    ])
}

/// How many lines `bytes` can hold at most, however they decode: one more than its line
/// breaks (a line break decoded from UTF-16 has a CR or LF byte in it too).
fn most_lines(bytes: &[u8]) -> u64 {
    1 + bytes.iter().filter(|b| matches!(b, b'\n' | b'\r')).count() as u64
}

/// The lines a message names (`line 7`, `line 2 -> line 3`), leaving out those of a mapping
/// file (`mapping.toml line 2`).
fn lines_named(message: &str) -> Vec<u64> {
    let mut lines = Vec::new();
    let mut rest = message;
    while let Some(at) = rest.find("line ") {
        let before = &rest[..at];
        let digits: String = rest[at + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !digits.is_empty() && !before.ends_with(".toml ") {
            lines.push(digits.parse().expect("a line number"));
        }
        rest = &rest[at + 5..];
    }
    lines
}

/// `message` names at least one line, and every line it names is in 1..=`most`.
fn assert_names_lines_within(message: &str, most: u64) {
    let lines = lines_named(message);
    assert!(!lines.is_empty(), "no line named: {message}");
    for line in lines {
        assert!(
            (1..=most).contains(&line),
            "line {line} of {most}: {message}"
        );
    }
}

/// An error reading a file: the file is empty, or the error names lines that exist.
fn assert_error_names_a_line(error: &orgimport::Error, most: u64) {
    let message = error.to_string();
    assert!(
        matches!(error, orgimport::Error::Input { .. }),
        "not an input error: {message}"
    );
    if !message.contains("the file is empty") {
        assert_names_lines_within(&message, most);
    }
}

/// Writes `bytes` to a file in `dir` and returns its path.
fn write(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join("customers.csv");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The reader alone: rows start on lines that exist, each after the one before.
fn check_rows(bytes: &[u8], dialect: Dialect) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), bytes);
    let most = most_lines(bytes);
    let source = match input::Source::as_csv(&path, &dialect) {
        Ok(source) => source,
        Err(e) => return assert_error_names_a_line(&e, most),
    };
    let width = source.headers().len();
    let mut last = 1;
    for row in source.rows(width).unwrap() {
        match row {
            Ok(row) => {
                assert!(
                    row.line > last && row.line <= most,
                    "row on line {} after line {last}, of {most}",
                    row.line
                );
                last = row.line;
                assert!(row.problem.is_some() || row.record.len() == width);
                assert_eq!(row.fields_in(width).len(), width);
            }
            Err(e) => return assert_error_names_a_line(&e, most),
        }
    }
}

/// The mapping and the planner: every invalid row names its own line first, and lines that
/// exist; the plan accounts for every row.
fn check_plan(bytes: &[u8], dialect: Dialect, toml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), bytes);
    let most = most_lines(bytes);
    let spec = MappingSpec {
        file: Some(MappingFile::parse(toml, "mapping.toml").expect("a mapping")),
        overrides: Vec::new(),
    };
    let source = match input::Source::as_csv(&path, &dialect) {
        Ok(source) => source,
        Err(e) => return assert_error_names_a_line(&e, most),
    };
    let mapping = match source.mapping(&spec) {
        Ok(mapping) => mapping,
        Err(e) => return assert_error_names_a_line(&e, most),
    };
    let mut reported = Vec::new();
    let plan = match planning::build(
        &source,
        &mapping,
        &mut EarlierRuns::default(),
        None,
        &mut |row: &InvalidRow| reported.push(row.line),
    ) {
        Ok(plan) => plan,
        Err(e) => return assert_error_names_a_line(&e, most),
    };
    assert_eq!(plan.lines.len(), plan.outcomes.len());
    assert!(
        plan.lines.windows(2).all(|w| w[0] < w[1]),
        "{:?}",
        plan.lines
    );
    assert!(
        plan.lines.iter().all(|l| (2..=most).contains(l)),
        "{:?} of {most}",
        plan.lines
    );
    for (outcome, line) in plan.outcomes.iter().zip(&plan.lines) {
        let Some(outcome) = outcome else { continue };
        assert_eq!(outcome.status, Status::Invalid, "nothing was done before");
        let error = outcome.error.expect("an invalid row says why");
        assert!(error.starts_with(&format!("line {line}: ")), "{error}");
        assert_names_lines_within(error, most);
    }
    assert!(
        reported.iter().all(|l| plan.lines.contains(l)),
        "{reported:?}"
    );
    assert_eq!(plan.to_send + plan.invalid, plan.outcomes.len());
    for (child, parent) in &plan.parents {
        assert!(*child < plan.outcomes.len() && *parent < plan.outcomes.len());
        if plan.outcomes.is_unsent(*child) {
            assert!(plan.waves[child] >= 1 && plan.waves[child] < plan.wave_count);
        }
    }
}

/// Pieces of near-TOML for mapping files.
#[rustfmt::skip]
const TOML_PIECES: &[&str] = &[
    "[fields]", "[metadata]", "[fields.name]", "[bogus]", "\n", "\n", "\r\n", "name", "id",
    "Name", "nmae", "displayName", "x", " = ", " = ", "\"Account Name\"", "\"A\"", "\"\"",
    "{ column = \"A\" }", "{ slug = \"A\", type = \"list\" }", "{ colum = \"A\" }",
    "{ value = 42 }", "type = \"date\"", "type = \"number\"", "column = \"A\"", "42", "4.2",
    "true", "1979-05-27", "[\"a\"]", "[", "]", "{", "}", ",", "\"", "'", "#", "=", ".",
    "\"{A\"", "{ format = \"{A}-{B}\" }", "{ format = \"}\" }", "separator = \"\"", "\u{0}",
    "\"\\u0000\"", "\u{1b}", "\u{202e}", " ",
];

/// `MappingFile::parse` on near-TOML, and the mapping it reads on a few headers: no panic,
/// and every mistake names a line of the mapping file.
fn check_mapping_file(text: &str) {
    let most = text.matches('\n').count() as u64 + 1;
    match MappingFile::parse(text, "m.toml") {
        Ok(file) => {
            for header in [&["A", "B"][..], &["name", "A"], &["Account Name", "x"]] {
                let spec = MappingSpec {
                    file: Some(file.clone()),
                    overrides: Vec::new(),
                };
                let _ = input::Mapping::new(&csv::StringRecord::from(header.to_vec()), &spec);
            }
        }
        Err(message) => {
            for line in message.lines() {
                let line = line.strip_prefix("m.toml: ").unwrap_or(line);
                assert!(line.starts_with("line "), "{message}");
                assert_names_lines_within(&line[..line.find(':').unwrap_or(line.len())], most);
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_reader_never_panics_on_arbitrary_bytes(
        bytes in vec(any::<u8>(), 0..2048),
        dialect in dialect(),
    ) {
        check_rows(&bytes, dialect);
    }

    #[test]
    fn the_reader_names_real_lines_on_near_csv(bytes in near_csv(), dialect in dialect()) {
        check_rows(&bytes, dialect);
    }

    #[test]
    fn the_planner_names_real_lines_on_near_csv(
        bytes in near_csv(),
        dialect in dialect(),
        toml in select(MAPPINGS),
    ) {
        check_plan(&bytes, dialect, toml);
    }

    #[test]
    fn the_planner_never_panics_on_arbitrary_bytes(
        bytes in vec(any::<u8>(), 0..1024),
        toml in select(MAPPINGS),
    ) {
        check_plan(&bytes, Dialect::default(), toml);
    }

    #[test]
    fn mapping_file_mistakes_name_a_line_of_the_file(
        pieces in vec(select(TOML_PIECES), 0..60),
    ) {
        check_mapping_file(&pieces.concat());
    }

    #[test]
    fn mapping_files_of_any_text_never_panic(text in any::<String>()) {
        check_mapping_file(&text);
    }
}
