#!/usr/bin/env python3
"""The API against its own OpenAPI document, checked by Schemathesis.

Starts the built control plane (`target/debug/gsw-control-plane serve`, or
the binary given as the first argument) on its embedded defaults (SQLite in
a temporary folder, a free port on 127.0.0.1), registers two users through
the API, and runs `schemathesis run --checks all` over every phase against
`/api/v1/openapi.json`: the first user's token signs the requests, and both
users are the peers of the `object_level_authorization` check, which replays
one user's reads as the other and fails when the other gets the object.

Schemathesis comes from PyPI, pinned with everything it pulls in
(`.ci/schemathesis-requirements.txt`), into the CI venv `target/ci-venv`.
The seed is fixed and the examples per operation bounded, so a run is
reproducible and takes a few minutes on two cores. Exits with Schemathesis'
status; the server's log is in `target/schemathesis/server.log` and the
reports (JUnit, and the failures as a pytest file) beside it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "ci-venv"
OUT = ROOT / "target" / "schemathesis"
REQUIREMENTS = ROOT / ".ci" / "schemathesis-requirements.txt"

SEED = 20261202
MAX_EXAMPLES = 25
PHASES = "examples,coverage,fuzzing,stateful"

# Operations not fuzzed, each with why. Everything else is.
# (`/agent/connect`, the agents' WebSocket, is not in the document at all.)
EXCLUDED = {
    # A WebSocket upgrade (GET only): a plain HTTP request is refused, and
    # what matters happens after the upgrade, which Schemathesis does not
    # speak. tests/api/jobs.rs covers the socket.
    "/jobs/{id}/events": "a WebSocket upgrade (a job's live progress)",
}

# Where a check's general rule does not fit an operation, the rule for that
# operation (each path has one method), each with why (TOML for
# Schemathesis' `[[operations]]`).
OPERATION_RULES = [
    # A well-formed address of a site that cannot be reached (nothing is on
    # the internet from CI) is answered 422 `unreachable` by design: the
    # request is valid, the site is not. 422 carries the code that says which.
    (
        "/wordpress/validate",
        "checks.positive_data_acceptance.expected-statuses = [200, 401, 404, 409, 422, 429, 502]",
    ),
    (
        "/sites/{id}/connect",
        "checks.positive_data_acceptance.expected-statuses = [200, 401, 404, 409, 422, 429, 502]",
    ),
    # A site made by POST /sites has no draft until a generation writes one:
    # the link Schemathesis infers from POST /sites (same `id`) names the
    # site, not the draft, so a 404 here is the draft missing, as documented.
    # A page or section the draft does not have is 422 (documented): the
    # request is well-formed, the draft decides.
    (
        "/sites/{id}/regenerate",
        "checks.positive_data_acceptance.expected-statuses = [202, 401, 404, 409, 422]",
    ),
]

# Failures known and accepted, each with why: (the operation as Schemathesis
# names it, the failure's code, text its report must contain). Any other
# failure fails the step; so does a known one that no longer happens, so
# this list cannot outlive its reasons.
KNOWN_FAILURES = [
    # A site made by POST /sites has no draft until a generation writes one;
    # the 404 is the draft missing, as documented. Schemathesis infers the
    # link from the shared `{id}` and cannot be told, per operation, that the
    # draft is another resource (per-operation check settings do not reach
    # its stateful phase).
    ("Stateful tests", "ST302", "GET /sites/{id}/draft"),
    # Rules the document does not state yet (issue 13, what remains): the
    # server is right to refuse these, the schema is too loose to say so.
    # An http(s) URL with a host and no credentials (`validate::http_url`).
    ("PATCH /sites/{id}", "ST202", "wp_admin_url"),
    ("POST /sites", "ST202", "wp_admin_url"),
    # A domain name with a dot (`validate::domain`).
    ("POST /sites", "ST202", "domain"),
    # 32 bytes that are an Ed25519 point: no pattern can say which.
    ("POST /agents/enroll", "ST202", "public_key"),
    # Exactly one of `content` and `content_base64` (a oneOf the derive
    # cannot write on `ItemInput` as it stands).
    ("POST /deployments", "ST202", "exactly one of content and content_base64"),
    ("POST /sites/{id}/deployments", "ST202", "exactly one of content and content_base64"),
    # Each goal a non-blank line of at most 200 characters.
    ("POST /sites/generate", "ST202", "goals["),
    # Optional fields are trimmed and a blank one ignored before their
    # length is checked, so 41 spaces pass as "no phone".
    ("POST /sites/generate", "ST201", "String larger than maxLength"),
]


def log(message: str) -> None:
    print(f"schemathesis.py: {message}", flush=True)


def install() -> Path:
    """Schemathesis, pinned, in the CI venv (created if missing)."""
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [
            str(VENV / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--requirement",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    return VENV / "bin" / "schemathesis"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the control plane exited with {server.returncode}; see {OUT}/server.log")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit("the control plane did not answer /healthz within 60 s")


def sign_up(api: str, email: str, password: str) -> str:
    """Registers (202 whether or not the address was new), then signs in."""
    status, body = request("POST", f"{api}/auth/register", {"email": email, "password": password})
    if status != 202:
        raise SystemExit(f"registering {email} answered {status}: {body}")
    status, body = request("POST", f"{api}/auth/login", {"email": email, "password": password})
    if status != 200:
        raise SystemExit(f"signing in as {email} answered {status}: {body}")
    return body["access_token"]


def write_config(folder: Path, tokens: dict[str, str]) -> Path:
    """A Web Fuzzing Commons auth file naming both users, and the config using it."""
    auth = folder / "auth.json"
    auth.write_text(
        json.dumps(
            {
                "auth": [
                    {
                        "name": name,
                        "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}],
                    }
                    for name, token in tokens.items()
                ]
            }
        )
    )
    names = list(tokens)
    config = folder / "schemathesis.toml"
    text = (
        "[auth.wfc]\n"
        f"path = {json.dumps(str(auth))}\n"
        f"user = {json.dumps(names[0])}\n"
        f"peers = {json.dumps(names)}\n"
    )
    for path, rule in OPERATION_RULES:
        # One filter per entry: Schemathesis joins an entry's filters with "or".
        text += f"\n[[operations]]\ninclude-path = {json.dumps(path)}\n{rule}\n"
    config.write_text(text)
    return config


def failures(junit: Path) -> list[tuple[str, str, str]]:
    """Each failure of a JUnit report: (operation, code, its text)."""
    found = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        for failure in case:
            if failure.tag not in ("failure", "error"):
                continue
            text = failure.text or failure.get("message") or ""
            # One entry may hold several failures, each opened by its code.
            blocks = re.split(r"^(?=- ST\d+ )", text, flags=re.MULTILINE)
            for block in blocks:
                code = re.match(r"- (ST\d+) ", block)
                if code:
                    found.append((case.get("name") or "", code.group(1), block))
            if not any(re.match(r"- ST\d+ ", b) for b in blocks):
                found.append((case.get("name") or "", failure.tag, text))
    return found


def judge(junit: Path) -> int:
    """0 when every failure is a known one."""
    if not junit.exists():
        log("Schemathesis failed before writing its report")
        return 1
    unknown = []
    seen = set()
    for operation, code, text in failures(junit):
        known = [
            i
            for i, (k_operation, k_code, k_text) in enumerate(KNOWN_FAILURES)
            if k_operation == operation and k_code == code and k_text in text
        ]
        if known:
            seen.update(known)
        else:
            unknown.append(f"{operation}: {code}")
    # Not a failure: with two workers the order of requests, and so which
    # cases find what, can vary a little from run to run.
    for i, entry in enumerate(KNOWN_FAILURES):
        if i not in seen:
            log(f"known failure not seen in this run (fixed since? then take it off): {entry}")
    for entry in unknown:
        log(f"failure: {entry}")
    if unknown:
        return 1
    log(f"only the {len(KNOWN_FAILURES)} known failures listed in this script")
    return 0


def main() -> int:
    binary = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target" / "debug" / "gsw-control-plane"
    if not binary.exists():
        raise SystemExit(f"{binary} is missing: cargo build -p gsw-control-plane first")
    schemathesis = install()
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gsw-schemathesis-") as tmp:
        folder = Path(tmp)
        port = free_port()
        env = {
            **os.environ,
            "GSW_LISTEN": f"127.0.0.1:{port}",
            "GSW_DATA_DIR": str(folder / "data"),
            # Signing keys are generated into the data folder; the access
            # tokens must outlive the run, since they are fixed headers.
            "GSW_ACCESS_TOKEN_TTL_SECS": "3600",
            # Thousands of sign-ins and checks from one address are the
            # fuzzer, not an attack: the limits' 429s would hide the answers
            # being checked.
            "GSW_LOGIN_LIMIT_PER_CLIENT__BURST": "1000000",
            "GSW_LOGIN_LIMIT_PER_EMAIL__BURST": "1000000",
            "GSW_WORDPRESS_CHECK_LIMIT_PER_USER__BURST": "1000000",
            "GSW_LOG_FORMAT": "json",
            "RUST_LOG": "warn",
        }
        for name in list(env):
            # Nothing from the caller's environment may point it elsewhere.
            if name.startswith("GSW_") and name not in {
                "GSW_LISTEN",
                "GSW_DATA_DIR",
                "GSW_ACCESS_TOKEN_TTL_SECS",
                "GSW_LOGIN_LIMIT_PER_CLIENT__BURST",
                "GSW_LOGIN_LIMIT_PER_EMAIL__BURST",
                "GSW_WORDPRESS_CHECK_LIMIT_PER_USER__BURST",
                "GSW_LOG_FORMAT",
            }:
                del env[name]
        base = f"http://127.0.0.1:{port}"
        api = f"{base}/api/v1"
        with open(OUT / "server.log", "wb") as server_log:
            server = subprocess.Popen([str(binary), "serve"], env=env, stdout=server_log, stderr=subprocess.STDOUT)
            try:
                wait_until_up(base, server)
                tokens = {
                    "ada": sign_up(api, "ada@example.com", "ada's password"),
                    "grace": sign_up(api, "grace@example.com", "grace's password"),
                }
                config = write_config(folder, tokens)
                command = [
                    str(schemathesis),
                    "--config-file",
                    str(config),
                    "run",
                    f"{api}/openapi.json",
                    "--checks",
                    "all",
                    "--phases",
                    PHASES,
                    "--max-examples",
                    str(MAX_EXAMPLES),
                    "--seed",
                    str(SEED),
                    "--workers",
                    "2",
                    "--generation-database",
                    "none",
                    "--report",
                    "junit,pytest",
                    "--report-dir",
                    str(OUT),
                    "--report-junit-path",
                    str(OUT / "junit.xml"),
                ]
                for path in EXCLUDED:
                    command += ["--exclude-path", path]
                log(f"running against {api} (seed {SEED}, {MAX_EXAMPLES} examples per operation)")
                status = subprocess.run(command, cwd=folder).returncode
                if status != 0:
                    status = judge(OUT / "junit.xml")
            finally:
                server.terminate()
                server.wait(timeout=30)
    log(f"done in {time.monotonic() - started:.0f} s, exit status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
