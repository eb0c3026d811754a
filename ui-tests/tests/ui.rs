//! Runs the compile-pass and compile-fail cases of the primus macros, and
//! compiles README.md's Rust snippets (see `readme/mod.rs`).

mod readme;

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
    t.compile_fail("tests/fail/*.rs");
    // README.md's ```rust blocks, as one generated file. Last, so adding it
    // renamed none of the other cases' bins; in this `TestCases`, since a
    // second one would share trybuild's project and clobber their builds.
    let readme = readme::snippets();
    if let Ok(file) = &readme {
        t.pass(file);
    }
    drop(t); // runs the cases
    if let Err(problems) = readme {
        panic!("{problems}");
    }
}
