//! Integration tests: the real `ctl` binary against a real LLM server
//! (llama.cpp through llama-cpp-python), with real processes killed for real.

mod alerts;
mod api;
mod cli;
mod conformance;
mod crash;
mod e2e;
mod faults;
mod firstrun;
mod fuzz_corpus;
mod gateway;
mod helper;
mod limits;
mod mcp;
mod mcp_servers;
mod pg;
mod provenance;
mod rag;
mod search;
mod secrets;
mod skills;
mod ssrf;
mod tool_jobs;
mod tools;
mod traces;
mod ui;
