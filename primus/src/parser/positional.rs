//! Whether the parser at work asks typed messages for their positional
//! form (see `primus::event::positional`): a parser that is not
//! self-describing switches it on, on its thread, for one encode or decode.

use std::cell::Cell;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// True while a parser that is not self-describing encodes or decodes on
/// this thread: typed messages take their positional form.
///
/// ```
/// assert!(!primus::event::positional::active());
/// ```
pub fn active() -> bool {
    ACTIVE.with(Cell::get)
}

/// Runs `work` with the positional form on (restoring what was before,
/// also when `work` panics): what a parser that is not self-describing
/// wraps its encoding and decoding in.
///
/// ```
/// use primus::event::positional;
/// assert!(positional::within(positional::active));
/// assert!(!positional::active());
/// ```
pub fn within<R>(work: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|active| active.set(self.0));
        }
    }
    let _restore = Restore(ACTIVE.with(|active| active.replace(true)));
    work()
}
