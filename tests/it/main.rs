//! The one integration-test binary: every test talks to a real sandbox over HTTP on 127.0.0.1
//! (but the fuzz harness, which reads files only).

mod between_runs;
mod browser;
mod console;
mod conventions;
mod empty_strings;
mod encodings;
mod environment;
mod export;
mod faults;
#[cfg(unix)]
mod files;
mod first_hour;
mod fixture;
mod fuzz;
mod hostile;
mod hostile_input;
mod hostile_replies;
mod import;
mod input;
mod limiters;
mod network;
mod ops;
mod permanent;
mod plan;
mod rate;
mod recipe;
mod replies;
mod rerun;
mod results_file;
mod results_tenant;
mod retries;
mod sandbox;
mod sandbox_auth;
mod sandbox_faults;
mod secrets;
mod sheets;
mod statuses;
mod steering;
mod template;
mod tenant_reads;
mod util;
mod workbook_corpus;
mod workbook_files;
mod workbooks;
