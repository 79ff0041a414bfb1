//! What one run of a critical section did.

/// The result of a critical section that ran: it committed, or left through an `exit`,
/// or (only with `no_retry`) was aborted by the kernel.
///
/// `index` is what the attempt was indexed by: the CPU number (`|cpu|` sections), or the
/// concurrency id (`rseq!(mm_cid, |cid| ...)`).
///
/// ```
/// use rseq_dsl_runtime::Outcome;
/// let o: Outcome<u64, ()> = Outcome::Committed { index: 1, value: 7 };
/// assert!(o.is_committed());
/// assert_eq!(o.index(), Some(1));
/// assert_eq!(o.committed(), Some(7));
///
/// let e: Outcome<u64, u8> = Outcome::Exited { index: 0, value: 2 };
/// assert_eq!(e.exited(), Some(2));
/// assert_eq!(Outcome::<u64, u8>::Aborted.index(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome<T, E> {
    /// The committing store happened.
    Committed {
        /// The CPU number or concurrency id the section ran for.
        index: usize,
        /// The yielded value, or `()`.
        value: T,
    },
    /// An `exit` left the section before the commit; nothing was committed.
    Exited {
        /// The CPU number or concurrency id the section ran for.
        index: usize,
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

    /// The CPU number or concurrency id the attempt used, unless it was aborted.
    pub fn index(&self) -> Option<usize> {
        match self {
            Outcome::Committed { index, .. } | Outcome::Exited { index, .. } => Some(*index),
            Outcome::Aborted => None,
        }
    }
}
