//! The real MCP clients and the SearXNG server `.ci/setup-mcp` installs:
//! the official MCP Python SDK and SearXNG in a venv of their own, and the
//! MCP Inspector CLI from npm. Tests fail (never skip) when they are missing.

use std::path::PathBuf;

fn cache() -> PathBuf {
    std::env::var_os("CTL_TEST_CACHE").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/ctl-test"),
        PathBuf::from,
    )
}

/// The venv's python, with `mcp` and `searx` importable.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("CTL_TEST_MCP_VENV").map_or_else(|| cache().join("mcp-venv"), PathBuf::from);
    let python = venv.join("bin/python");
    assert!(python.is_file(), "{} is missing: run .ci/setup-mcp", python.display());
    python
}

/// The MCP Inspector's CLI.
pub fn inspector() -> PathBuf {
    let bin = cache().join("mcp-inspector/node_modules/.bin/mcp-inspector");
    assert!(bin.is_file(), "{} is missing: run .ci/setup-mcp", bin.display());
    bin
}

/// A script under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}
