//! CSV files that are not UTF-8, imported over real HTTP: detected and decoded whole
//! (windows-1252, ISO-8859-1, Shift_JIS, GBK, UTF-16LE with a byte-order mark, CR line ends),
//! or refused before anything is sent, naming the line, the byte offset and `--encoding`;
//! and `--encoding` winning over detection.

use encoding_rs::{Encoding, GBK, SHIFT_JIS, WINDOWS_1252};
use orgimport::record::Status;
use orgimport::sandbox::SandboxConfig;

use crate::fixture::Fixture;
use crate::util::{TestSandbox, start_sandbox};

/// The names and descriptions of the organizations `sandbox` holds, sorted.
fn created(sandbox: &TestSandbox) -> Vec<(String, String)> {
    let mut orgs: Vec<(String, String)> = sandbox
        .sandbox
        .organizations()
        .into_iter()
        .filter(|o| !o.template)
        .map(|o| (o.name, o.description))
        .collect();
    orgs.sort();
    orgs
}

/// `rows` of (name, description) as a CSV text with a header, lines ended by `end`.
fn csv(rows: &[(&str, &str)], end: &str) -> String {
    let mut text = format!("name,description{end}");
    for (name, description) in rows {
        text.push_str(&format!("{name},{description}{end}"));
    }
    text
}

/// Imports `bytes` (with `extra` flags) and checks every row was created with its text.
async fn imports_as(bytes: &[u8], rows: &[(&str, &str)], extra: &[&str]) {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    std::fs::write(fixture.input(), bytes).unwrap();
    let summary = fixture.import(&sandbox, extra).await.unwrap();
    assert_eq!(
        summary.count(Status::Created),
        rows.len() as u64,
        "{summary}"
    );
    let mut expected: Vec<(String, String)> = rows
        .iter()
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect();
    expected.sort();
    assert_eq!(created(&sandbox), expected);
}

/// `text` encoded in `encoding`, which must hold every character of it.
fn encoded(text: &str, encoding: &'static Encoding) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding.encode(text);
    assert!(!unmappable, "{text:?} in {}", encoding.name());
    bytes.into_owned()
}

const LATIN: [(&str, &str); 5] = [
    ("Café Müller", "Préis 5 €"),
    ("Plain ASCII", "nothing special"),
    ("Ñandú Niño", "señor"),
    ("Über Straße", "Grüße"),
    ("Also plain", "x"),
];

#[tokio::test]
async fn a_windows_1252_file_is_detected_and_every_row_created_with_its_letters() {
    imports_as(&encoded(&csv(&LATIN, "\r\n"), WINDOWS_1252), &LATIN, &[]).await;
}

#[tokio::test]
async fn an_iso_8859_1_file_is_detected() {
    let rows = [
        ("Øresund Åland", "Garçon"),
        ("Smørrebrød", "Ærø"),
        ("Façade", "déjà vu"),
    ];
    // ISO-8859-1 and windows-1252 share these bytes; written as Latin-1 writes them.
    let text = csv(&rows, "\n");
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    imports_as(&bytes, &rows, &[]).await;
}

#[tokio::test]
async fn shift_jis_and_gbk_files_are_detected() {
    let japanese = [
        ("株式会社サンプル", "東京都千代田区"),
        ("山田商事株式会社", "大阪府大阪市"),
        ("ソフトウェア開発", "横浜市の会社です"),
    ];
    imports_as(&encoded(&csv(&japanese, "\r\n"), SHIFT_JIS), &japanese, &[]).await;
    let chinese = [
        ("北京科技有限公司", "中国北京市海淀区"),
        ("上海贸易有限公司", "上海市浦东新区的公司"),
        ("深圳电子股份有限公司", "广东省深圳市"),
    ];
    imports_as(&encoded(&csv(&chinese, "\r\n"), GBK), &chinese, &[]).await;
}

#[tokio::test]
async fn a_utf16le_file_with_a_byte_order_mark_is_read() {
    let rows = [("Ōsaka 株式会社", "Zürich"), ("Plain", "x")];
    let bytes: Vec<u8> = format!("\u{feff}{}", csv(&rows, "\r\n"))
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    imports_as(&bytes, &rows, &[]).await;
}

#[tokio::test]
async fn cr_line_ends_with_windows_1252_are_read_and_a_refusal_names_the_cr_line() {
    imports_as(&encoded(&csv(&LATIN, "\r"), WINDOWS_1252), &LATIN, &[]).await;

    // 0x81 is no character in windows-1252: line 3 (CR-ended) cannot be read for sure.
    let mut bytes = encoded("name,description\rCafé,x\r", WINDOWS_1252);
    let offset = bytes.len() + 2;
    bytes.extend_from_slice(b"ab\x81c,y\rlast,z\r");
    refused(&bytes, 3, offset as u64).await;
}

/// Imports `bytes` and checks it is refused naming `line` and `offset`, with nothing sent.
async fn refused(bytes: &[u8], line: u64, offset: u64) {
    let sandbox = start_sandbox(SandboxConfig::default()).await;
    let fixture = Fixture::new("");
    std::fs::write(fixture.input(), bytes).unwrap();
    let error = fixture.import(&sandbox, &[]).await.unwrap_err();
    assert!(matches!(error, orgimport::Error::Input { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "{}: line {line} (byte offset {offset}): not UTF-8 text",
            fixture.input().display()
        )),
        "{message}"
    );
    assert!(message.contains("--encoding"), "{message}");
    assert!(message.contains("nothing was read or sent"), "{message}");
    let stats = sandbox.sandbox.stats();
    assert_eq!(
        (stats.token_requests, stats.api_requests),
        (0, 0),
        "nothing sent"
    );
    assert!(created(&sandbox).is_empty());
    assert!(!fixture.results().exists(), "no results file");
}

#[tokio::test]
async fn a_utf8_file_with_one_bad_byte_is_refused_not_half_imported() {
    // Rows of accented UTF-8 text, and one byte (0xE9, a Latin-1 `é`) on line 4.
    let mut bytes = csv(&LATIN[..2], "\n").into_bytes();
    let offset = bytes.len() + "Caf".len();
    bytes.extend_from_slice(b"Caf\xe9 Noir,x\n");
    bytes.extend_from_slice(
        csv(&LATIN[2..], "\n")
            .split_once('\n')
            .unwrap()
            .1
            .as_bytes(),
    );
    refused(&bytes, 4, offset as u64).await;
}

#[tokio::test]
async fn encoding_wins_over_detection() {
    // The damaged file above, read as the user says: imported, every row, as windows-1252.
    let mut bytes = b"name,description\nCaf\xc3\xa9,x\n".to_vec();
    bytes.extend_from_slice(b"Caf\xe9 Noir,y\n");
    imports_as(
        &bytes,
        &[("CafÃ©", "x"), ("Café Noir", "y")],
        &["--encoding", "windows-1252"],
    )
    .await;
}

#[test]
fn the_encoding_used_is_said_on_stderr_and_a_refusal_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("latin.csv");
    std::fs::write(&input, encoded(&csv(&LATIN, "\n"), WINDOWS_1252)).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .arg("validate")
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("latin.csv: not UTF-8: read as windows-1252 (detected"),
        "{stderr}"
    );

    std::fs::write(&input, b"name\nab\x81\x8dcd\xe9\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .arg("validate")
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 2 (byte offset 7)") && stderr.contains("--encoding"),
        "{stderr}"
    );
}

/// Pieces of files in mixed encodings: ASCII words and separators, UTF-8 letters, legacy
/// letters (windows-1252, Shift_JIS), bytes undefined in windows-1252, byte-order marks.
#[rustfmt::skip]
const PIECES: &[&[u8]] = &[
    b"name", b"acme", b"beta", b",", b",", b";", b"\"", b"\n", b"\n", b"\r", b"\r\n", b" ",
    "é".as_bytes(), "ü".as_bytes(), "東京".as_bytes(), "€".as_bytes(),
    b"\xe9", b"\xfc", b"\xf1", b"\x80", b"\x93\x8c\x8b\x9e", b"\x81", b"\x8d", b"\xff",
    b"\xc3", b"\xEF\xBB\xBF", b"\xFF\xFE", b"\x00",
];

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config {
        cases: 100,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })]

    /// Whatever the bytes: settling the encoding does not panic; a refusal names a line of
    /// the file and `--encoding`; and a file accepted is read whole, no row of it "not UTF-8"
    /// (never half imported).
    #[test]
    fn a_file_is_read_whole_in_one_encoding_or_refused_naming_a_line(
        pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..120)
    ) {
        let bytes = [b"name,description\n".as_slice(), &pieces.concat()].concat();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, &bytes).unwrap();
        let lines = 1 + bytes.iter().filter(|b| matches!(b, b'\n' | b'\r')).count() as u64;
        match orgimport::input::settle(&path, &orgimport::input::Dialect::default()) {
            Err(e) => {
                let message = e.to_string();
                assert!(matches!(e, orgimport::Error::Input { .. }), "{message}");
                assert!(message.contains("--encoding"), "{message}");
                let line: u64 = message
                    .split("line ")
                    .nth(1)
                    .and_then(|r| r.split(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("no line named: {message}"));
                assert!((1..=lines).contains(&line), "line {line} of {lines}: {message}");
            }
            Ok(settled) => {
                let dialect = settled.dialect;
                let mut reader = orgimport::input::reader(&path, &dialect).unwrap();
                let Ok(headers) = orgimport::input::read_headers_in(&path, &dialect, &mut reader)
                else {
                    return Ok(());
                };
                for row in orgimport::input::rows(&path, &dialect, reader, headers.len()) {
                    let Ok(row) = row else { break };
                    assert!(
                        row.problem.as_deref().is_none_or(|p| !p.contains("not UTF-8")),
                        "{:?} read as {:?}: {:?}",
                        String::from_utf8_lossy(&bytes),
                        dialect.encoding.map(|e| e.name()),
                        row.problem
                    );
                }
            }
        }
    }
}
