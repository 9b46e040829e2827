//! Stage 6: emit results. One module per output: unified diffs, atomic
//! writes, git commits, and machine-readable reports (`report`); `interrupt`
//! turns Ctrl-C / SIGTERM during writes into a restore, and `lock` keeps
//! writing runs on one tree from overlapping.

pub mod commit;
pub mod diff;
pub mod hooks;
pub mod interrupt;
pub mod lock;
pub mod report;
pub mod sarif;
pub mod write;
