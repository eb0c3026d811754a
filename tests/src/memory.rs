//! The memory of this test process, for tests that check a server running
//! in it gives memory back (or at least does not keep taking more).

/// The resident set size of this process, in KiB (`VmRSS` of
/// `/proc/self/status`; Linux only).
///
/// ```
/// assert!(primus_tests::memory::rss_kib() > 0);
/// ```
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}
