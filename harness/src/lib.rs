//! mmcheck: a conformance suite for the Linux memory-mapping system calls. Cases are TOML data
//! (`cases/`), compiled into plans that run in forked children and are judged in one place.

pub mod case;
pub mod child;
pub mod coverage;
pub mod env;
pub mod explain;
pub mod layout;
pub mod matrix;
pub mod mutant;
pub mod names;
pub mod outcome;
pub mod pool;
pub mod render;
pub mod report;
pub mod requires;
pub mod results;
pub mod runner;
pub mod scratch;
pub mod snapshot;
pub mod stability;
pub mod sys;
pub mod version;
pub mod wire;
pub mod worker;
