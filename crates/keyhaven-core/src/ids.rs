//! The identifiers a person types and the vault stores, each validated in one place.
//!
//! - [`ConnectionId`]: `c_` and 16 hex digits, random, made by [`ConnectionId::generate`].
//! - [`ProviderId`]: 1-64 lowercase letters, digits and `-`, for catalog files, custom
//!   providers and backup rows alike.
//!
//! Both read as `&str` where one is wanted (`Deref`), so the newtype costs its users nothing;
//! what it buys is that a value of the type has passed the rule.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A connection's id.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectionId(String);

impl ConnectionId {
    /// A new random id.
    pub(crate) fn generate() -> Result<ConnectionId> {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|_| Error::Random)?;
        Ok(ConnectionId(format!("c_{}", hex::encode(b))))
    }

    /// Checks the shape: `c_` and 16 hex digits.
    pub fn is_valid(text: &str) -> bool {
        text.strip_prefix("c_")
            .is_some_and(|h| h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
    }

    /// As text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConnectionId {
    type Error = String;
    fn try_from(text: String) -> std::result::Result<Self, String> {
        if ConnectionId::is_valid(&text) {
            Ok(ConnectionId(text))
        } else {
            Err(format!("{text:?} is not a connection id"))
        }
    }
}

/// A provider's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProviderId(String);

impl ProviderId {
    /// Checks the rule: 1-64 lowercase letters, digits and `-`.
    pub fn is_valid(text: &str) -> bool {
        !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }

    /// A provider id, or a message naming the rule.
    pub fn parse(text: &str) -> Result<ProviderId> {
        if ProviderId::is_valid(text) {
            Ok(ProviderId(text.to_string()))
        } else {
            Err(Error::BadInput(format!(
                "provider id {text:?}: use 1-64 lowercase letters, digits and '-'"
            )))
        }
    }

    /// As text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProviderId {
    type Error = String;
    fn try_from(text: String) -> std::result::Result<Self, String> {
        ProviderId::parse(&text)
            .map_err(|e| e.to_string())
            .map(|_| ProviderId(text))
    }
}

macro_rules! text_id {
    ($t:ty) => {
        impl Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl From<$t> for String {
            fn from(id: $t) -> String {
                id.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
        impl rusqlite::ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.0.as_str().into())
            }
        }
    };
}

text_id!(ConnectionId);
text_id!(ProviderId);

impl rusqlite::types::FromSql for ConnectionId {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Ok(ConnectionId(v.as_str()?.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_their_rules() {
        let id = ConnectionId::generate().unwrap();
        assert!(ConnectionId::is_valid(&id));
        assert!(!ConnectionId::is_valid("c_123"));
        assert!(!ConnectionId::is_valid("x_0123456789abcdef"));
        assert!(ConnectionId::try_from("c_0123456789abcdef".to_string()).is_ok());
        assert!(ProviderId::parse("gitlab-self-managed").is_ok());
        for bad in ["", "GitHub", "a b", "a/b", &"x".repeat(65)] {
            assert!(ProviderId::parse(bad).is_err(), "{bad:?}");
        }
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""), "serialized as a plain string");
    }
}
