//! Request signing for data interface calls: HMAC-SM3 over the method, path, query, the SM3
//! of the body, a timestamp and a nonce (like X-Road's signed messages, in the shape of
//! common API gateways). The platform refuses unknown apps, bad signatures, timestamps out
//! of the clock window and nonces used before.

use hmac::{KeyInit, Mac};

/// The headers a signed call carries.
pub const APP_HEADER: &str = "x-tongshu-app";
pub const TIMESTAMP_HEADER: &str = "x-tongshu-timestamp";
pub const NONCE_HEADER: &str = "x-tongshu-nonce";
pub const SIGNATURE_HEADER: &str = "x-tongshu-signature";

type HmacSm3 = hmac::Hmac<sm3::Sm3>;

/// What a signed call says about itself.
#[derive(Debug, Clone)]
pub struct Signed {
    pub app_key: String,
    /// Unix seconds.
    pub timestamp: String,
    pub nonce: String,
    /// Hex HMAC-SM3.
    pub signature: String,
}

/// The text that is signed: one line each for the method (upper case), the path, the query
/// string exactly as sent (empty when none), the SM3 of the body in hex, the timestamp and
/// the nonce.
pub fn string_to_sign(method: &str, path: &str, query: &str, body: &[u8], timestamp: &str, nonce: &str) -> String {
    format!(
        "{}\n{path}\n{query}\n{}\n{timestamp}\n{nonce}",
        method.to_ascii_uppercase(),
        tongshu_core::masking::sm3_hex(body)
    )
}

/// The signature of `text` under `secret`, in hex (what clients send).
pub fn sign(secret: &str, text: &str) -> String {
    tongshu_core::masking::hmac_sm3_hex(secret.as_bytes(), text.as_bytes())
}

/// Whether `signature` (hex) signs `text` under `secret`, compared in constant time.
pub fn check(secret: &str, text: &str, signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else { return false };
    let mut mac = HmacSm3::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(text.as_bytes());
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn signatures_check_only_for_the_same_text_and_secret() {
        let text = string_to_sign("get", "/api/v1/exchange/tables/t/rows", "limit=1", b"", "1764374400", "n1");
        assert!(text.starts_with("GET\n/api/v1/exchange/tables/t/rows\nlimit=1\n"));
        let sig = sign("s3cret", &text);
        assert_eq!(sig.len(), 64, "SM3 gives 32 bytes");
        assert!(check("s3cret", &text, &sig));
        assert!(!check("other", &text, &sig));
        assert!(!check("s3cret", &text.replace("limit=1", "limit=2"), &sig));
        assert!(!check("s3cret", &text, "zz"));
    }

    proptest! {
        #[test]
        fn any_change_to_a_signed_part_breaks_the_signature(
            path in "/[a-z/]{0,20}", query in "[a-z=&0-9]{0,20}", body in proptest::collection::vec(any::<u8>(), 0..64),
            flip in 0usize..5,
        ) {
            let text = string_to_sign("POST", &path, &query, &body, "1", "n");
            let sig = sign("k", &text);
            prop_assert!(check("k", &text, &sig));
            let mut body2 = body.clone();
            body2.push(0);
            let changed = match flip {
                0 => string_to_sign("GET", &path, &query, &body, "1", "n"),
                1 => string_to_sign("POST", &format!("{path}x"), &query, &body, "1", "n"),
                2 => string_to_sign("POST", &path, &format!("{query}x"), &body, "1", "n"),
                3 => string_to_sign("POST", &path, &query, &body2, "1", "n"),
                _ => string_to_sign("POST", &path, &query, &body, "2", "n"),
            };
            prop_assert!(!check("k", &changed, &sig));
        }
    }
}
