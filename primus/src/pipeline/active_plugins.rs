//! The plugins of a running server as each connection sees them: replaced
//! as a whole on every `plugin`/`plugout`, read without a lock on the
//! message path.

use super::plugin::PluginSet;
use crate::lock;
use crate::spark::PerSparkEncoding;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The server's current [`PluginSet`], replaced as a whole on every change.
///
/// Readers on the message path do not take the lock: each connection keeps
/// a [`PluginCache`] and only re-reads the set when the generation counter
/// has moved, i.e. after a `plugin`/`plugout`.
#[derive(Default)]
pub(crate) struct ActivePlugins {
    set: RwLock<Arc<PluginSet>>,
    /// Bumped (under the write lock) after every replacement.
    generation: AtomicU64,
    /// Whether `set` has outgoing transforms, for [`Spark::write`](crate::Spark::write).
    outgoing: PerSparkEncoding,
}

impl ActivePlugins {
    pub(crate) fn new(set: PluginSet) -> ActivePlugins {
        ActivePlugins {
            outgoing: {
                let outgoing = PerSparkEncoding::default();
                outgoing.set(!set.transforms.outgoing.is_empty());
                outgoing
            },
            set: RwLock::new(Arc::new(set)),
            generation: AtomicU64::new(0),
        }
    }

    /// The current set (takes the read lock; use a [`PluginCache`] on hot paths).
    pub(crate) fn current(&self) -> Arc<PluginSet> {
        lock::read(&self.set).clone()
    }

    /// Replaces the set with `change` applied to a copy of it; returns what
    /// `change` returned. The set is not replaced when `change` fails.
    pub(crate) fn update<T, E>(&self, change: impl FnOnce(&mut PluginSet) -> Result<T, E>) -> Result<T, E> {
        let mut set = lock::write(&self.set);
        let mut next = PluginSet::clone(&set);
        let outcome = change(&mut next);
        if outcome.is_ok() {
            self.outgoing.set(!next.transforms.outgoing.is_empty());
            *set = Arc::new(next);
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        outcome
    }

    /// True while any outgoing transform is active.
    pub(crate) fn has_outgoing_transforms(&self) -> bool {
        self.outgoing.get()
    }

    /// The flag itself, shared with every spark.
    pub(crate) fn per_spark_encoding(&self) -> &PerSparkEncoding {
        &self.outgoing
    }
}

/// One connection's copy of the active plugins, refreshed only when they
/// changed (one atomic load per message instead of a lock and a refcount).
pub(crate) struct PluginCache {
    generation: u64,
    set: Arc<PluginSet>,
}

impl PluginCache {
    pub(crate) fn new(active: &ActivePlugins) -> PluginCache {
        // Generation first: a change racing with this read is seen next time.
        let generation = active.generation.load(Ordering::Acquire);
        PluginCache {
            generation,
            set: active.current(),
        }
    }

    /// The set as of the last refresh.
    pub(crate) fn current(&self) -> &Arc<PluginSet> {
        &self.set
    }

    /// The current set.
    pub(crate) fn get(&mut self, active: &ActivePlugins) -> &Arc<PluginSet> {
        let generation = active.generation.load(Ordering::Acquire);
        if generation != self.generation {
            self.generation = generation;
            self.set = active.current();
        }
        &self.set
    }
}
