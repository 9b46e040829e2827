//! Stage 6: emit results. One module per output: the run's report records
//! (`report`), one printer per format (`text`, `json`, `sarif`, `github`,
//! `diff`, `summary`), interactive review of edits before they are written
//! (`review`), atomic writes (`write`), git commits (`commit`, `hooks`), the
//! writing lock and signal handling.

pub mod commit;
pub mod diff;
pub mod github;
pub mod hooks;
pub mod interrupt;
pub mod json;
pub mod lock;
pub mod report;
pub mod review;
pub mod sarif;
pub mod summary;
pub mod text;
pub mod write;
