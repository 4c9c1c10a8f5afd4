//! Sealing a just-created API token for the one page view that shows it: the session keeps
//! only ChaCha20-Poly1305 ciphertext under a key derived from `SESSION_SECRET` (random per
//! process without one), so the session table never holds a usable token.

use base64ct::{Base64UrlUnpadded, Encoding};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

/// Seals and opens token secrets. Cheap to share.
pub struct TokenSealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for TokenSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSealer([REDACTED])")
    }
}

impl TokenSealer {
    /// A sealer whose key is derived from `secret` (the session secret), or random.
    pub fn new(secret: Option<&str>) -> TokenSealer {
        let key = match secret {
            Some(secret) => {
                let digest = Sha256::digest(format!("tariff fresh API token\0{secret}").as_bytes());
                *Key::from_slice(&digest)
            }
            None => ChaCha20Poly1305::generate_key(&mut OsRng),
        };
        TokenSealer { cipher: ChaCha20Poly1305::new(&key) }
    }

    /// `secret` sealed: base64url of a random 96-bit nonce and the ciphertext.
    pub fn seal(&self, secret: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self.cipher.encrypt(&nonce, secret.as_bytes()).expect("sealing a short text cannot fail");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Base64UrlUnpadded::encode_string(&sealed)
    }

    /// The secret `sealed` holds, if it was sealed with this key and not altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = Base64UrlUnpadded::decode_vec(sealed).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ciphertext).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_with_the_same_key() {
        let sealer = TokenSealer::new(Some("a session secret of at least 32 chars"));
        let sealed = sealer.seal("trf_0123");
        assert!(!sealed.contains("trf_0123"));
        assert_eq!(sealer.open(&sealed).as_deref(), Some("trf_0123"));
        assert_eq!(TokenSealer::new(Some("another secret of at least 32 chars")).open(&sealed), None);
        assert_eq!(sealer.open("garbage"), None);
    }
}
