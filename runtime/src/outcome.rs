//! What one run of a critical section did.

/// The result of a critical section that ran: it committed, or left through an `exit`,
/// or (only with `no_retry`) was aborted by the kernel.
///
/// `cpu` is the index (CPU number or mm_cid) the attempt used.
///
/// ```
/// use rseq_dsl_runtime::Outcome;
/// let o: Outcome<u64, ()> = Outcome::Committed { cpu: 1, value: 7 };
/// assert_eq!(o.committed(), Some(7));
/// assert_eq!(o.cpu(), Some(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome<T, E> {
    /// The committing store happened.
    Committed {
        /// The index the section ran for.
        cpu: usize,
        /// The yielded value, or `()`.
        value: T,
    },
    /// An `exit` left the section before the commit; nothing was committed.
    Exited {
        /// The index the section ran for.
        cpu: usize,
        /// The exit's value, or `()`.
        value: E,
    },
    /// The kernel restarted the section and `no_retry` asked not to run it again.
    Aborted,
}

impl<T, E> Outcome<T, E> {
    /// Whether the committing store happened.
    pub fn is_committed(&self) -> bool {
        matches!(self, Outcome::Committed { .. })
    }

    /// The yielded value if the section committed.
    pub fn committed(self) -> Option<T> {
        match self {
            Outcome::Committed { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The exit value if the section left through an `exit`.
    pub fn exited(self) -> Option<E> {
        match self {
            Outcome::Exited { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The index the attempt used, unless it was aborted.
    pub fn cpu(&self) -> Option<usize> {
        match self {
            Outcome::Committed { cpu, .. } | Outcome::Exited { cpu, .. } => Some(*cpu),
            Outcome::Aborted => None,
        }
    }
}
