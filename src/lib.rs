//! `refactor`: repo-wide batch refactoring. See ARCHITECTURE.md for the code map.
//!
//! Pipeline: [`walk`] → [`pipeline`] (parse and match with [`rule`] and
//! [`matcher`]) → [`plan`] (edits) → [`fill`] (holes, via [`denoise`]) →
//! [`validate`] (reparse) → [`emit`] (diffs, writes, commits, reports).

pub mod cli;
pub mod denoise;
pub mod emit;
pub mod eval;
pub mod fill;
pub mod lang;
pub mod matcher;
pub mod pipeline;
pub mod plan;
pub mod project;
pub mod repo;
pub mod results;
pub mod rule;
pub mod validate;
pub mod walk;
