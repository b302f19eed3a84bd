//! Backline's wire types: everything that crosses the network to a client.
//!
//! This crate is an API boundary: the web desktop (through the generated
//! TypeScript in `web/src/protocol/generated.ts`), the load tool and
//! integrations depend on it. It holds plain serde types and the error-code
//! table, and nothing that does I/O. The prose contract is `docs/protocol.md`.
//!
//! Layout, in reading order: [`error`] (the code table), [`model`] (accounts,
//! status, directory, sessions, transcript), [`events`] (the per-user event
//! stream), [`frames`] (WebSocket frames), [`interactions`] (interactions,
//! contacts, history, the platform API, webhooks), [`voice`] (calls and
//! WebRTC signalling), [`admin`] (administration bodies),
//! [`typescript`] (the generator of the TypeScript file).

pub mod admin;
pub mod error;
pub mod events;
pub mod frames;
pub mod interactions;
pub mod model;
pub mod typescript;
pub mod voice;

pub use error::{ErrorBody, ErrorCode};
