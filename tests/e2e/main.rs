//! End-to-end tests: the pgferret binary on real PostgreSQL logs from testdata/.

mod cli;
mod corpus;
mod events;
mod util;
