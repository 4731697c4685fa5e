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
        ..Config::default()
    }
}
