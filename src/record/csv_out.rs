//! The one CSV writer for the files people open (the results file, the plan, the verify and
//! undo reports): UTF-8 with a byte-order mark, every cell neutralized, input rows laid out
//! in the header's width.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use csv::ByteRecord;

use super::neutralize;
use crate::Error;
use crate::input;
use crate::private_file::{self, Open};
use crate::stdout;

/// A CSV file being written for people to open in a spreadsheet: UTF-8 with a byte-order
/// mark (so that Excel reads it as UTF-8), every cell passed through [`neutralize`].
pub struct CsvOut {
    /// Where the file ends up.
    path: PathBuf,
    /// Declared before `tmp`, so that it is closed before a file left unfinished is removed.
    writer: csv::Writer<BufWriter<Sink>>,
    /// The file written, when it is renamed over `path` at the end.
    tmp: Option<Beside>,
}

/// A file written beside the one it replaces: removed when dropped unless it was renamed over
/// it, so that a write that failed (a full disk) leaves nothing behind and frees its space.
struct Beside {
    path: PathBuf,
    renamed: bool,
}

impl Drop for Beside {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Where the CSV goes: a file, or standard output for a report at `-`.
enum Sink {
    File(File),
    Stdout(stdout::Stdout),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(file) => file.write(buf),
            Sink::Stdout(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.flush(),
            Sink::Stdout(out) => out.flush(),
        }
    }
}

impl CsvOut {
    /// Starts a report at `path`, its fields separated by `delimiter`: as
    /// [`CsvOut::replace`], never written in place, so that a hard link or another user's file
    /// at `path` is never written through; or, when `path` is `-`, on standard output, with no
    /// byte-order mark (it is read by a program, not opened in a spreadsheet).
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be created.
    pub fn create(path: &Path, delimiter: u8) -> Result<CsvOut, Error> {
        if stdout::is_stdout(path) {
            let buffered = BufWriter::with_capacity(256 * 1024, Sink::Stdout(Default::default()));
            return Ok(CsvOut {
                path: PathBuf::from(stdout::shown(path)),
                writer: input::csv_writer(buffered, delimiter),
                tmp: None,
            });
        }
        CsvOut::replace(path, delimiter)
    }

    /// Starts a file that replaces `path` when [`CsvOut::finish`]ed: written beside it first
    /// and renamed over it, so that a crash leaves either the old file or the new one.
    ///
    /// # Errors
    /// [`Error::Io`] when the file beside it cannot be created.
    pub fn replace(path: &Path, delimiter: u8) -> Result<CsvOut, Error> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        CsvOut::open(path, Some(PathBuf::from(tmp)), delimiter)
    }

    /// Every error names `path`, the file the user asked for; the file beside it only when
    /// that file is the cause.
    fn open(path: &Path, tmp: Option<PathBuf>, delimiter: u8) -> Result<CsvOut, Error> {
        let file = match &tmp {
            None => private_file::open(path, Open::Truncate),
            Some(tmp) => create_beside(path, tmp),
        };
        let file = file.map_err(|e| Error::io(path, e))?;
        CsvOut::over(path, file, tmp, delimiter)
    }

    /// The file `file` opened at `tmp` (or at `path` itself), written as a [`CsvOut`] to end
    /// up at `path`.
    fn over(path: &Path, file: File, tmp: Option<PathBuf>, delimiter: u8) -> Result<CsvOut, Error> {
        let io = |e| Error::io(path, e);
        let tmp = tmp.map(|path| Beside {
            path,
            renamed: false,
        });
        let mut buffered = BufWriter::with_capacity(256 * 1024, Sink::File(file));
        // (Dropping `tmp` removes a file left unfinished.)
        buffered.write_all("\u{feff}".as_bytes()).map_err(io)?;
        Ok(CsvOut {
            path: path.to_path_buf(),
            writer: input::csv_writer(buffered, delimiter),
            tmp,
        })
    }

    fn error(&self, e: csv::Error) -> Error {
        Error::io(&self.path, e.into())
    }

    /// Writes one cell of the current row, neutralized.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn cell(&mut self, cell: &str) -> Result<(), Error> {
        self.writer
            .write_field(neutralize(cell).as_bytes())
            .map_err(|e| self.error(e))
    }

    /// Ends the current row.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn end_row(&mut self) -> Result<(), Error> {
        self.writer
            .write_record(None::<&[u8]>)
            .map_err(|e| self.error(e))
    }

    /// Writes a whole row of `cells`.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn row<I>(&mut self, cells: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        for cell in cells {
            self.cell(cell.as_ref())?;
        }
        self.end_row()
    }

    /// Writes the cells of an input row laid out in exactly `width` columns (the header's):
    /// the surplus fields of a long row joined into the last one, a short row padded with
    /// empty cells (as [`input::lay_out`]). Text that is not UTF-8 is written as
    /// U+FFFD, as everywhere. The row is not ended: its appended cells follow.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn input_cells(&mut self, record: &ByteRecord, width: usize) -> Result<(), Error> {
        let fields = record.iter().map(String::from_utf8_lossy);
        each_input_cell(fields, record.len(), width, |cell| self.cell(cell))
    }

    /// Flushes the file to the disk and, for [`CsvOut::replace`], renames it over the old one.
    ///
    /// # Errors
    /// [`Error::Io`] when the disk refuses it.
    pub fn finish(self) -> Result<(), Error> {
        let CsvOut { path, writer, tmp } = self;
        let io = |e| Error::io(&path, e);
        let sink = writer
            .into_inner()
            .map_err(|e| io(e.into_error()))?
            .into_inner()
            .map_err(|e| io(e.into_error()))?;
        let file = match sink {
            Sink::File(file) => file,
            Sink::Stdout(mut out) => return out.flush().map_err(io),
        };
        if let Some(mut tmp) = tmp {
            file.sync_all().map_err(io)?;
            drop(file);
            // A device or a pipe put at `path` meanwhile is not replaced.
            private_file::refuse_replacing(&path).map_err(io)?;
            std::fs::rename(&tmp.path, &path).map_err(io)?;
            tmp.renamed = true;
        }
        Ok(())
    }
}

/// Creates `tmp`, the file written beside `path` and renamed over it, with the mode of the
/// file it replaces (0600 when there is none), a file left there by a killed run removed
/// first.
///
/// # Errors
/// The operating system's, naming `tmp`: what is at `tmp` is refused when it is not a regular
/// file (a symbolic link put there is neither followed nor removed).
fn create_beside(path: &Path, tmp: &Path) -> std::io::Result<File> {
    let named = |e: std::io::Error| {
        let message = format!(
            "cannot write its new version beside it, {}: {e}",
            tmp.display()
        );
        std::io::Error::new(e.kind(), message)
    };
    private_file::remove_leftover(tmp).map_err(named)?;
    let file = private_file::open(tmp, Open::New).map_err(named)?;
    if let Err(e) = private_file::keep_mode(path, &file) {
        drop(file);
        let _ = std::fs::remove_file(tmp);
        return Err(named(e));
    }
    Ok(file)
}

/// Calls `cell` with each cell of an input row of `len` `fields` laid out in exactly `width`
/// columns (the header's): the surplus fields of a long row joined into the last one, a short
/// row padded with empty cells (as [`input::lay_out`]); before [`neutralize`]. The results file
/// is written this way ([`CsvOut::input_cells`]), and told unchanged this way
/// ([`super::unchanged`]).
///
/// # Errors
/// The first error of `cell`.
pub(crate) fn each_input_cell<'a, E>(
    mut fields: impl Iterator<Item = Cow<'a, str>>,
    len: usize,
    width: usize,
    mut cell: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let ragged = len > width && width > 0;
    let plain = if ragged { width - 1 } else { len };
    for field in fields.by_ref().take(plain) {
        cell(&field)?;
    }
    if ragged {
        let surplus: Vec<Cow<str>> = fields.collect();
        cell(&surplus.join(","))?;
    }
    for _ in len..width {
        cell("")?;
    }
    Ok(())
}

/// Copies the input `source` into `out`: its header followed by `appended` (the names of
/// the columns added after the input's own), then each of its rows, in order, laid out in the
/// header's width and followed by the cells `append` writes for it (its index and `out`).
/// Only the first `rows` input rows are written; the rest are counted.
///
/// This is the one writer of "input rows + appended columns": the results file and the plan
/// both go through it, so that the input's cells are copied one way.
///
/// # Errors
/// [`Error::Io`]/[`Error::Input`] when reading the input or writing fails.
pub fn copy_input(
    source: &input::Source,
    out: &mut CsvOut,
    appended: &[&str],
    rows: usize,
    mut append: impl FnMut(usize, &mut CsvOut) -> Result<(), Error>,
) -> Result<usize, Error> {
    let mut reader = source.records()?;
    let headers = source.headers();
    let width = headers.len();
    out.row(headers.iter().chain(appended.iter().copied()))?;
    // The input's records as bytes, without the line numbers [`input::Rows`] counts, parsed on
    // a thread of their own while the rows before them are written; batches of records go
    // back and forth, so that each record's room is reused.
    let unreadable = |e: csv::Error| source.input_error(e.to_string());
    let mut count = 0usize;
    input::batches::read_ahead(
        COPIED_TOGETHER,
        |record: &mut ByteRecord| match reader.read_byte_record(record) {
            Ok(true) => {
                input::trim_fields(record);
                Some(Ok(()))
            }
            Ok(false) => None,
            Err(e) => Some(Err(unreadable(e))),
        },
        |batch| {
            for record in batch.iter() {
                if count < rows {
                    out.input_cells(record, width)?;
                    append(count, out)?;
                    out.end_row()?;
                }
                count += 1;
            }
            Ok(())
        },
    )?;
    Ok(count)
}

/// Input records parsed together, ahead of the writing.
const COPIED_TOGETHER: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_rows_are_copied_in_the_header_width_with_cells_neutralized() {
        let dir = tempfile::tempdir().unwrap();
        let input_path = dir.path().join("in.csv");
        std::fs::write(
            &input_path,
            b"name;owner\n=1+2;-5\nshort\nlong;a;b\nM\xfcller;x\nleft;over\n",
        )
        .unwrap();
        let out_path = dir.path().join("out.csv");
        let source = input::Source::as_csv(&input_path, &input::Dialect::default()).unwrap();
        let mut out = CsvOut::replace(&out_path, source.delimiter()).unwrap();
        let count = copy_input(&source, &mut out, &["extra"], 4, |i, out| {
            out.cell(&format!("+{i}"))
        })
        .unwrap();
        out.finish().unwrap();
        assert_eq!(count, 5, "every input row is counted");
        assert!(!dir.path().join("out.csv.tmp").exists());
        let written = std::fs::read_to_string(&out_path).unwrap();
        assert_eq!(
            written,
            "\u{feff}name;owner;extra\n'=1+2;'-5;'+0\nshort;;'+1\nlong;a,b;'+2\n\
             M\u{fffd}ller;x;'+3\n"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_names_the_file_asked_for_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let out_path = dir.path().join("out.csv");
        std::fs::write(&out_path, "the old file").unwrap();
        // The file beside it, on a full disk: /dev/full, opened as if it were that file (a
        // link to it at that name is refused, as any link is).
        let beside = dir.path().join("out.csv.tmp");
        std::fs::write(&beside, "").unwrap();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut out = CsvOut::over(&out_path, full, Some(beside.clone()), b',').unwrap();
        out.row(["a", "b"]).unwrap();
        let error = out.finish().unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "{}: No space left on device (os error 28)",
                out_path.display()
            )
        );
        assert!(beside.symlink_metadata().is_err(), "removed");
        assert_eq!(std::fs::read_to_string(&out_path).unwrap(), "the old file");
    }
}
