//! End-to-end tests: the pgferret binary on real PostgreSQL logs from testdata/.

mod browser;
mod cli;
mod corpus;
mod events;
mod formats;
mod pgbouncer;
mod report;
mod snapshot;
mod util;
