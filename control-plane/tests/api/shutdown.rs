//! The real binary: it says where it listens, and SIGTERM lets an in-flight
//! request finish before the process exits cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The `host:port` in the line a process prints to say where it listens.
pub fn printed_address(line: &str) -> String {
    line.split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned()
}

#[test]
fn sigterm_finishes_in_flight_requests_then_exits() {
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gsw-control-plane"))
        .arg("serve")
        .env("GSW_LISTEN", "127.0.0.1:0")
        .env("GSW_DATA_DIR", data.path())
        .env_remove("GSW_DATABASE_URL")
        .stdout(Stdio::piped())
        .env("GSW_LOG_FORMAT", "text")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("starting gsw-control-plane");

    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address = printed_address(&line);
    // The embedded default: an SQLite file in the data folder.
    assert!(data.path().join("gsw.db").exists());

    // Start a request and stop halfway through its body.
    let body = br#"{"email": "ada@example.com", "password": "correct horse battery staple"}"#;
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/auth/register HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );

    // New connections are no longer accepted while the old one finishes.
    assert!(
        TcpStream::connect(&address).is_err(),
        "still accepting after SIGTERM"
    );

    stream.write_all(&body[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    assert!(
        response.contains("sign in with the password you chose"),
        "{response}"
    );

    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    // Its log went to a file: plain text, no terminal colour codes.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("storage ready"), "{logged}");
    assert!(
        !logged.contains('\x1b'),
        "colour codes in a log file: {logged:?}"
    );
}
