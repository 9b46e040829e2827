//! `refactor`: repo-wide batch refactoring. See ARCHITECTURE.md for the code map.
//!
//! Pipeline: [`walk`] → [`pipeline`] (parse — all of a file, or its
//! [`items`] that can match — and match with [`rule`] and [`matcher`]) → [`plan`] (edits) → [`fill`] (holes: [`candidates`], then
//! [`denoise`]) → [`validate`] (reparse) → [`verify`] (type checkers,
//! `--verify`) → [`emit`] (diffs, writes, commits, reports).

pub(crate) mod candidates;
pub mod cli;
pub mod denoise;
pub(crate) mod emit;
pub(crate) mod eval;
pub(crate) mod fill;
pub(crate) mod items;
pub mod lang;
pub mod matcher;
pub mod pipeline;
pub mod plan;
pub(crate) mod project;
pub(crate) mod repo;
pub(crate) mod results;
pub mod rule;
pub(crate) mod validate;
pub(crate) mod verify;
pub mod walk;
