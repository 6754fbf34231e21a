//! Signing outgoing webhooks per the Standard Webhooks convention
//! (<https://www.standardwebhooks.com>), so receivers can check that a call came from Weft
//! and was not altered or replayed later.
//!
//! Every request carries `webhook-id` (the delivery's id, the same on every attempt),
//! `webhook-timestamp` (Unix seconds of the attempt) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with
//! the bytes of a `whsec_<base64>` secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Prefix of a Standard Webhooks signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Header carrying the delivery id.
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the attempt's Unix timestamp in seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the signature(s).
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// The field of a `generic` credential that holds the signing secret.
pub const SECRET_FIELD: &str = "secret";

/// Shortest key accepted: the Standard Webhooks libraries generate 24 bytes; fewer than 16
/// would make the HMAC guessable.
const MIN_KEY_BYTES: usize = 16;
/// HMAC keys longer than the hash's block size are hashed first and gain nothing.
const MAX_KEY_BYTES: usize = 64;
/// What [`generate_secret`] makes, as the reference libraries do.
const GENERATED_KEY_BYTES: usize = 24;

/// A decoded signing key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningSecret(<{} bytes>)", self.0.len())
    }
}

/// Why a text is not a usable signing secret. The message never quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("must start with `{SECRET_PREFIX}`")]
    Prefix,
    #[error("must be `{SECRET_PREFIX}` followed by standard base64")]
    Base64,
    #[error("must encode {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, got {0}")]
    Length(usize),
}

impl SigningSecret {
    /// Parses `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::Prefix)?;
        let key = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Self(key))
    }

    /// `v1,<base64 signature>` for one attempt.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// A fresh random `whsec_…` secret, for users who need one to store as a credential.
pub fn generate_secret() -> String {
    let key: [u8; GENERATED_KEY_BYTES] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_reference_vector_verifies() {
        // From the Standard Webhooks specification's test suite.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn malformed_secrets_are_refused_without_quoting_them() {
        assert_eq!(SigningSecret::parse("abc"), Err(SecretError::Prefix));
        assert_eq!(
            SigningSecret::parse("whsec_not base64!"),
            Err(SecretError::Base64)
        );
        assert_eq!(
            SigningSecret::parse("whsec_c2hvcnQ="),
            Err(SecretError::Length(5))
        );
        let message = SigningSecret::parse("whsec_c2hvcnQ=")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("c2hvcnQ"));
    }

    #[test]
    fn generated_secrets_parse_and_differ() {
        let a = generate_secret();
        assert!(SigningSecret::parse(&a).is_ok());
        assert_ne!(a, generate_secret());
        assert!(!format!("{:?}", SigningSecret::parse(&a).unwrap()).contains(&a[6..]));
    }
}
