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

/// Runs `round` twice and checks that the second left this process' RSS
/// within `slack_kib` of where the first left it. `round(n)` does the work
/// of round `n` (0 or 1), checks that it was cleaned up, and returns how
/// many things (sessions, connections) it held at once, for the message.
///
/// The first round is there because the allocator keeps what was freed:
/// RSS does not go back down after it, but memory that is reused does not
/// grow again, while leaked memory adds up.
///
/// ```no_run
/// # async fn demo() {
/// primus_tests::memory::assert_flat_over_two_rounds(8 * 1024, |round| async move {
///     let _ = round; // open and abandon 10,000 sessions, wait for their cleanup
///     10_000
/// })
/// .await;
/// # }
/// ```
pub async fn assert_flat_over_two_rounds<F, Fut>(slack_kib: u64, mut round: F)
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    round(0).await;
    let before = rss_kib();
    let held = round(1).await;
    let after = rss_kib();
    assert!(
        after < before + slack_kib,
        "RSS {before} KiB after the first round, {after} KiB after the second ({held} held at once)"
    );
}
