//! Stage 6: emit results. One module per output: unified diffs, atomic
//! writes, git commits, and machine-readable reports (`report`).

pub mod commit;
pub mod diff;
pub mod report;
pub mod sarif;
pub mod write;
