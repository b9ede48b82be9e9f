//! orgimport: bulk-create SecureAuth Connect organizations from a CSV of customers.
//!
//! The pipeline reads a customer CSV, validates every row into an organization request,
//! sends the creates concurrently through one shared rate limiter and one shared OAuth2
//! token, and writes a results file that says what happened to every row. Running the same
//! import again resumes it.
//!
//! # Layout
//! - [`sandbox`]: an emulator of the SecureAuth System API (token + organizations) with fault
//!   injection, for rehearsals and for every test.

pub mod sandbox;
