//! A reader of a file at an offset of its own, so that readers of one open file do not move
//! each other.

use std::fs::File;
use std::io::{Read, Seek};

/// A reader of a file at an offset of its own (`pread`), so that readers of one open file,
/// on one thread or several, do not move each other: a sheet's text, or a workbook's zip
/// archive read by two threads at once ([`sheet_xml`]).
pub(crate) struct ReadAt<F> {
    file: F,
    /// The offset of the next byte read.
    at: u64,
}

impl<F> ReadAt<F> {
    /// A reader of `file` from its start.
    pub(crate) fn new(file: F) -> ReadAt<F> {
        ReadAt { file, at: 0 }
    }
}

impl<F: std::borrow::Borrow<File>> Read for ReadAt<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let read = std::os::unix::fs::FileExt::read_at(self.file.borrow(), buf, self.at)?;
        #[cfg(windows)]
        let read = std::os::windows::fs::FileExt::seek_read(self.file.borrow(), buf, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}

impl<F: std::borrow::Borrow<File>> Seek for ReadAt<F> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let at = match pos {
            std::io::SeekFrom::Start(at) => Some(at),
            std::io::SeekFrom::End(back) => self
                .file
                .borrow()
                .metadata()?
                .len()
                .checked_add_signed(back),
            std::io::SeekFrom::Current(by) => self.at.checked_add_signed(by),
        };
        self.at = at.ok_or_else(|| std::io::Error::other("seek before the file's start"))?;
        Ok(self.at)
    }
}
