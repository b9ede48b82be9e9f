//! The one integration-test binary: every test talks to a real sandbox over HTTP on 127.0.0.1.

mod between_runs;
mod environment;
mod faults;
mod fixture;
mod import;
mod input;
mod ops;
mod plan;
mod replies;
mod results_file;
mod retries;
mod sandbox;
mod sandbox_auth;
mod sandbox_faults;
mod statuses;
mod util;
