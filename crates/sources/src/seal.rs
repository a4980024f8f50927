//! Secrets at rest: SM4 in GCM mode (RFC 8998's SM4-GCM) under the platform's secret key.
//!
//! A sealed value is `sm4gcm:` followed by base64 of a fresh 12-byte nonce and the
//! ciphertext with its 16-byte tag. Opening checks the tag, so a changed byte or a wrong key
//! is an error, never garbage.

use aes_gcm::AesGcm;
use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

type Sm4Gcm = AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

const PREFIX: &str = "sm4gcm:";

/// The platform's 128-bit secret key.
#[derive(Clone)]
pub struct SecretKey([u8; 16]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SealError {
    #[error("the secret key must be 32 hexadecimal digits (128 bits), got {0} characters")]
    BadKey(usize),
    #[error("the sealed value is malformed: {0}")]
    Malformed(&'static str),
    #[error("the sealed value does not open with this secret key (wrong key, or the value was changed)")]
    WrongKeyOrTampered,
}

impl SecretKey {
    /// Parses 32 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, SealError> {
        let s = s.trim();
        let bytes = hex::decode(s).map_err(|_| SealError::BadKey(s.len()))?;
        let key: [u8; 16] = bytes.try_into().map_err(|_| SealError::BadKey(s.len()))?;
        Ok(Self(key))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).expect("the operating system's random source failed");
        Self(key)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn cipher(&self) -> Sm4Gcm {
        Sm4Gcm::new_from_slice(&self.0).expect("SM4 keys are 16 bytes")
    }

    /// Seals `plain` with a fresh nonce.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        let sealed = self
            .cipher()
            .encrypt(&nonce.into(), plain.as_bytes())
            .expect("SM4-GCM encryption cannot fail for short values");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens a value made by [`SecretKey::seal`] under this key.
    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(SealError::Malformed("it does not start with sm4gcm:"))?;
        let bytes = STANDARD.decode(body).map_err(|_| SealError::Malformed("it is not base64"))?;
        if bytes.len() < 12 + 16 {
            return Err(SealError::Malformed("it is too short"));
        }
        let (nonce, ct) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError::Malformed("bad nonce"))?;
        let plain = self.cipher().decrypt(&nonce.into(), ct).map_err(|_| SealError::WrongKeyOrTampered)?;
        String::from_utf8(plain).map_err(|_| SealError::Malformed("it is not text"))
    }
}
