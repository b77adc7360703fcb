//! The integration tests of the `tailor` tool, as one test binary.

mod cli;
mod crash;
