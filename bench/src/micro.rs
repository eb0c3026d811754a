//! The microbenchmarks: `primus/benches/parser.rs` (criterion), run through
//! `cargo bench` and read back from criterion's `estimates.json` files.

use crate::servers::{target_dir, workspace_root};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::Command;

/// One microbenchmark's mean time per iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct MicroResult {
    /// Criterion's id, e.g. `json/inspect/16KiB`.
    pub id: String,
    /// Mean nanoseconds per iteration.
    pub mean_ns: f64,
    /// Bytes processed per iteration, when the benchmark declares it.
    pub bytes: Option<u64>,
}

/// Where criterion writes its results for this suite.
pub fn criterion_home() -> PathBuf {
    target_dir().join("primus-bench").join("criterion")
}

/// Runs `cargo bench -p primus --bench parser` and collects the means.
pub async fn run(quick: bool) -> Result<Vec<MicroResult>, String> {
    let home = criterion_home();
    let _ = std::fs::remove_dir_all(&home);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let timing: &[&str] = if quick {
        &["--warm-up-time", "0.5", "--measurement-time", "1"]
    } else {
        &["--warm-up-time", "1", "--measurement-time", "3"]
    };
    eprintln!("running the microbenchmarks (cargo bench -p primus --bench parser)…");
    let status = Command::new(cargo)
        .args(["bench", "-p", "primus", "--bench", "parser", "--"])
        .args(timing)
        .env("CRITERION_HOME", &home)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .status()
        .await
        .map_err(|e| format!("cannot run cargo bench: {e}"))?;
    if !status.success() {
        return Err(format!("cargo bench failed ({status})"));
    }
    let mut results = Vec::new();
    collect(&home, &mut results)?;
    results.sort_by(|a, b| a.id.cmp(&b.id));
    if results.is_empty() {
        return Err(format!("no criterion results under {}", home.display()));
    }
    Ok(results)
}

fn collect(dir: &Path, results: &mut Vec<MicroResult>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(result) = read_result(&path) {
                results.push(result);
            }
        } else if path.file_name().is_some_and(|n| n != "report") {
            collect(&path, results)?;
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn read_result(new: &Path) -> Option<MicroResult> {
    let benchmark = read_json(&new.join("benchmark.json"))?;
    let estimates = read_json(&new.join("estimates.json"))?;
    Some(MicroResult {
        id: benchmark.get("full_id")?.as_str()?.to_owned(),
        mean_ns: estimates.get("mean")?.get("point_estimate")?.as_f64()?,
        bytes: benchmark.get("throughput").and_then(|t| t.get("Bytes")?.as_u64()),
    })
}
