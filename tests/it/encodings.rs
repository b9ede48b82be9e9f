//! CSV files that are not UTF-8, imported over real HTTP: detected and decoded whole
//! (windows-1252, ISO-8859-1, Shift_JIS, GBK, UTF-16LE with a byte-order mark, CR line ends),
//! or refused before anything is sent, naming the line, the byte offset and `--encoding`;
//! and `--encoding` winning over detection. Files in ISO-8859-15, Mac Roman, windows-1252 and
//! UTF-16 without a byte-order mark are written by iconv and Python, not by the encoder the
//! tool decodes with: detected right, or refused showing how each candidate reads them.

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

/// Imports `bytes` and checks it is refused naming `line` and `offset`, with nothing sent; the
/// refusal's message.
async fn refused(bytes: &[u8], line: u64, offset: u64) -> String {
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
    message
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
        match orgimport::input::Source::settle(&path, &orgimport::input::Dialect::default()) {
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
            Ok(source) => {
                let Ok(rows) = source.rows(source.headers().len()) else {
                    return Ok(());
                };
                for row in rows {
                    let Ok(row) = row else { break };
                    assert!(
                        row.problem.as_deref().is_none_or(|p| !p.contains("not UTF-8")),
                        "{:?} read as {:?}: {:?}",
                        String::from_utf8_lossy(&bytes),
                        source.note(),
                        row.problem
                    );
                }
            }
        }
    }
}

/// `text` as `program` encodes it: `iconv` with `args` (`-f utf-8 -t ENCODING`), or `python3`
/// with the codec `args[0]`. Both are on the CI machine; a missing one fails the test.
fn encoded_by(program: &str, args: &[&str], text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut command = std::process::Command::new(program);
    match program {
        "python3" => command.args([
            "-c",
            "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode('utf-8')\
             .encode(sys.argv[1]))",
            args[0],
        ]),
        _ => command.args(args),
    };
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is needed to write this test's file: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{program} {args:?} failed");
    output.stdout
}

#[tokio::test]
async fn an_iso_8859_15_file_written_by_iconv_is_read_as_iso_8859_15() {
    let rows = [
        ("Škoda Žilina", "Preis 5 €"),
        ("Œuvre Ÿves", "žena"),
        ("Plain", "x"),
    ];
    let bytes = encoded_by(
        "iconv",
        &["-f", "utf-8", "-t", "ISO-8859-15"],
        &csv(&rows, "\n"),
    );
    imports_as(&bytes, &rows, &[]).await;
}

#[tokio::test]
async fn a_mac_roman_file_written_by_python_is_read_as_mac_roman_or_refused() {
    let rows = [
        ("Müller", "Köln"),
        ("Café Crème", "Zürich"),
        ("Ñandú", "São Paulo"),
    ];
    let bytes = encoded_by("python3", &["mac_roman"], &csv(&rows, "\r"));
    imports_as(&bytes, &rows, &[]).await;

    // `Müller` alone: windows-1250 reads its ü as ź, a letter too. Refused, each reading shown.
    let bytes = encoded_by("python3", &["mac_roman"], "name,description\nMüller,x\n");
    let message = refused(&bytes, 2, 18).await;
    assert!(message.contains("macintosh     \"Müller,x\""), "{message}");
    assert!(message.contains("windows-1250  \"Mźller,x\""), "{message}");
    assert!(
        !message.contains("MŸller"),
        "not read as windows-1252: {message}"
    );
}

#[tokio::test]
async fn a_short_windows_1252_file_is_refused_with_each_reading_and_imports_as_named() {
    let rows = [("Acme", "naïve")];
    let bytes = encoded_by("python3", &["cp1252"], &csv(&rows, "\r\n"));
    let message = refused(&bytes, 2, 25).await;
    assert!(
        message.contains("windows-1252  \"Acme,naïve\""),
        "{message}"
    );
    assert!(
        message.contains("ISO-8859-4    \"Acme,naīve\""),
        "{message}"
    );
    assert!(message.contains("--encoding"), "{message}");
    // Every encoding the refusal names reads the whole file, with no replacement: imported.
    for name in ["windows-1252", "ISO-8859-4", "windows-1250"] {
        assert!(message.contains(name), "{message}");
        let sandbox = start_sandbox(SandboxConfig::default()).await;
        let fixture = Fixture::new("");
        std::fs::write(fixture.input(), &bytes).unwrap();
        let summary = fixture
            .import(&sandbox, &["--encoding", name])
            .await
            .unwrap();
        assert_eq!(summary.count(Status::Created), 1, "{name}: {summary}");
        let (_, description) = &created(&sandbox)[0];
        assert!(
            !description.contains('\u{fffd}') && !description.chars().any(char::is_control),
            "{name}: {description:?}"
        );
    }
    imports_as(&bytes, &rows, &["--encoding", "windows-1252"]).await;
}

#[tokio::test]
async fn a_6000_row_utf8_file_with_one_bad_byte_is_refused_naming_the_byte_not_an_encoding() {
    let rows: Vec<(String, String)> = (0..6000)
        .map(|i| (format!("Müller {i}"), format!("Zürich {i}")))
        .collect();
    let borrowed: Vec<(&str, &str)> = rows.iter().map(|(n, d)| (n.as_str(), d.as_str())).collect();
    let mut bytes = csv(&borrowed, "\n").into_bytes();
    // Row 3000's `ü` (C3 BC) cut to one byte, as a bad copy or a tool writing Latin-1 would.
    let row = "Müller 2999,".as_bytes();
    let at = bytes.windows(row.len()).position(|w| w == row).unwrap() + 1;
    bytes.splice(at..at + 2, [0xFC]);
    let message = refused(&bytes, 3001, at as u64).await;
    assert!(
        message.contains("\"M\\xFCller 2999,Zürich 2999\""),
        "{message}"
    );
    assert!(message.contains("Fix the bytes"), "{message}");
    for single_byte in ["windows-125", "ISO-8859", "macintosh", "KOI8"] {
        assert!(
            !message.contains(single_byte),
            "suggests {single_byte}: {message}"
        );
    }
}

#[tokio::test]
async fn utf16_files_without_a_byte_order_mark_are_read() {
    let rows = [("Ōsaka 株式会社", "Zürich"), ("Plain", "x")];
    for codec in ["utf-16-le", "utf-16-be"] {
        let bytes = encoded_by("python3", &[codec], &csv(&rows, "\r\n"));
        assert!(!bytes.starts_with(&[0xFF, 0xFE]) && !bytes.starts_with(&[0xFE, 0xFF]));
        imports_as(&bytes, &rows, &[]).await;
    }
    // Text in CJK characters, some with a zero byte of their own (一 is U+4E00).
    let owned: Vec<(String, String)> = (1..=40)
        .map(|i| {
            (
                format!("株式会社サンプル一号館{i}"),
                format!("東京都千代田区丸の内一丁目{i}番"),
            )
        })
        .collect();
    let rows: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, a)| (n.as_str(), a.as_str()))
        .collect();
    for codec in ["utf-16-le", "utf-16-be"] {
        let bytes = encoded_by("python3", &[codec], &csv(&rows, "\r\n"));
        imports_as(&bytes, &rows, &[]).await;
    }
}

#[test]
fn a_file_two_encodings_read_differently_exits_2_showing_both_readings() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("prices.csv");
    let bytes = encoded_by(
        "iconv",
        &["-f", "utf-8", "-t", "ISO-8859-15"],
        "name\nAcme 5 €\n",
    );
    std::fs::write(&input, bytes).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_orgimport"))
        .arg("validate")
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 2 (byte offset 12)"), "{stderr}");
    assert!(stderr.contains("windows-1252  \"Acme 5 ¤\""), "{stderr}");
    assert!(stderr.contains("ISO-8859-15   \"Acme 5 €\""), "{stderr}");
    assert!(stderr.contains("--encoding"), "{stderr}");
}
