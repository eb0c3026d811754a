//! The TypeScript declarations of the browser client
//! (`primus/src/server/client_js/primus.d.ts`, served as
//! `<pathname>/primus.client.d.ts`) checked with `tsc --strict`: a sample
//! using the typed chat events must compile, and sending a number as the
//! chat's `say` payload must not.

use primus_tests::browser;
// The chat's events and handlers: the generated typings come from them.
use chat_server as _;
use std::process::{Command, Output};

/// `npx tsc --noEmit --strict <file>` in `tests/browser`.
fn tsc(file: &str) -> Output {
    browser::ensure_modules();
    Command::new("npx")
        .args(["--no", "tsc", "--noEmit", "--strict", file])
        .current_dir(browser::dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run npx (Node.js 20+ is required): {e}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_sample_type_checks() {
    let output = tsc("typecheck/sample.ts");
    assert!(
        output.status.success(),
        "tsc rejected typecheck/sample.ts ({}):\n{}",
        output.status,
        text(&output)
    );
}

#[test]
fn a_wrong_payload_type_is_rejected() {
    let source =
        std::fs::read_to_string(browser::dir().join("typecheck/negative.ts")).expect("read negative.ts");
    let line = source
        .lines()
        .position(|l| l.contains("primus.send('say', 42)"))
        .expect("the offending line in negative.ts")
        + 1;
    let output = tsc("typecheck/negative.ts");
    let report = text(&output);
    assert!(
        !output.status.success(),
        "tsc accepted typecheck/negative.ts:\n{report}"
    );
    let errors: Vec<&str> = report.lines().filter(|l| l.contains("error TS")).collect();
    assert_eq!(errors.len(), 1, "exactly one error expected:\n{report}");
    let error = errors[0];
    assert!(
        error.starts_with(&format!("typecheck/negative.ts({line},")),
        "the error must point at line {line}:\n{report}"
    );
    assert!(
        error.contains("'number' is not assignable to parameter of type 'string'"),
        "unexpected error:\n{report}"
    );
}

/// Writes the typings generated from the chat's Rust events where the
/// `generated-*.ts` samples import them.
fn write_generated_typings() {
    let typings = primus::typescript::typings().expect("typings of the chat events");
    let dir = browser::dir().join("typecheck/generated");
    std::fs::create_dir_all(&dir).expect("create typecheck/generated");
    std::fs::write(dir.join("chat-events.d.ts"), typings).expect("write the typings");
}

#[test]
fn generated_typings_type_check_and_catch_a_wrong_payload() {
    write_generated_typings();
    let typings = primus::typescript::typings().expect("typings");
    assert!(typings.contains("\"say\": string;"), "{typings}");
    assert!(
        typings.contains("\"who\": { data: undefined; reply: Array<string> };"),
        "{typings}"
    );
    let good = tsc("typecheck/generated-sample.ts");
    assert!(
        good.status.success(),
        "tsc rejected the generated sample:\n{}\n{typings}",
        text(&good)
    );
    let bad = tsc("typecheck/generated-negative.ts");
    let report = text(&bad);
    assert!(
        !bad.status.success(),
        "tsc accepted a number for `say`:\n{report}"
    );
    assert!(
        report.contains("typecheck/generated-negative.ts(6,"),
        "the error must point at the send:\n{report}"
    );
}
