//! `wp-agent`: the gsWstudio sidecar on a WordPress host.
//!
//! It will dial out to the control plane over one WebSocket and apply signed
//! bundles; enrollment (`wp-agent enroll`) and the connection (`wp-agent run`)
//! arrive with the fleet-connection work. Until then this binary only reports
//! which protocol it speaks, so hosts can be checked for the right build.
#![forbid(unsafe_code)]

fn main() {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("--version" | "-V" | "version") => {
            println!(
                "wp-agent {} (API v{})",
                env!("CARGO_PKG_VERSION"),
                gsw_protocol::API_VERSION
            );
        }
        _ => {
            eprintln!("usage: wp-agent --version");
            std::process::exit(2);
        }
    }
}
