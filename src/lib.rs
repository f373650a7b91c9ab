//! ctl: a self-hosted control plane for LLM jobs.
//!
//! A job goes into a durable filesystem queue (`ctl submit`), a worker runs it
//! against a model backend and appends its tokens to an event log (`ctl
//! worker`), and any number of readers follow that log (`ctl tail`). The
//! contract between those parts is the data directory: see [`home`],
//! [`queue`] and [`events`].

pub mod alerts;
pub mod api;
pub mod backend;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod config;
pub mod diff;
pub mod events;
pub mod firstrun;
pub mod home;
pub mod jobs;
pub mod limits;
pub mod mcp;
pub mod provider;
pub mod queue;
pub mod rag;
pub mod secrets;
pub mod skills;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod tools;
pub mod web;
pub mod worker;
