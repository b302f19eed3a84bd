//! HTTP policy: the listener (connection cap, time-outs, graceful drain), the
//! security headers, the origin rule for browser requests, and the per-request
//! time budget of the REST API.

pub mod budget;
pub mod headers;
pub mod listener;
pub mod origin;
