//! Integration tests: the real `ctl` binary against a real LLM server
//! (llama.cpp through llama-cpp-python), with real processes killed for real.

mod alerts;
mod api;
mod cli;
mod crash;
mod e2e;
mod faults;
mod firstrun;
mod fuzz_corpus;
mod helper;
mod limits;
mod provenance;
mod secrets;
mod skills;
mod traces;
mod ui;
