//! The `backline` server: REST + WebSocket API, the web desktop, and the admin commands.
//!
//! This is the only crate that knows HTTP. Layout, in reading order:
//! [`config`] (layered configuration), [`client_addr`] (the client's address behind proxies), [`startup`] (build and run),
//! [`http`] (listener limits and time-outs, security headers, the origin rule, the request budget),
//! [`state`] (shared state, authentication extractors), [`error`] (the one
//! mapping from errors to answers), [`rest`] (REST handlers and OpenAPI),
//! [`ws`] (the desktop socket), [`web`] (desktop assets), [`demo`] (demo organisation),
//! [`simulate`] (a stand-in platform), [`import`] (contacts and history files).

pub mod client_addr;
pub mod config;
pub mod demo;
pub mod error;
pub mod http;
pub mod import;
pub mod rest;
pub mod simulate;
pub mod startup;
pub mod state;
pub mod web;
pub mod ws;
