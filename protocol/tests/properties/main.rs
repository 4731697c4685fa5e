//! Property tests for everything in the protocol that reads untrusted bytes:
//! bundles, agent frames and block markup.
//!
//! `cargo test -p gsw-protocol --test properties` runs each property on
//! proptest's default 256 cases (fewer where a case signs a bundle); set
//! `PROPTEST_CASES` for a long run (see `docs/benchmarks.md`).

mod blocks;
mod bundle;
mod frame;

use proptest::test_runner::Config;

/// `cases` by default, or `PROPTEST_CASES` when it is set.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        // Rare rejected inputs (a renamed closer equal to the old name)
        // must not end a long run.
        max_global_rejects: cases.max(1024),
        max_local_rejects: cases.saturating_mul(4).max(65_536),
        ..Config::default()
    }
}
