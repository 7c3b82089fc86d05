//! Case files: their schema, value expressions, the step vocabulary, and loading them into plans.

mod expect;
pub mod expr;
pub mod load;
pub mod plan;
pub mod schema;
pub mod vocab;
