//! The floor for `orgimport validate`: the same file read with the plain `csv` crate (one
//! reused record, every field touched, nothing checked). `bench/run.sh validate` times both.
//!
//! Usage: `cargo run --release --example csv_floor -- FILE`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: csv_floor FILE.csv")?;
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new().from_path(&path)?;
    let mut record = csv::StringRecord::new();
    let (mut rows, mut bytes) = (0u64, 0usize);
    while reader.read_record(&mut record)? {
        rows += 1;
        bytes += record.iter().map(str::len).sum::<usize>();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{rows} rows ({bytes} field bytes) in {secs:.2}s: {:.0} rows/s",
        rows as f64 / secs
    );
    Ok(())
}
