//! Ctrl-C (SIGINT) and SIGTERM while files are being written.
//!
//! [`install`] replaces the default action (die at once, possibly between
//! two files) by a flag. The writer looks at it at every file boundary and,
//! when set, restores the files it already rewrote and fails with
//! [`Interrupted`], which the command line turns into exit code 130 / 143.
//! The last step of a commit (index, then HEAD) does not look: it is
//! finished once begun.

use std::sync::atomic::{AtomicI32, Ordering};

static PENDING: AtomicI32 = AtomicI32::new(0);

/// From now on SIGINT and SIGTERM only set the flag [`pending`] reads.
/// Child processes (git hooks) get the default actions back when they start.
pub fn install() {
    #[cfg(unix)]
    {
        extern "C" fn on_signal(sig: libc::c_int) {
            // An atomic store is async-signal-safe.
            PENDING.store(sig, Ordering::SeqCst);
        }
        // SAFETY: a zeroed sigaction is valid; the handler only stores an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
            libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        }
    }
}

/// The signal received since [`install`], if any.
pub fn pending() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// A run stopped by a signal, after putting back what it had written.
#[derive(Debug)]
pub struct Interrupted {
    pub signal: i32,
    /// What happened to the files already rewritten (empty: none were).
    pub note: String,
}

impl Interrupted {
    /// 128 + the signal number, as shells report a death by that signal.
    pub fn exit_code(&self) -> i32 {
        128 + self.signal
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.signal {
            2 => "SIGINT".to_string(),
            15 => "SIGTERM".to_string(),
            n => format!("signal {n}"),
        };
        if self.note.is_empty() {
            write!(
                f,
                "interrupted by {name} before writing; nothing was changed"
            )
        } else {
            write!(f, "interrupted by {name}; {}", self.note)
        }
    }
}

impl std::error::Error for Interrupted {}
