//! Incoming webhook triggers, without a transport: what a webhook trigger is configured
//! with, how an incoming request becomes the execution input, and how its Standard Webhooks
//! signature is checked. The tokens that address triggers live in `store::hook_triggers`;
//! the HTTP endpoint (`POST /hooks/{token}`) lives in the API crate.

mod config;
mod request;
mod signature;

pub use config::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT_MS, HookConfig, MAX_BODY_BYTES, MAX_TIMEOUT_MS,
    Respond, webhook_triggers,
};
pub use request::{BodyError, DROPPED_HEADERS, IncomingRequest};
pub use signature::{SIGNATURE_TOLERANCE_SECS, SignatureError, signing_key, verify};
