//! Compile-time tests of `#[primus::event]`, `#[primus::on(..)]`,
//! `#[primus_client::on(..)]`, `#[primus::middleware]` and `#[primus::plugin]`.
//!
//! The cases live in `tests/pass` (must compile and run) and `tests/fail`
//! (must fail with the pinned `.stderr`); `tests/ui.rs` runs them with
//! trybuild. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p primus-ui-tests` and read every one.
//!
//! `tests/ui.rs` also compiles every ```` ```rust ```` block of the
//! repository's `README.md`, as one generated file (`tests/readme/mod.rs`
//! says how, and how to mark a new block).
//!
//! This package depends on primus under another name,
//! `realtime = { package = "primus", .. }`, as a user may: trybuild builds
//! every case from this one manifest, so every expansion goes through the
//! crate path the macros find there (`::realtime`). Most cases start with
//! `extern crate realtime as primus;` to read like ordinary user code;
//! `tests/pass/renamed_dependency.rs` uses the new name only, and
//! `tests/pass/client_reexports_only.rs` uses primus only through
//! `primus_client::primus`.
