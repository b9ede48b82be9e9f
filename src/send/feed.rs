//! Feeding one wave's rows to the workers: a blocking thread reads the input again (the run's
//! pinned copy, [`InputSnapshot`](crate::input::InputSnapshot), so the rows are the plan's)
//! and hands the rows to send, in order and in chunks, to a queue the workers take rows from.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::*;
use crate::Error;
use crate::input::{Mapping, Source};

/// What a reader thread needs to feed one wave's rows to the workers.
pub(crate) struct WaveRows {
    /// The input as the plan read it: the run's pinned copy.
    pub(crate) source: Source,
    /// Its mapping.
    pub(crate) mapping: Arc<Mapping>,
    /// Which rows are to be sent at all.
    pub(crate) send: Arc<Vec<bool>>,
    /// The wave of each row with an in-file parent (others are in wave 0).
    pub(crate) waves: Arc<HashMap<usize, usize>>,
    /// The wave to read.
    pub(crate) wave: usize,
    /// The index of the wave's last row to send.
    pub(crate) last: usize,
    /// Keys of rows an earlier run may have created.
    pub(crate) in_doubt: Arc<HashSet<String>>,
    /// The template for rows that name none.
    pub(crate) default_template: Option<String>,
}

impl WaveRows {
    /// Reads the input again and sends this wave's rows to `rows`, in order, in chunks.
    pub(crate) fn read(self, rows: mpsc::Sender<Vec<Pending>>) -> Result<(), Error> {
        let mut chunk = Vec::with_capacity(CHUNK);
        let source = &self.source;
        for (index, row) in source.rows(self.mapping.width())?.enumerate() {
            if index > self.last {
                break;
            }
            let row = row?;
            let in_wave = self.waves.get(&index).copied().unwrap_or(0) == self.wave;
            if !in_wave || !self.send.get(index).copied().unwrap_or(false) {
                continue;
            }
            let changed = || {
                let place = source.numbering().at(row.line);
                source.input_error(format!("{place}: the file changed during the run"))
            };
            let request = self
                .mapping
                .to_request(&row.record, self.default_template.as_deref())
                .map_err(|_| changed())?;
            let key = self.mapping.key(&row.record).ok_or_else(changed)?;
            let pending = Pending {
                index,
                line: row.line,
                in_doubt: self.in_doubt.contains(&key),
                key,
                request,
            };
            chunk.push(pending);
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                if rows.blocking_send(full).is_err() {
                    // The workers stopped taking rows (Ctrl-C or a fatal error).
                    return Ok(());
                }
            }
        }
        if !chunk.is_empty() {
            let _ = rows.blocking_send(chunk);
        }
        Ok(())
    }
}

/// A wave's rows on their way to the workers: chunks from the reader, taken a row at a time.
pub(crate) struct RowQueue {
    /// Chunks from the reader.
    pub(crate) chunks: mpsc::Receiver<Vec<Pending>>,
    /// What is left of the chunk being taken.
    pub(crate) taken: std::vec::IntoIter<Pending>,
}

impl RowQueue {
    /// The next row, or `None` once the reader is done.
    pub(crate) async fn next(&mut self) -> Option<Pending> {
        loop {
            if let Some(row) = self.taken.next() {
                return Some(row);
            }
            self.taken = self.chunks.recv().await?.into_iter();
        }
    }
}
