//! The layers of `primus/src` import only downward.
//!
//! Each top-level module of the crate is a layer (`ARCHITECTURE.md` at the
//! repository root explains them). This test reads every source file, finds
//! each `crate::…` path outside comments, and fails when a module reaches a
//! layer above its own, or when `super::super` climbs out of a layer. The
//! crate root (`lib.rs`) is the facade that re-exports the public items and
//! is not a layer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, from the ground up. A module may use its own layer and the
/// ones before it.
const LAYERS: &[&str] = &[
    "lock",
    "telemetry",
    "wire",
    "parser",
    "message",
    "spark",
    "cluster",
    "pipeline",
    "middleware",
    "transformer",
    "registry",
    "server",
    "plugins",
    "fuzzing",
];

/// Names the crate root re-exports, with the layer that defines them.
/// `None`: defined by the root itself and usable everywhere.
const ROOT_ITEMS: &[(&str, Option<&str>)] = &[
    ("BoxError", Some("spark")),
    ("Frame", Some("wire")),
    ("FrameKind", Some("wire")),
    ("protocol", Some("wire")),
    ("Message", Some("message")),
    ("event", Some("message")),
    ("transform", Some("message")),
    ("Event", Some("message")),
    ("Payload", Some("message")),
    ("Request", Some("message")),
    ("Spark", Some("spark")),
    ("State", Some("pipeline")),
    ("Plugin", Some("pipeline")),
    ("PluginSetup", Some("pipeline")),
    ("PluginError", Some("pipeline")),
    ("typescript", Some("registry")),
    ("Server", Some("server")),
    ("ServerBuilder", Some("server")),
    ("BuildError", Some("server")),
    ("Cors", Some("server")),
    ("Destroy", Some("server")),
    ("AuthError", Some("server")),
];

/// One import that goes the wrong way.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    message: String,
}

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

/// The layer a `crate::<name>` path lands in (`Ok(None)` for root items
/// usable everywhere).
fn layer_of(name: &str) -> Result<Option<&'static str>, String> {
    if let Some(layer) = LAYERS.iter().find(|l| **l == name) {
        return Ok(Some(layer));
    }
    match ROOT_ITEMS.iter().find(|(item, _)| *item == name) {
        Some((_, layer)) => Ok(*layer),
        None => Err(format!(
            "`crate::{name}` is neither a layer nor a known root item; add it to ROOT_ITEMS in {}",
            file!()
        )),
    }
}

/// The first segments of the paths after each `crate::` in `code`
/// (`crate::a::b` gives `a`; `crate::{a::x, b}` gives `a` and `b`).
fn crate_roots(code: &str) -> Vec<String> {
    let mut roots = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        // `primus_crate::x` or `$crate::` are not this crate's paths.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            // Top-level entries of the group.
            let mut depth = 0;
            let mut entry = String::new();
            for c in group[..end].chars().chain(std::iter::once(',')) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let name: String = entry
                            .trim()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() && name != "self" {
                            roots.push(name);
                        }
                        entry.clear();
                        continue;
                    }
                    _ => {}
                }
                entry.push(c);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                roots.push(name);
            }
        }
    }
    roots
}

/// Removes `//` comments (doc comments too: docs may link anywhere).
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    }
}

/// Checks one file of layer `layer`.
fn check_file(file: &str, layer: &str, source: &str) -> Vec<Violation> {
    let own = rank(layer).expect("a known layer");
    let mut found = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let code = code_of(line);
        let mut report = |message: String| {
            found.push(Violation {
                file: file.to_owned(),
                line: index + 1,
                message,
            })
        };
        if code.contains("super::super") {
            report("`super::super` climbs out of the module; use a `crate::` path".to_owned());
        }
        for root in crate_roots(code) {
            match layer_of(&root) {
                Err(message) => report(message),
                Ok(Some(target)) if rank(target).is_some_and(|r| r > own) => report(format!(
                    "layer `{layer}` uses `crate::{root}` of the higher layer `{target}`"
                )),
                Ok(_) => {}
            }
        }
    }
    found
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

#[test]
fn layers_import_only_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut per_layer: BTreeMap<String, usize> = BTreeMap::new();
    let mut violations = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a UTF-8 path");
        let layer = first.trim_end_matches(".rs");
        if layer == "lib" {
            continue;
        }
        assert!(
            rank(layer).is_some(),
            "`{}` is in no layer: add its module to LAYERS in {} (and to ARCHITECTURE.md)",
            relative.display(),
            file!()
        );
        *per_layer.entry(layer.to_owned()).or_default() += 1;
        let source = std::fs::read_to_string(path).expect("readable source");
        violations.extend(check_file(&relative.display().to_string(), layer, &source));
    }
    assert!(
        violations.is_empty(),
        "imports that run up the layers:\n{}",
        violations
            .iter()
            .map(|v| format!("  {}:{}: {}", v.file, v.line, v.message))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Every layer has files: a renamed folder cannot make the check vacuous.
    for layer in LAYERS {
        assert!(
            per_layer.contains_key(*layer),
            "no source file in layer `{layer}`"
        );
    }
}

#[test]
fn the_check_finds_what_runs_up() {
    let source = "use crate::server::Server;\nuse crate::{wire::Frame, pipeline::{Connection, Work}};\n\
                  // crate::server in a comment is fine\nlet x = crate::Spark::id;\nuse super::super::x;\n\
                  use crate::mystery;\n";
    let found = check_file("spark/mod.rs", "spark", source);
    let lines: Vec<(usize, &str)> = found.iter().map(|v| (v.line, v.message.as_str())).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[0].0 == 1 && lines[0].1.contains("`server`"));
    assert!(lines[1].0 == 2 && lines[1].1.contains("`pipeline`"));
    assert!(lines[2].0 == 5 && lines[2].1.contains("super::super"));
    assert!(lines[3].0 == 6 && lines[3].1.contains("mystery"));
    assert!(check_file("server/mod.rs", "server", source)
        .iter()
        .all(|v| !v.message.contains("higher layer")));
}
