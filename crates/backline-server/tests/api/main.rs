//! Black-box API tests: a real server on a free port, a fresh SQLite file per
//! test, real HTTP requests and real WebSocket connections.

mod accounts;
mod admin_console;
mod auth_hardening;
mod authz_matrix;
mod binary;
mod cluster;
mod cluster_failures;
mod cluster_haproxy;
mod compliance;
mod consultation_followup;
mod docs;
mod durability;
mod errors;
mod group_consultations;
mod helpers;
mod history_hardening;
mod http_hardening;
mod import;
mod input_hardening;
mod interactions;
mod readiness;
mod rest_fuzz;
mod scim;
mod sessions;
mod sso;
mod store_faults;
mod stream;
mod supervision;
mod voice;
mod webhooks;
mod ws_fuzz;
mod ws_hardening;
