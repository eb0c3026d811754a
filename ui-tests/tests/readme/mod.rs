//! README.md's ```` ```rust ```` blocks, compiled with the other cases of
//! `tests/ui.rs`, so a snippet that goes stale fails `cargo test --workspace`.
//!
//! # How
//!
//! [`snippets`] reads `README.md` and writes one Rust file, `README.md.rs`
//! (in `$CARGO_TARGET_TMPDIR/readme-snippets/`), with one module per block;
//! `tests/ui.rs` compiles it as a trybuild `pass` case. **Line N of that
//! file is line N of `README.md`**: a block's lines are copied in place, the
//! context that wraps a block is written on its fence lines, every other
//! line is empty, and the crate's own items come after the README's last
//! line. So a compiler error names the README line (and column) of the
//! mistake: `README.md.rs:450:41` is `README.md` line 450, column 41.
//!
//! Why one file in trybuild: all snippets cost one build (doctests would
//! build and link each snippet on its own), on the dependencies trybuild
//! has already built for the macro cases; in the same `TestCases` as those
//! cases, since two `TestCases` of one package share trybuild's project and
//! bin names and would rebuild each other's first case on every run; a
//! broken snippet fails that test instead of the workspace's build; and the
//! context stays out of the README (doctests would need it there as hidden
//! `# ` lines). The snippets are compiled, not run (the binary's `main` is
//! empty): they start servers and connect to URLs.
//!
//! # Markers
//!
//! Each ```` ```rust ```` block has, on the line right before its fence, an
//! HTML comment (invisible in the rendered README) naming the context that
//! wraps it:
//!
//! ```text
//! <!-- snippet: server-fn -->
//! ```
//!
//! | kind | the block is | in scope |
//! |---|---|---|
//! | `events` | module items: the events the other snippets share (at most one such block) | nothing |
//! | `items` | module items | the context (`context.rs`) |
//! | `server-fn` | the body of an `async fn` returning `Result<(), Box<dyn Error>>` (it may declare items too) | the context; `server: Server`, `spark: Spark`, `url: &str`, `who: String`, `text: String` |
//! | `client-fn` | the same | the context; `client: primus_client::Client`, `mut events: primus_client::Events` |
//!
//! The context (`context.rs`, next to this file) re-exports the `events`
//! block and adds what the README uses without defining (`ServerEvent`,
//! `Rooms`, `echo`, `too_many`). Library names are not imported for a
//! snippet: it `use`s them, as a reader's code must. A block without a
//! marker, with an unknown kind, or with fence attributes (`rust,ignore`)
//! fails the test, as does a marker that is not right before a block.
//!
//! This package depends on primus as `realtime`; the generated file starts
//! the crate with `extern crate realtime as primus;`, so snippets read
//! `primus::…` as in the README.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// How a block is wrapped; named by its marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Events,
    Items,
    ServerFn,
    ClientFn,
}

const KINDS: &str = "events, items, server-fn, client-fn";

/// The `?`-friendly return type of the function kinds.
const FN_RESULT: &str = "::std::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>>";

impl Kind {
    fn from_name(name: &str) -> Option<Kind> {
        match name {
            "events" => Some(Kind::Events),
            "items" => Some(Kind::Items),
            "server-fn" => Some(Kind::ServerFn),
            "client-fn" => Some(Kind::ClientFn),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Events => "events",
            Kind::Items => "items",
            Kind::ServerFn => "server-fn",
            Kind::ClientFn => "client-fn",
        }
    }

    /// What replaces the opening fence (one line).
    fn open(self, module: &str) -> String {
        let module = format!("#[allow(unused)] mod {module} {{");
        match self {
            Kind::Events => module,
            Kind::Items => format!("{module} use super::context::*;"),
            Kind::ServerFn => format!(
                "{module} use super::context::*; pub async fn snippet(server: ::primus::Server, \
                 spark: ::primus::Spark, url: &str, who: String, text: String) -> {FN_RESULT} {{"
            ),
            Kind::ClientFn => format!(
                "{module} use super::context::*; pub async fn snippet(client: ::primus_client::Client, \
                 mut events: ::primus_client::Events) -> {FN_RESULT} {{"
            ),
        }
    }

    /// What replaces the closing fence (one line).
    fn close(self) -> &'static str {
        match self {
            Kind::Events | Kind::Items => "}",
            Kind::ServerFn | Kind::ClientFn => "Ok(()) } }",
        }
    }
}

/// One ```` ```rust ```` block: its fence lines (1-based) and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    open: usize,
    close: usize,
    kind: Kind,
}

impl Block {
    fn module(&self) -> String {
        format!("readme_line_{}", self.open)
    }
}

/// A README problem, at a line.
#[derive(Debug, PartialEq, Eq)]
struct Problem {
    line: usize,
    what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "README.md:{}: {}", self.line, self.what)
    }
}

/// The marker's kind name, if `line` is a marker.
fn marker(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim()
        .strip_prefix("snippet:")
        .map(str::trim)
}

/// Finds the Rust blocks and their markers.
fn blocks(readme: &str) -> Result<Vec<Block>, Vec<Problem>> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut problems = Vec::new();
    // The open fence: (line, backticks, the block's kind if it is Rust).
    let mut fence: Option<(usize, usize, Option<Kind>)> = None;
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        let ticks = trimmed.len() - trimmed.trim_start_matches('`').len();
        if let Some((open, width, kind)) = fence {
            if ticks >= width && trimmed[ticks..].trim().is_empty() {
                if let Some(kind) = kind {
                    blocks.push(Block {
                        open,
                        close: number,
                        kind,
                    });
                }
                fence = None;
            }
            continue;
        }
        let previous = index.checked_sub(1).map(|i| lines[i]);
        if ticks < 3 {
            if let Some(name) = marker(line) {
                let next = lines.get(index + 1).map(|l| l.trim_start());
                if !next.is_some_and(|l| l.starts_with("```rust")) {
                    problems.push(Problem {
                        line: number,
                        what: format!("marker `{name}` is not right before a ```rust fence"),
                    });
                }
            }
            continue;
        }
        let language = trimmed[ticks..].trim();
        let is_rust = language.split([',', ' ']).next() == Some("rust");
        let kind = if !is_rust {
            None
        } else if language != "rust" {
            problems.push(Problem {
                line: number,
                what: format!("```{language}: README snippets are all compiled; write ```rust"),
            });
            None
        } else {
            match previous.and_then(marker) {
                Some(name) => match Kind::from_name(name) {
                    Some(kind) => Some(kind),
                    None => {
                        problems.push(Problem {
                            line: number - 1,
                            what: format!("unknown snippet kind `{name}` (kinds: {KINDS})"),
                        });
                        None
                    }
                },
                None => {
                    problems.push(Problem {
                        line: number,
                        what: format!(
                            "a ```rust block needs a marker on the line before it, \
                             `<!-- snippet: KIND -->` (kinds: {KINDS}; see ui-tests/tests/readme/mod.rs)"
                        ),
                    });
                    None
                }
            }
        };
        fence = Some((number, ticks, kind));
    }
    if let Some((open, _, _)) = fence {
        problems.push(Problem {
            line: open,
            what: "this fence is never closed".to_owned(),
        });
    }
    if let Some(second) = blocks.iter().filter(|b| b.kind == Kind::Events).nth(1) {
        problems.push(Problem {
            line: second.open,
            what: "a second `events` block; the other snippets share one".to_owned(),
        });
    }
    match problems.is_empty() {
        true => Ok(blocks),
        false => Err(problems),
    }
}

/// The Rust file: line N is README line N (see the module documentation),
/// then the shared context.
fn generate(readme: &str, blocks: &[Block], context: &Path) -> String {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out: Vec<String> = vec![String::new(); lines.len()];
    if let Some(first) = out.first_mut() {
        *first = "// Generated from README.md by ui-tests/tests/readme/mod.rs; \
                  line N is README.md's line N."
            .to_owned();
    }
    for block in blocks {
        out[block.open - 1] = block.kind.open(&block.module());
        for line in block.open + 1..block.close {
            out[line - 1] = lines[line - 1].to_owned();
        }
        out[block.close - 1] = block.kind.close().to_owned();
    }
    out.push(String::new());
    out.push("// ---- not README lines: the crate around the snippets ----".to_owned());
    out.push("extern crate realtime as primus;".to_owned());
    out.push(format!("#[path = {:?}]", context.display().to_string()));
    out.push("mod context;".to_owned());
    if let Some(events) = blocks.iter().find(|b| b.kind == Kind::Events) {
        out.push(format!("use {} as shared_events;", events.module()));
    } else {
        out.push("mod shared_events {}".to_owned());
    }
    out.push("fn main() {} // compiled, not run".to_owned());
    out.push(String::new());
    out.join("\n")
}

fn list(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(|b| format!("  README.md:{}-{} ({})", b.open, b.close, b.kind.name()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes README.md's Rust blocks as one file and returns its path, for
/// trybuild to compile; `Err` names each README problem (missing marker, …)
/// with its line.
pub fn snippets() -> Result<PathBuf, String> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme_path = manifest_dir.join("../README.md");
    let readme = fs::read_to_string(&readme_path)
        .map_err(|e| format!("cannot read {}: {e}", readme_path.display()))?;
    let blocks = blocks(&readme).map_err(|problems| {
        let problems: Vec<String> = problems.iter().map(Problem::to_string).collect();
        format!("README.md's Rust blocks:\n{}", problems.join("\n"))
    })?;
    if blocks.is_empty() {
        return Err("README.md has no ```rust block".to_owned());
    }

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-snippets");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let file = dir.join("README.md.rs");
    let source = generate(&readme, &blocks, &manifest_dir.join("tests/readme/context.rs"));
    // Rewritten only when it changed: cargo then finds the case's build
    // fresh (its mtime is unchanged) and does not compile it again.
    if fs::read_to_string(&file).ok().as_deref() != Some(source.as_str()) {
        fs::write(&file, source).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    println!(
        "README.md's Rust blocks, compiled as {} (line N is README.md's line N):\n{}",
        file.display(),
        list(&blocks)
    );
    Ok(file)
}

#[test]
fn blocks_are_found_with_their_markers() {
    let readme = "# title\n\n<!-- snippet: events -->\n```rust\nenum E {}\n```\n\n```sh\nls\n```\n\
                  <!-- snippet: server-fn -->\n```rust\nlet x = 1;\n```\n";
    assert_eq!(
        blocks(readme).unwrap(),
        vec![
            Block {
                open: 4,
                close: 6,
                kind: Kind::Events
            },
            Block {
                open: 12,
                close: 14,
                kind: Kind::ServerFn
            },
        ]
    );
}

#[test]
fn problems_name_their_readme_line() {
    let readme = "text\n```rust\nfn f() {}\n```\n<!-- snippet: nope -->\n```rust\n```\n\
                  <!-- snippet: items -->\n\n```rust,ignore\n```\n```rust\n";
    let problems: Vec<String> = blocks(readme)
        .unwrap_err()
        .iter()
        .map(Problem::to_string)
        .collect();
    assert_eq!(problems.len(), 6, "{problems:#?}");
    assert!(problems[0].starts_with("README.md:2: a ```rust block needs a marker"));
    assert!(problems[1].starts_with("README.md:5: unknown snippet kind `nope`"));
    assert!(problems[2].starts_with("README.md:8: marker `items` is not right before"));
    assert!(problems[3].starts_with("README.md:10: ```rust,ignore"));
    assert!(problems[4].starts_with("README.md:12: a ```rust block needs a marker"));
    assert_eq!(problems[5], "README.md:12: this fence is never closed");
}

#[test]
fn generated_lines_are_readme_lines() {
    let readme = "# t\n<!-- snippet: items -->\n```rust\nfn one() {}\n  fn two() {}\n```\nend\n";
    let blocks = blocks(readme).unwrap();
    let generated = generate(readme, &blocks, Path::new("/c.rs"));
    let lines: Vec<&str> = generated.lines().collect();
    assert!(lines[0].starts_with("// Generated from README.md"));
    assert_eq!(lines[1], "");
    assert_eq!(
        lines[2],
        "#[allow(unused)] mod readme_line_3 { use super::context::*;"
    );
    assert_eq!(lines[3], "fn one() {}");
    assert_eq!(lines[4], "  fn two() {}");
    assert_eq!(lines[5], "}");
    assert_eq!(lines[6], "");
    assert!(generated.contains("mod shared_events {}"));
}
