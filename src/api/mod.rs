//! Talking to the SecureAuth System API: the shared OAuth2 token ([`auth`]), the typed
//! organization calls ([`client`]), the hold on a row not in flight while its run is paused
//! ([`hold`]), the one retry policy every call follows ([`retry`]) and the wire types they
//! exchange ([`types`]).

pub(crate) mod auth;
pub(crate) mod client;
mod hold;
mod html;
pub mod redact;
pub(crate) mod retry;
pub mod throttle;
mod transport;
pub(crate) mod types;

pub use auth::{ClientAuth, Credentials, TokenSource};
pub use client::{ApiClient, CallError, CreateReply};
pub use hold::{Hold, WITHHELD};
pub use retry::{Backoff, GaveUp, RetryPolicy, Tries};
pub use throttle::Throttle;
pub use transport::{http_client, name_proxies, proxy_for};
pub use types::{CreateOrganization, Organization, UpdateOrganization};
