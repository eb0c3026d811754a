//! [`ClusterAnswer`]: a value gathered from the nodes of a cluster, with
//! how many of them answered.

/// A value gathered from every node that answered in time, and whether
/// every node did.
///
/// A single process answers for itself at once ([`ClusterAnswer::local`]);
/// a cluster asks the other nodes and waits at most its request timeout, so
/// a node that is slow or gone leaves the answer incomplete rather than
/// late.
///
/// ```
/// use primus::cluster::ClusterAnswer;
///
/// let answer = ClusterAnswer::local(3);
/// assert_eq!(answer.value, 3);
/// assert!(answer.is_complete());
/// assert_eq!((answer.nodes_answered, answer.nodes_expected), (1, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAnswer<T> {
    /// The value summed or merged over the nodes that answered (this one
    /// included).
    pub value: T,
    /// How many nodes answered, this one included.
    pub nodes_answered: usize,
    /// How many nodes were expected to answer, this one included.
    pub nodes_expected: usize,
}

impl<T> ClusterAnswer<T> {
    /// The answer of a process that is the whole cluster.
    pub fn local(value: T) -> ClusterAnswer<T> {
        ClusterAnswer {
            value,
            nodes_answered: 1,
            nodes_expected: 1,
        }
    }

    /// True when every expected node answered in time.
    pub fn is_complete(&self) -> bool {
        self.nodes_answered >= self.nodes_expected
    }
}
