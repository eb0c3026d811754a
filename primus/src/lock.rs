//! The crate's one policy for poisoned locks: carry on with the data.
//!
//! A lock is poisoned when a thread panicked while holding it. Every lock in
//! this crate guards data that each critical section leaves consistent at
//! every step (an insert, a removal, a swap of an `Arc`), and no user code
//! runs while one of them is held, except a plugin's setup, which works on
//! a copy that only replaces the original once it returns. So a poisoned
//! lock means "someone panicked nearby", not "the data is torn", and these
//! helpers take the guard anyway. Code in this crate locks through them, so
//! no call site decides on its own (by skipping the work, returning a
//! default, or reporting a misleading error).
//!
//! This module is the ground layer: it imports nothing of the crate.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, poisoned or not.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes a read guard of `lock`, poisoned or not.
pub(crate) fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes the write guard of `lock`, poisoned or not.
pub(crate) fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let shared = Arc::new(RwLock::new(vec![1]));
        let clone = shared.clone();
        let panicked = std::thread::spawn(move || {
            let _guard = clone.write().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(panicked.is_err());
        assert!(shared.is_poisoned());
        write(&shared).push(2);
        assert_eq!(*read(&shared), [1, 2]);
    }
}
