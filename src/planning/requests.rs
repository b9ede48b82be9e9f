//! The requests of the rows to send, built once by planning, in row order, and kept in a spill
//! file beside the results file, so that a million of them cost no memory: each wave of the
//! import (and the dry run's examples) reads them back from there, in order, instead of reading
//! and mapping the input again.
//!
//! The file has no name (it is removed when the run ends, however it ends) and only its owner
//! may read it. Each entry is the row's index, its line, whether an earlier run may have created
//! it, its key and its request body as JSON, lengths first:
//! `index u64 | line u64 | in_doubt u8 | key len u32 | key | body len u32 | body`, little-endian.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::api::CreateOrganization;

/// Bytes buffered on either side of the spill file.
const BUFFER: usize = 256 * 1024;

/// The spill file of the requests planning built (none when it was asked to keep none).
#[derive(Debug, Default)]
pub struct Requests {
    /// The file, written and flushed; `None` when no request was kept.
    file: Option<File>,
    /// Its directory, for the messages about it.
    dir: PathBuf,
    /// How many entries it holds.
    count: usize,
}

/// A request as planning built it: its row, its key, and its body.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRequest {
    /// The row's position among the data rows.
    pub index: usize,
    /// The line where the row starts.
    pub line: u64,
    /// Its key (id, else name), for the journal.
    pub key: String,
    /// An earlier run may have created it without hearing so.
    pub in_doubt: bool,
    /// The request body as JSON (without its parent's id: that is known only once the parent
    /// exists).
    pub body: Vec<u8>,
}

impl PlannedRequest {
    /// The request the body says.
    ///
    /// # Errors
    /// [`Error::Io`] when the body is not a request (the spill file was damaged).
    pub fn request(&self, requests: &Requests) -> Result<CreateOrganization, Error> {
        serde_json::from_slice(&self.body).map_err(|e| requests.damaged(e.to_string()))
    }
}

impl Requests {
    /// How many requests it holds: the rows planning found valid as it read them (some may
    /// have been found invalid after, by their parents: [`super::Plan::outcomes`] says).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The requests, in row order, from the first. One reader at a time: a second one started
    /// meanwhile moves the first's place in the file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read from its start.
    pub fn read(&self) -> Result<RequestsRead<'_>, Error> {
        let file = match &self.file {
            Some(file) => {
                let mut file = file.try_clone().map_err(|e| self.io(e))?;
                file.seek(SeekFrom::Start(0)).map_err(|e| self.io(e))?;
                Some(BufReader::with_capacity(BUFFER, file))
            }
            None => None,
        };
        Ok(RequestsRead {
            requests: self,
            file,
            left: self.count,
        })
    }

    fn io(&self, error: std::io::Error) -> Error {
        let message = format!("the requests kept for this run, in a file of this folder: {error}");
        Error::io(&self.dir, std::io::Error::new(error.kind(), message))
    }

    fn damaged(&self, why: String) -> Error {
        self.io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("damaged ({why})"),
        ))
    }
}

/// The requests of a [`Requests`] file, read in order.
pub struct RequestsRead<'a> {
    requests: &'a Requests,
    file: Option<BufReader<File>>,
    /// Entries not read yet.
    left: usize,
}

impl Iterator for RequestsRead<'_> {
    type Item = Result<PlannedRequest, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let file = self.file.as_mut()?;
        self.left -= 1;
        let entry = read_entry(file).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => self.requests.damaged("cut short".into()),
            _ => self.requests.io(e),
        });
        if entry.is_err() {
            self.left = 0;
        }
        Some(entry)
    }
}

/// Reads one entry.
fn read_entry(file: &mut impl Read) -> std::io::Result<PlannedRequest> {
    let mut word = [0u8; 8];
    file.read_exact(&mut word)?;
    let index = u64::from_le_bytes(word) as usize;
    file.read_exact(&mut word)?;
    let line = u64::from_le_bytes(word);
    let mut flag = [0u8; 1];
    file.read_exact(&mut flag)?;
    let key = read_bytes(file)?;
    let key = String::from_utf8(key)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "a key is not UTF-8"))?;
    let body = read_bytes(file)?;
    Ok(PlannedRequest {
        index,
        line,
        key,
        in_doubt: flag[0] != 0,
        body,
    })
}

/// Reads a length, then as many bytes.
fn read_bytes(file: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    file.read_exact(&mut len)?;
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// A [`Requests`] file being written by planning, a row at a time in row order.
pub struct RequestsWriter {
    file: BufWriter<File>,
    requests: Requests,
}

impl RequestsWriter {
    /// A new spill file in `dir` (the results file's directory: the run writes there anyway).
    ///
    /// # Errors
    /// [`Error::Io`] when no file can be made there.
    pub fn new(dir: &Path) -> Result<Self, Error> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let requests = Requests {
            file: None,
            dir: dir.to_path_buf(),
            count: 0,
        };
        let file = tempfile::tempfile_in(dir).map_err(|e| requests.io(e))?;
        Ok(RequestsWriter {
            file: BufWriter::with_capacity(BUFFER, file),
            requests,
        })
    }

    /// Adds the request of the row `index` (on `line`, of `key`).
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be written (a full disk).
    pub fn push(
        &mut self,
        index: usize,
        line: u64,
        key: &str,
        in_doubt: bool,
        body: &[u8],
    ) -> Result<(), Error> {
        let too_long = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a request over 4 GiB cannot be kept",
            )
        };
        let key_len = u32::try_from(key.len()).map_err(|_| too_long());
        let body_len = u32::try_from(body.len()).map_err(|_| too_long());
        let write = || -> std::io::Result<()> {
            let f = &mut self.file;
            f.write_all(&(index as u64).to_le_bytes())?;
            f.write_all(&line.to_le_bytes())?;
            f.write_all(&[u8::from(in_doubt)])?;
            f.write_all(&key_len?.to_le_bytes())?;
            f.write_all(key.as_bytes())?;
            f.write_all(&body_len?.to_le_bytes())?;
            f.write_all(body)
        };
        write().map_err(|e| self.requests.io(e))?;
        self.requests.count += 1;
        Ok(())
    }

    /// The file, written whole.
    ///
    /// # Errors
    /// [`Error::Io`] when the last entries cannot be written.
    pub fn finish(self) -> Result<Requests, Error> {
        let RequestsWriter { file, mut requests } = self;
        let file = file.into_inner().map_err(|e| requests.io(e.into_error()))?;
        requests.file = Some(file);
        Ok(requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requests_come_back_in_the_order_they_were_kept_on_every_reading() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = RequestsWriter::new(dir.path()).unwrap();
        writer
            .push(0, 2, "id:a", false, br#"{"name":"A"}"#)
            .unwrap();
        writer
            .push(3, 7, "name:B é", true, br#"{"name":"B \u00e9"}"#)
            .unwrap();
        let requests = writer.finish().unwrap();
        assert_eq!(requests.len(), 2);
        // Nothing is left in the folder: the file has no name.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        for _ in 0..2 {
            let read: Vec<_> = requests.read().unwrap().map(Result::unwrap).collect();
            assert_eq!(read.len(), 2);
            assert_eq!(
                (read[0].index, read[0].line, read[0].in_doubt),
                (0, 2, false)
            );
            assert_eq!(read[0].key, "id:a");
            assert_eq!(
                (read[1].index, read[1].line, read[1].in_doubt),
                (3, 7, true)
            );
            assert_eq!(read[1].key, "name:B é");
            assert_eq!(read[1].request(&requests).unwrap().name, "B é");
        }
    }

    #[test]
    fn no_requests_kept_reads_as_none() {
        let requests = Requests::default();
        assert!(requests.is_empty());
        assert_eq!(requests.read().unwrap().count(), 0);
    }
}
