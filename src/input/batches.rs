//! Rows handed over in batches, read on a thread of their own: while one batch is checked
//! (on every core, with rayon) and applied, the next is already being parsed. Planning, the
//! reading of earlier runs and the results writer go through it; on two cores it takes the CSV
//! parsing off the path that waits for it.

use std::sync::mpsc;

use super::{RawRow, Rows};
use crate::Error;

/// Rows in one batch.
pub(crate) const BATCH: usize = 8192;

/// Batches read ahead of the one being worked on.
const AHEAD: usize = 2;

/// Reads `rows` on a thread of its own and calls `work` with each batch of up to [`BATCH`]
/// rows, in file order, on this one. Reading stops at the first error, which is returned
/// after the rows before it were worked on; an error from `work` stops the reading too. The
/// rows of a batch worked on are read into again.
///
/// # Errors
/// The first error of `rows` or of `work`.
pub(crate) fn in_batches(
    mut rows: Rows,
    work: impl FnMut(&mut Vec<RawRow>) -> Result<(), Error>,
) -> Result<(), Error> {
    read_ahead(BATCH, |row| rows.read_into(row), work)
}

/// As [`in_batches`], `work` taking each batch to keep while it wants: it hands back a
/// batch it is done with (this one or an earlier one), to be read into again.
///
/// # Errors
/// As [`in_batches`].
pub(crate) fn in_owned_batches(
    mut rows: Rows,
    work: impl FnMut(Vec<RawRow>) -> Result<Option<Vec<RawRow>>, Error>,
) -> Result<(), Error> {
    read_ahead_owned(BATCH, |row| rows.read_into(row), work)
}

/// Reads items with `next` on a thread of its own, `batch` at a time, and calls `work` with
/// each batch, in order, on this one; the batches go back to the reader once worked on, and
/// `next` reads into their items again. `next` says `None` at the end, else whether it read
/// one. Reading stops at the first error, which is returned after the items before it were
/// worked on; an error from `work` stops the reading too.
///
/// # Errors
/// The first error of `next` or of `work`.
pub(crate) fn read_ahead<T: Default + Send>(
    batch: usize,
    next: impl FnMut(&mut T) -> Option<Result<(), Error>> + Send,
    mut work: impl FnMut(&mut Vec<T>) -> Result<(), Error>,
) -> Result<(), Error> {
    read_ahead_owned(batch, next, |mut items| {
        work(&mut items)?;
        Ok(Some(items))
    })
}

/// As [`read_ahead`], `work` taking each batch and handing back one it is done with (or
/// none), which `next` reads into again.
///
/// # Errors
/// As [`read_ahead`].
pub(crate) fn read_ahead_owned<T: Default + Send>(
    batch: usize,
    mut next: impl FnMut(&mut T) -> Option<Result<(), Error>> + Send,
    mut work: impl FnMut(Vec<T>) -> Result<Option<Vec<T>>, Error>,
) -> Result<(), Error> {
    std::thread::scope(|scope| {
        let (full, filled) = mpsc::sync_channel::<Result<Vec<T>, Error>>(AHEAD);
        let (empty, emptied) = mpsc::channel::<Vec<T>>();
        scope.spawn(move || {
            loop {
                let mut items = emptied
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(batch));
                let mut read = 0;
                let mut failed = None;
                while read < batch {
                    if items.len() == read {
                        items.push(T::default());
                    }
                    match next(&mut items[read]) {
                        None => break,
                        Some(Ok(())) => read += 1,
                        Some(Err(e)) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                items.truncate(read);
                let last = read < batch || failed.is_some();
                // A closed channel: the worker stopped (its own error); nothing more to read.
                if read > 0 && full.send(Ok(items)).is_err() {
                    return;
                }
                if let Some(e) = failed {
                    let _ = full.send(Err(e));
                    return;
                }
                if last {
                    return;
                }
            }
        });
        for items in filled {
            if let Some(done) = work(items?)? {
                let _ = empty.send(done);
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Dialect, Source};

    /// The rows of a file of `content`, in a temporary directory.
    fn rows_of(dir: &tempfile::TempDir, content: &str) -> Rows {
        let path = dir.path().join("in.csv");
        std::fs::write(&path, content).unwrap();
        let source = Source::as_csv(&path, &Dialect::default()).unwrap();
        source.rows(source.headers().len()).unwrap()
    }

    /// A file of `n` rows, the `open`th (from 1) opening a quote that swallows the rest.
    fn file(n: u64, open: Option<u64>) -> String {
        let mut content = String::from("name,note,id\n");
        for row in 1..=n {
            if Some(row) == open {
                content.push_str("\"never closed,x,y\n");
            } else {
                content.push_str(&format!("row {row},note,{row}\n"));
            }
        }
        content
    }

    #[test]
    fn every_row_comes_in_order_and_an_error_after_the_rows_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        in_batches(rows_of(&dir, &file(20_000, None)), |batch| {
            assert!(batch.len() <= BATCH);
            seen.extend(batch.iter().map(|r| (r.line, r.record[0].to_string())));
            Ok(())
        })
        .unwrap();
        let expected: Vec<(u64, String)> = (1..=20_000)
            .map(|row| (row + 1, format!("row {row}")))
            .collect();
        assert_eq!(seen, expected);

        let mut seen = 0;
        let error = in_batches(rows_of(&dir, &file(20_000, Some(9_000))), |batch| {
            seen += batch.len();
            Ok(())
        })
        .unwrap_err();
        assert_eq!(seen, 8_999);
        assert!(error.to_string().contains("line 9001"), "{error}");
    }

    #[test]
    fn an_error_of_the_work_stops_the_reading() {
        let dir = tempfile::tempdir().unwrap();
        let mut calls = 0;
        let error = in_batches(rows_of(&dir, &file(100_000, None)), |_| {
            calls += 1;
            Err(Error::Config("stop".into()))
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        assert!(error.to_string().contains("stop"));
    }
}
