//! The guard every node that calls out (api-call, webhook, llm-agent, web-search) goes
//! through: which URLs and addresses may be reached ([`OutboundPolicy`], [`check_url`],
//! [`check_ip`]) and an HTTP client that enforces that after DNS resolution, on every
//! redirect, and with timeouts and a response size cap ([`OutboundClient`]).
//!
//! Why it is shaped like this: a workflow author controls the URLs these nodes fetch, so
//! without the guard they could read cloud metadata credentials or internal services
//! (server-side request forgery). Checking a URL's host name is not enough — the name can
//! resolve (or later re-resolve) to an internal address — so the addresses are checked
//! inside the resolver, and those checked addresses are the very ones dialled.

mod client;
mod guard;
mod policy;

pub use client::{OutboundClient, OutboundError, OutboundResponse};
pub use guard::{
    AddressClass, Embedding, Refusal, RefusalReason, check_ip, check_url, classify_ip, origin_of,
};
pub use policy::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_REDIRECTS, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
    ENV_ALLOW_HTTP, ENV_ALLOW_PRIVATE_NETWORKS, ENV_OUTBOUND_ALLOWLIST, HostRule, HostRuleError,
    OutboundPolicy, PolicyError,
};
