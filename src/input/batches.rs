//! Rows handed over in batches, read on a thread of their own: while one batch is checked
//! (on every core, with rayon) and applied, the next is already being parsed. Planning and the
//! reading of earlier runs go through it; on two cores it takes the CSV parsing off the path
//! that waits for it.

use std::sync::mpsc;

use super::RawRow;
use crate::Error;

/// Rows in one batch.
pub const BATCH: usize = 8192;

/// Batches read ahead of the one being worked on.
const AHEAD: usize = 2;

/// Reads `rows` on a thread of its own and calls `work` with each batch of up to [`BATCH`]
/// rows, in file order, on this one. Reading stops at the first error, which is returned
/// after the rows before it were worked on; an error from `work` stops the reading too.
///
/// # Errors
/// The first error of `rows` or of `work`.
pub fn in_batches<I>(
    rows: I,
    mut work: impl FnMut(&mut Vec<RawRow>) -> Result<(), Error>,
) -> Result<(), Error>
where
    I: Iterator<Item = Result<RawRow, Error>> + Send,
{
    std::thread::scope(|scope| {
        let (full, filled) = mpsc::sync_channel::<Result<Vec<RawRow>, Error>>(AHEAD);
        // Emptied batches go back to the reader, so their room is reused.
        let (empty, emptied) = mpsc::channel::<Vec<RawRow>>();
        scope.spawn(move || {
            let mut rows = rows;
            loop {
                let mut batch = emptied
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                batch.clear();
                let mut failed = None;
                for row in rows.by_ref().take(BATCH) {
                    match row {
                        Ok(row) => batch.push(row),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                let last = batch.len() < BATCH || failed.is_some();
                // A closed channel: the worker stopped (its own error); nothing more to read.
                if !batch.is_empty() && full.send(Ok(batch)).is_err() {
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
        for batch in filled {
            let mut batch = batch?;
            work(&mut batch)?;
            let _ = empty.send(batch);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64) -> Result<RawRow, Error> {
        Ok(RawRow {
            line,
            record: csv::StringRecord::from(vec![line.to_string()]),
            problem: None,
        })
    }

    #[test]
    fn every_row_comes_in_order_and_an_error_after_the_rows_before_it() {
        let rows = (1..=20_000).map(row);
        let mut seen = Vec::new();
        in_batches(rows, |batch| {
            assert!(batch.len() <= BATCH);
            seen.extend(batch.iter().map(|r| r.line));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, (1..=20_000).collect::<Vec<_>>());

        let broken = (1..=10_000).map(|line| {
            if line == 9_000 {
                Err(Error::Config("line 9000 is broken".into()))
            } else {
                row(line)
            }
        });
        let mut seen = 0;
        let error = in_batches(broken, |batch| {
            seen += batch.len();
            Ok(())
        })
        .unwrap_err();
        assert_eq!(seen, 8_999);
        assert!(error.to_string().contains("line 9000"), "{error}");
    }

    #[test]
    fn an_error_of_the_work_stops_the_reading() {
        let mut calls = 0;
        let error = in_batches((1..=100_000).map(row), |_| {
            calls += 1;
            Err(Error::Config("stop".into()))
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        assert!(error.to_string().contains("stop"));
    }
}
