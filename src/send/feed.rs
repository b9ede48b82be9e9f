//! Feeding one wave's rows to the workers: a blocking thread reads the requests the plan built
//! and kept ([`Plan::requests`], in row order: the input is not read or mapped again) and hands
//! the wave's rows to send, in order and in chunks, to a queue the workers take rows from.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::*;
use crate::Error;

/// What a reader thread needs to feed one wave's rows to the workers.
pub(crate) struct WaveRows {
    /// The plan: each row's wave and parent, and the requests.
    pub(crate) plan: Arc<Plan>,
    /// Which rows are to be sent at all.
    pub(crate) send: Arc<Vec<bool>>,
    /// The wave to read.
    pub(crate) wave: usize,
    /// The index of the wave's last row to send.
    pub(crate) last: usize,
}

impl WaveRows {
    /// Reads the plan's requests and sends this wave's rows to `rows`, in order, in chunks.
    ///
    /// # Errors
    /// [`Error::Io`] when the kept requests cannot be read back.
    pub(crate) fn read(self, rows: mpsc::Sender<Vec<Pending>>) -> Result<(), Error> {
        let mut chunk = Vec::with_capacity(CHUNK);
        let plan = &self.plan;
        for planned in plan.requests.read()? {
            let planned = planned?;
            let index = planned.index;
            if index > self.last {
                break;
            }
            let in_wave = plan.waves.get(&index).copied().unwrap_or(0) == self.wave;
            if !in_wave || !self.send.get(index).copied().unwrap_or(false) {
                continue;
            }
            let pending = Pending {
                index,
                line: planned.line,
                request: planned.request(&plan.requests)?,
                key: planned.key,
                in_doubt: planned.in_doubt,
                parent: plan.parents.get(&index).copied(),
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
