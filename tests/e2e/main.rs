//! End-to-end tests: the pgferret binary on real PostgreSQL logs from testdata/.

mod anonymize;
mod browser;
mod cli;
mod corpus;
mod damaged;
mod diagnose;
mod diff;
mod events;
mod filter_sessions;
mod filters;
mod findings;
mod fingerprints;
mod formats;
mod formats_cloud;
mod inputs_outputs;
mod pgbouncer;
mod prefixes;
mod report;
mod serve;
mod serve_browser;
mod share;
mod snapshot;
mod statement_only;
mod util;
mod verdicts;
