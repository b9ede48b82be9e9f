//! Telling an encoding: marked and unmarked UTF-8 and UTF-16, UTF-32 refused, legacy
//! encodings detected, and ambiguous or damaged files refused at their line.

use super::*;

/// What `settle` makes of `content`: the encoding's name, or the error.
fn settled(content: &[u8]) -> Result<&'static str, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, content).unwrap();
    settle(&path, &mut File::open(&path).unwrap(), &Dialect::default())
        .map(|s| s.dialect.encoding.map_or("UTF-8", Encoding::name))
        .map_err(|e| e.to_string())
}

#[test]
fn utf32_is_refused_by_its_mark_not_read_as_utf16() {
    // The first bytes of `printf 'name\n' | iconv -t UTF-32` and of Python's
    // 'name\n'.encode('utf-32-be') with the mark written first.
    let le = b"\xff\xfe\0\0n\0\0\0a\0\0\0m\0\0\0e\0\0\0\n\0\0\0";
    let be = b"\0\0\xfe\xff\0\0\0n\0\0\0a\0\0\0m\0\0\0e\0\0\0\n";
    for (bytes, name) in [(&le[..], "UTF-32LE"), (&be[..], "UTF-32BE")] {
        let refused = settled(bytes).unwrap_err();
        assert!(
            refused.contains(&format!("byte-order mark of {name}")),
            "{refused}"
        );
        assert!(
            refused.contains(&format!("iconv -f {name} -t UTF-8")),
            "{refused}"
        );
    }
}

#[test]
fn utf32_without_a_mark_is_refused_as_utf32_not_read_as_a_legacy_encoding() {
    // `iconv -t UTF-32LE` and `-t UTF-32BE` write no mark.
    let text = "name,email\nM\u{fc}ller,a@b.de\n";
    let le: Vec<u8> = text
        .chars()
        .flat_map(|c| (c as u32).to_le_bytes())
        .collect();
    let be: Vec<u8> = text
        .chars()
        .flat_map(|c| (c as u32).to_be_bytes())
        .collect();
    for (bytes, name) in [(le, "UTF-32LE"), (be, "UTF-32BE")] {
        let refused = settled(&bytes).unwrap_err();
        assert!(
            refused.contains(&format!("is {name} (no byte-order mark")),
            "{refused}"
        );
        assert!(
            refused.contains(&format!("iconv -f {name} -t UTF-8")),
            "{refused}"
        );
    }
}

#[test]
fn utf8_and_marked_files_are_read_as_they_are() {
    assert_eq!(settled(b"name\nM\xc3\xbcller\n"), Ok("UTF-8"));
    assert_eq!(settled(b"\xef\xbb\xbfname\nM\xc3\xbcller\n"), Ok("UTF-8"));
    assert_eq!(
        settled(b"\xff\xfen\0a\0"),
        Ok("UTF-8"),
        "the BOM decides later"
    );
    assert_eq!(settled(b""), Ok("UTF-8"));
}

#[test]
fn legacy_files_are_detected() {
    let latin = "name,city\nMüller,Zürich\nNúñez,España\nCafé Crème,€100\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(latin);
    assert_eq!(settled(&bytes), Ok("windows-1252"));
    let japanese = "name,city\n株式会社サンプル,東京都千代田区\n山田商事株式会社,大阪府大阪市\n\
                    ソフトウェア開発株式会社,横浜市\n";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(japanese);
    assert_eq!(settled(&bytes), Ok("Shift_JIS"));
}

#[test]
fn readings_that_agree_are_detected_and_readings_that_disagree_refuse_the_file() {
    let bytes = |text: &str, encoding: &'static Encoding| encoding.encode(text).0.into_owned();
    // é and ü are read alike in windows-1252, ISO-8859-15 and the Central European ones.
    let agreed = bytes("name\nCafé Müller\nZürich\n", encoding_rs::WINDOWS_1252);
    assert_eq!(settled(&agreed), Ok("windows-1252"));
    // Two words the detector reads as windows-1250: too few, and `Iđdýr` mixes alphabets.
    for text in [
        "name,city\nŞişli,Eskişehir\n",
        "name,city\nŞişli,Eskişehir\nIğdır,Muğla\n",
    ] {
        let e = settled(&bytes(text, encoding_rs::WINDOWS_1254)).unwrap_err();
        assert!(e.contains("windows-1254  \"Şişli,Eskişehir\""), "{e}");
    }
    let e = settled(&bytes("name\n5 €\n", encoding_rs::ISO_8859_15)).unwrap_err();
    assert!(e.contains("line 2 (byte offset 7)"), "{e}");
    assert!(
        e.contains("ISO-8859-15   \"5 €\"") && e.contains("windows-1252  \"5 ¤\""),
        "{e}"
    );
}

#[test]
fn damaged_utf8_is_refused_at_its_line_and_byte() {
    let mut file = b"name,city\nM\xc3\xbcller,Z\xc3\xbcrich\nN\xc3\xba\xc3\xb1ez,x\n".to_vec();
    file.extend_from_slice(b"bad\xff,y\nlast,z\n");
    let e = settled(&file).unwrap_err();
    assert!(e.contains("line 4 (byte offset 39)"), "{e}");
    assert!(e.contains("is otherwise UTF-8"), "{e}");
    assert!(e.contains("--encoding"), "{e}");
}

#[test]
fn a_guess_that_reads_control_characters_is_refused() {
    // 0x81 and 0x8D are undefined in windows-1252; the file reads as nothing for sure.
    let e = settled(b"name\nab\x81\x8dcd\xe9\n").unwrap_err();
    assert!(e.contains("line 2 (byte offset 7)"), "{e}");
    assert!(e.contains("--encoding"), "{e}");
}

#[test]
fn lines_end_at_lf_cr_and_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, b"a\rb\r\nc\nd").unwrap();
    let mut lines = LineReader::open(&path).unwrap();
    let mut seen = Vec::new();
    while let Some((offset, line)) = lines.next_line().unwrap() {
        seen.push((offset, line.to_vec()));
    }
    assert_eq!(
        seen,
        [
            (0, b"a".to_vec()),
            (2, b"b".to_vec()),
            (5, b"c".to_vec()),
            (7, b"d".to_vec())
        ]
    );
    assert_eq!(line_of(&path, 6).unwrap(), 3);
}
