//! Compile-time tests of `#[primus::event]` and `#[primus::on(..)]`.
//!
//! The cases live in `tests/pass` (must compile) and `tests/fail` (must fail
//! with the pinned `.stderr`); `tests/ui.rs` runs them with trybuild.
//! Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p primus-ui-tests` and read every one.
