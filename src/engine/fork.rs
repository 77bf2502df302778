//! `fork()`: what a child process inherits of a hub is not usable there. The tokio runtime's
//! threads do not exist in the child; a Redis connection's socket is shared with the parent
//! (two processes reading one reply stream); SQLite forbids carrying an open database across
//! a fork. So a hub opened before a fork refuses every operation in the child with
//! `Error::Forked`, which names the fix (open one after the fork), and a hub opened in the
//! child gets a runtime of its own.
//!
//! The embedding (the Python module registers it with `os.register_at_fork`) calls
//! [`after_fork_in_child`], which moves the process to a new generation; a handle
//! remembers the generation it was made in ([`Born`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// Forks survived by this process's ancestry since the library was loaded (0 in the process
/// that loaded it).
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current generation.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// To be called in a child right after `fork()`, before it does anything else with the
/// library.
pub fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
    super::spin::after_fork_in_child();
}

/// Where and when a handle was opened.
#[derive(Debug, Clone, Copy)]
pub struct Born {
    generation: u64,
    pid: u32,
}

impl Born {
    /// Now, in this process.
    pub fn now() -> Born {
        Born {
            generation: generation(),
            pid: std::process::id(),
        }
    }

    /// True in a child forked after the handle was opened.
    pub fn forked(&self) -> bool {
        self.forked_in(generation())
    }

    /// True when the process is at `generation` and the handle was made in another.
    fn forked_in(&self, generation: u64) -> bool {
        self.generation != generation
    }

    /// `Error::Forked` when [`Born::forked`].
    pub fn check(&self) -> crate::error::Result<()> {
        self.check_in(generation())
    }

    fn check_in(&self, generation: u64) -> crate::error::Result<()> {
        if self.forked_in(generation) {
            Err(crate::error::Error::Forked(self.pid))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Without calling `after_fork_in_child`: it changes the whole test process's generation,
    // which would turn every other test's open hub into a forked one mid-test.
    #[test]
    fn a_new_generation_refuses_older_handles() {
        let b = Born::now();
        assert!(b.check().is_ok());
        let child = generation() + 1;
        assert!(matches!(
            b.check_in(child),
            Err(crate::error::Error::Forked(_))
        ));
        let born_in_child = Born {
            generation: child,
            ..b
        };
        assert!(born_in_child.check_in(child).is_ok());
    }
}
