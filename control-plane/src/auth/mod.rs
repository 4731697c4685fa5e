//! Accounts and sessions: passwords, login rate limits and tokens. The HTTP
//! routes that use them are in `api::auth`.

pub mod password;
pub mod ratelimit;
pub mod tokens;
