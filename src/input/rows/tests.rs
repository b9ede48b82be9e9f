//! Reading rows: byte order marks, line ends, trimmed fields, and quotes left open.

use super::*;
use crate::input::Dialect;

#[test]
fn a_byte_order_mark_and_crlf_are_read_as_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.csv");
    std::fs::write(
        &path,
        "\u{feff}name,id\r\nacme,\r\n\r\n\"b,\r\ncorp\",x\r\nlast,y\r\n",
    )
    .unwrap();
    let source = Source::as_csv(&path, &Dialect::default()).unwrap();
    let headers = source.headers().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), ["name", "id"]);
    let rows: Vec<RawRow> = source.rows(2).unwrap().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0].line, &rows[0].record[0]), (2, "acme"));
    assert_eq!((rows[1].line, &rows[1].record[0]), (4, "b,\r\ncorp"));
    assert_eq!((rows[2].line, &rows[2].record[0]), (6, "last"));
    std::fs::write(&path, "name\n\na\n\"b\nc\"\n\n\nd\n").unwrap();
    let source = Source::as_csv(&path, &Dialect::default()).unwrap();
    let lines: Vec<u64> = source.rows(1).unwrap().map(|r| r.unwrap().line).collect();
    assert_eq!(lines, [3, 4, 8]);
}

#[test]
fn fields_and_the_header_are_trimmed_and_a_row_without_padding_is_left_as_read() {
    let (_dir, source) = csv_source(b" name ,\tid\nacme , x\t\nplain,y\n\" q \",\n");
    let headers = source.headers().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), ["name", "id"]);
    let fields: Vec<Vec<String>> = source
        .rows(2)
        .unwrap()
        .map(|r| r.unwrap().record.iter().map(str::to_string).collect())
        .collect();
    assert_eq!(fields, [["acme", "x"], ["plain", "y"], ["q", ""]]);
}

#[test]
fn ragged_and_non_utf8_rows_are_reported_with_their_fields_kept() {
    let (_dir, source) = csv_source(b"name,id\nshort\nlong,a,b,c\nM\xfcller,x\n");
    let rows: Vec<RawRow> = source.rows(2).unwrap().map(Result::unwrap).collect();
    assert!(
        rows[0]
            .problem
            .as_ref()
            .unwrap()
            .contains("has 1 fields but the header has 2")
    );
    assert_eq!(rows[1].fields_in(2), ["long", "a,b,c"]);
    assert!(
        rows[2]
            .problem
            .as_ref()
            .unwrap()
            .contains("field 1 is not UTF-8")
    );
    assert_eq!(&rows[2].record[0], "M\u{fffd}ller");
}

/// `content` written to a CSV file of a temporary folder (kept alive by the first half)
/// and settled as input.
fn csv_source(content: &[u8]) -> (tempfile::TempDir, Source) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, content).unwrap();
    let source = Source::as_csv(&path, &Dialect::default()).unwrap();
    (dir, source)
}

/// The start line of every row of `content`, or the error that stopped the reading.
fn lines_of(content: &[u8]) -> Result<Vec<u64>, String> {
    let (_dir, source) = csv_source(content);
    let width = source.headers().len();
    source
        .rows(width)
        .unwrap()
        .map(|row| row.map(|r| r.line).map_err(|e| e.to_string()))
        .collect()
}

#[test]
fn lines_are_counted_alike_for_lf_crlf_cr_and_a_mix() {
    assert_eq!(lines_of(b"name,id\na,1\nb,2\n"), Ok(vec![2, 3]));
    assert_eq!(lines_of(b"name,id\r\na,1\r\nb,2\r\n"), Ok(vec![2, 3]));
    // Old Mac exports end lines with a lone CR.
    assert_eq!(lines_of(b"name,id\ra,1\rb,2\r\rc,3"), Ok(vec![2, 3, 5]));
    assert_eq!(
        lines_of(b"name,id\ra,1\nb,2\r\nc,3\n\rd,\"x\ry\"\re,5\n"),
        Ok(vec![2, 3, 4, 6, 8])
    );
}

#[test]
fn an_unclosed_quote_that_swallows_rows_stops_the_reading_at_its_line() {
    let mut file = String::from("name,description,id\n");
    for i in 2..=1001 {
        match i {
            12 => file.push_str(&format!("\"Acme Holdings,big,id-{i}\n")),
            602 => file.push_str(&format!("Monitors,12\" monitor,id-{i}\n")),
            _ => file.push_str(&format!("Customer {i},plain,id-{i}\n")),
        }
    }
    let error = lines_of(file.as_bytes()).expect_err("the file is refused");
    assert!(error.contains("line 12: the quoted field 1"), "{error}");
    assert!(error.contains("runs on over 590 more lines"), "{error}");
    assert!(error.contains("closing quote"), "{error}");
}

#[test]
fn a_quote_still_open_at_the_end_of_the_file_is_refused_whatever_it_swallowed() {
    // Two rows swallowed in a two-column file: too few to look like rows, still refused.
    let error = lines_of(b"name,description\nAcme,\"unclosed quote\nBeta,ok\nGamma,ok\n")
        .expect_err("the file is refused");
    assert!(
        error.contains("line 2: the quoted field 2 opened on this line is still open"),
        "{error}"
    );
    assert!(error.contains("runs on over 2 more lines"), "{error}");
    // On the last line, with or without a line end; CR line ends; a field after a quote.
    for file in [
        &b"name,description\nAcme,ok\nBeta,\"open"[..],
        b"name,description\rAcme,ok\rBeta,\"open\r",
        b"name,description\nAcme,\"say \"\"hi\"\"\nBeta,ok\n",
    ] {
        let error = lines_of(file).expect_err("the file is refused");
        assert!(
            error.contains("still open at the end of the file"),
            "{error}"
        );
    }
}

#[test]
fn a_header_whose_quote_swallows_the_file_is_refused_at_its_line() {
    let error = lines_of(b"\xEF\xBB\xBF\n\nname,\"description\nAcme,ok\nBeta,ok\n")
        .expect_err("the file is refused");
    assert!(
        error.contains("line 3: the quoted field 2 opened on this line is still open"),
        "{error}"
    );
    // A header alone, closed or with a line break in a quoted name, is no open quote.
    assert_eq!(lines_of(b"\xEF\xBB\xBF\"name\",id\n"), Ok(vec![]));
    assert_eq!(lines_of(b"\"Account\nName\",id\nAcme,1\n"), Ok(vec![3]));
}

#[test]
fn a_quote_left_open_is_named_at_the_line_it_opens_on() {
    // The row starts on line 2; its second field runs over two lines, its third opens on
    // line 3 and is never closed.
    let error = lines_of(b"name,desc,note\nAcme,\"two\nlines\",\"open\nBeta,x,y\n")
        .expect_err("the file is refused");
    assert!(
        error.contains("line 3: the quoted field 3 opened on this line"),
        "{error}"
    );
    assert!(error.contains("missing on line 3"), "{error}");
    let crlf = lines_of(b"name,desc\r\nAcme,\"two\r\nlines\r\nmore\",\"open\r\nBeta,x\r\n")
        .expect_err("the file is refused");
    assert!(crlf.contains("line 4: the quoted field 3"), "{crlf}");
}

#[test]
fn closed_quotes_at_the_end_of_the_file_are_no_open_quote() {
    for (file, lines) in [
        (&b"name,description\nAcme,\"two\nlines\"\n"[..], vec![2]),
        (b"name,description\nAcme,\"two\nlines\"", vec![2]),
        (b"name,description\nAcme,\"say \"\"hi\"\"\"\n\n\n", vec![2]),
        (b"name,description\nAcme,12\" monitor\n", vec![2]),
        (b"name,description\nAcme,\"a\"b\nBeta,\"\"\r\n", vec![2, 3]),
        (b"name,description\n", vec![]),
    ] {
        assert_eq!(
            lines_of(file),
            Ok(lines),
            "{}",
            String::from_utf8_lossy(file)
        );
    }
}

#[test]
fn a_quoted_cell_with_line_breaks_is_no_unclosed_quote() {
    // An address over two lines, commas and all; and a long note in a wide file.
    let ok = b"name,address,id\nacme,\"Street 1, Floor 2\nBerlin, Germany\",x\nb,y,z\n";
    assert_eq!(lines_of(ok), Ok(vec![2, 4]));
    let two = b"name,address\nacme,\"Suite 5\nFloor 2\nBerlin Germany\"\nb,y\n";
    assert_eq!(lines_of(two), Ok(vec![2, 5]));
}

/// The problem of each row of `content` (read whole), by line.
fn problems_of(content: &[u8]) -> Vec<(u64, Option<String>)> {
    let (_dir, source) = csv_source(content);
    let width = source.headers().len();
    source
        .rows(width)
        .unwrap()
        .map(|row| row.map(|r| (r.line, r.problem)).unwrap())
        .collect()
}

#[test]
fn one_row_swallowed_by_a_quote_makes_the_row_invalid_naming_both_lines() {
    let rows = problems_of(
        b"name,city,notes\nalpha-a,Berlin,\"Note about a\nbeta-b,Paris,Note with quote\" \
          end\ngamma-c,Rome,x\ndelta-d,Oslo,y\n",
    );
    assert_eq!(rows.len(), 3);
    let problem = rows[0].1.as_deref().unwrap();
    assert!(
        problem.starts_with("line 3, inside the quoted field 3 opened on line 2, is shaped"),
        "{problem}"
    );
    assert!(
        problem.contains("\"beta-b,Paris,Note with quote end\""),
        "{problem}"
    );
    assert_eq!((rows[1].0, rows[2].0), (4, 5));
    assert!(rows[1].1.is_none() && rows[2].1.is_none());
    // In a field opened on the row's second line (CRLF), the lines are counted from it.
    let rows = problems_of(b"name,a,b\r\nacme,\"x\r\ny\",\"open\r\nbeta,1,2\" z\r\nc,1,2\r\n");
    let problem = rows[0].1.as_deref().unwrap();
    assert!(
        problem.starts_with("line 4, inside the quoted field 3 opened on line 3"),
        "{problem}"
    );
    // A two-column file: a line with one comma in a quoted field is shaped like a row.
    let rows = problems_of(b"name,address\nacme,\"Suite 5, Floor 2\nBerlin, Germany\"\nb,y\n");
    let problem = rows[0].1.as_deref().unwrap();
    assert!(
        problem.starts_with("line 3, inside the quoted field 2"),
        "{problem}"
    );
    assert!(rows[1].1.is_none());
}
