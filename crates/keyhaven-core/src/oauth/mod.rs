//! The OAuth 2.0 layer: talking to authorization servers, with no vault policy in it.
//!
//! Both [`crate::flows`] (signing in) and [`crate::tokens`] (keeping tokens usable) stand on
//! this layer, and it depends on neither, so the two never depend on each other:
//! - [`request`]: what a grant needs at the token endpoint, snapshotted;
//! - [`client`]: the token endpoint client (every grant's form POST, client authentication, the
//!   response parsed and checked);
//! - [`id_token`]: OpenID Connect id token verification;
//! - [`identity`]: naming the account (id token claims, the response, userinfo);
//! - [`machine`]: the grants without a browser (client credentials, the legacy password grant,
//!   a service-account key's JWT bearer grant, whose assertion is [`assertion`]);
//! - [`discovery`]: RFC 8414 / OpenID Connect metadata;
//! - [`endpoints`]: a connection's token, revocation and userinfo endpoints, from the
//!   definition and discovery;
//! - [`redirect`]: Keyhaven's per-server deep-link redirect URIs.

pub(crate) mod assertion;
pub(crate) mod client;
pub mod discovery;
pub(crate) mod endpoints;
pub(crate) mod id_token;
pub(crate) mod identity;
pub(crate) mod machine;
pub mod redirect;
pub(crate) mod request;
