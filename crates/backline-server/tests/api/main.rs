//! Black-box API tests: a real server on a free port, a fresh SQLite file per
//! test, real HTTP requests and real WebSocket connections.

mod accounts;
mod binary;
mod cluster;
mod durability;
mod errors;
mod helpers;
mod history_hardening;
mod import;
mod interactions;
mod sessions;
mod store_faults;
mod stream;
mod voice;
mod webhooks;
