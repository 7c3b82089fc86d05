//! Case files: their schema, value expressions, the step vocabulary, and loading them into plans.

mod compile;
pub mod diag;
mod expect;
pub mod expr;
pub mod load;
pub mod plan;
pub mod schema;
mod steps;
mod threads;
pub mod vocab;
