//! Verification of Standard Webhooks signatures (<https://www.standardwebhooks.com>):
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`,
//! several space-separated signatures allowed (key rotation on the sender's side).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far `webhook-timestamp` may be from now, either way; bounds how long a captured
/// request can be replayed.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 5 * 60;

/// Prefix of secrets in the Standard Webhooks format; the rest is the base64 key.
const SECRET_PREFIX: &str = "whsec_";

/// Why a request's signature was not accepted. The messages are safe to return to the
/// caller: they name what is wrong, never the expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the `{0}` header is missing")]
    Missing(&'static str),
    #[error("`webhook-timestamp` is not a Unix time in seconds")]
    BadTimestamp,
    #[error("`webhook-timestamp` is more than 5 minutes away from the server's clock")]
    Stale,
    #[error("no `webhook-signature` entry matches the request")]
    Mismatch,
}

/// The HMAC key for a stored secret: a `whsec_`-prefixed secret is base64 (the Standard
/// Webhooks format); anything else is used as its UTF-8 bytes.
pub fn signing_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// Checks the three Standard Webhooks headers against `body`. `now` is the server's Unix
/// time in seconds. Signatures are compared in constant time.
pub fn verify(
    key: &[u8],
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let id = id.ok_or(SignatureError::Missing("webhook-id"))?;
    let timestamp = timestamp.ok_or(SignatureError::Missing("webhook-timestamp"))?;
    let signature = signature.ok_or(SignatureError::Missing("webhook-signature"))?;
    let sent_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    // `abs_diff`: a hostile timestamp near i64::MIN must not overflow the subtraction.
    if now.abs_diff(sent_at) > SIGNATURE_TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let matches = signature
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|candidate| mac.clone().verify_slice(&candidate).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // From the Standard Webhooks reference test suite (python/tests), so the scheme is
    // checked against an implementation other than this one.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn check(signature: &str, now: i64) -> Result<(), SignatureError> {
        verify(
            &signing_key(SECRET),
            Some(ID),
            Some(TIMESTAMP),
            Some(signature),
            BODY,
            now,
        )
    }

    #[test]
    fn the_reference_signature_verifies() {
        assert_eq!(check(SIGNATURE, 1614265330), Ok(()));
        // Any one of several space-separated signatures may match.
        assert_eq!(check(&format!("v1,AAAA {SIGNATURE}"), 1614265330), Ok(()));
    }

    #[test]
    fn a_changed_body_or_wrong_version_does_not_verify() {
        let key = signing_key(SECRET);
        let other = verify(
            &key,
            Some(ID),
            Some(TIMESTAMP),
            Some(SIGNATURE),
            b"{}",
            1614265330,
        );
        assert_eq!(other, Err(SignatureError::Mismatch));
        let v2 = SIGNATURE.replacen("v1,", "v2,", 1);
        assert_eq!(check(&v2, 1614265330), Err(SignatureError::Mismatch));
    }

    #[test]
    fn timestamps_more_than_five_minutes_away_are_refused_both_ways() {
        let at: i64 = TIMESTAMP.parse().unwrap();
        assert_eq!(check(SIGNATURE, at + 300), Ok(()));
        assert_eq!(check(SIGNATURE, at + 301), Err(SignatureError::Stale));
        assert_eq!(check(SIGNATURE, at - 301), Err(SignatureError::Stale));
    }

    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        for timestamp in [i64::MIN, i64::MAX] {
            let verdict = verify(
                &signing_key(SECRET),
                Some(ID),
                Some(&timestamp.to_string()),
                Some(SIGNATURE),
                BODY,
                1614265330,
            );
            assert_eq!(verdict, Err(SignatureError::Stale));
        }
    }

    #[test]
    fn every_missing_header_is_named() {
        let key = signing_key(SECRET);
        let at = 1614265330;
        assert_eq!(
            verify(&key, None, Some(TIMESTAMP), Some(SIGNATURE), BODY, at),
            Err(SignatureError::Missing("webhook-id"))
        );
        assert_eq!(
            verify(&key, Some(ID), None, Some(SIGNATURE), BODY, at),
            Err(SignatureError::Missing("webhook-timestamp"))
        );
        assert_eq!(
            verify(&key, Some(ID), Some(TIMESTAMP), None, BODY, at),
            Err(SignatureError::Missing("webhook-signature"))
        );
        assert_eq!(
            verify(&key, Some(ID), Some("soon"), Some(SIGNATURE), BODY, at),
            Err(SignatureError::BadTimestamp)
        );
    }

    #[test]
    fn a_secret_without_the_whsec_prefix_is_used_as_bytes() {
        assert_eq!(signing_key("plain"), b"plain");
    }
}
