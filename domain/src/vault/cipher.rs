//! AES-256-GCM sealing of credential plaintexts.
//!
//! Each encryption draws a fresh random 96-bit nonce: with well under 2^32 encryptions per
//! key the chance of a repeat is negligible, and a counter would need shared state across
//! processes. The row id is the associated data, so a ciphertext copied into another row
//! (e.g. by someone with write access to the database) fails to decrypt instead of handing
//! one user's secret to another's executor.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

use super::VaultError;
use super::key::MasterKey;

/// Length of the GCM nonce in bytes.
pub const NONCE_LEN: usize = 12;

/// What is stored in a credential row besides its plain metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

fn cipher(key: &MasterKey) -> Aes256Gcm {
    // from_slice borrows the key instead of copying it onto the stack unwiped.
    Aes256Gcm::new_from_slice(key.bytes()).expect("a master key is 32 bytes")
}

/// Encrypts `plaintext` for the row `row_id` under `key`.
pub fn seal(key: &MasterKey, row_id: &str, plaintext: &[u8]) -> Result<Sealed, VaultError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ciphertext = cipher(key)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: row_id.as_bytes(),
            },
        )
        .map_err(|_| VaultError::Internal("AES-GCM refused to encrypt".into()))?;
    Ok(Sealed {
        key_id: key.id().to_owned(),
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

/// Decrypts what [`seal`] produced for `row_id`. Fails, without saying which, when the key
/// is wrong, the data was altered, or the ciphertext belongs to another row.
pub fn open(
    key: &MasterKey,
    row_id: &str,
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let undecryptable = || VaultError::Undecryptable {
        row_id: row_id.to_owned(),
        key_id: key.id().to_owned(),
    };
    // A damaged row must be an error, not a panic on the wrong nonce length.
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| undecryptable())?;
    cipher(key)
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: row_id.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| undecryptable())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = br#"{"kind":"bearer","secret":{"token":"s3cr3t-token"}}"#;

    #[test]
    fn a_sealed_secret_opens_to_the_same_bytes() {
        let key = MasterKey::generate();
        let sealed = seal(&key, "row-1", SECRET).unwrap();
        assert_eq!(sealed.key_id, key.id());
        assert_eq!(sealed.nonce.len(), NONCE_LEN);
        let opened = open(&key, "row-1", &sealed.nonce, &sealed.ciphertext).unwrap();
        assert_eq!(opened.as_slice(), SECRET);
    }

    #[test]
    fn the_ciphertext_does_not_contain_the_plaintext() {
        let key = MasterKey::generate();
        let sealed = seal(&key, "row-1", SECRET).unwrap();
        assert!(
            !sealed
                .ciphertext
                .windows(b"s3cr3t-token".len())
                .any(|w| w == b"s3cr3t-token")
        );
    }

    #[test]
    fn a_tampered_ciphertext_fails_to_open() {
        let key = MasterKey::generate();
        let sealed = seal(&key, "row-1", SECRET).unwrap();
        for i in [0, sealed.ciphertext.len() / 2, sealed.ciphertext.len() - 1] {
            let mut tampered = sealed.ciphertext.clone();
            tampered[i] ^= 0x01;
            assert!(matches!(
                open(&key, "row-1", &sealed.nonce, &tampered),
                Err(VaultError::Undecryptable { .. })
            ));
        }
        let mut nonce = sealed.nonce.clone();
        nonce[0] ^= 0x01;
        assert!(open(&key, "row-1", &nonce, &sealed.ciphertext).is_err());
        assert!(open(&key, "row-1", &sealed.nonce[..8], &sealed.ciphertext).is_err());
        assert!(open(&key, "row-1", &sealed.nonce, &[]).is_err());
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_fails_to_open() {
        let key = MasterKey::generate();
        let sealed = seal(&key, "row-1", SECRET).unwrap();
        assert!(open(&key, "row-2", &sealed.nonce, &sealed.ciphertext).is_err());
    }

    #[test]
    fn the_wrong_key_fails_to_open() {
        let key = MasterKey::generate();
        let other = MasterKey::generate();
        let sealed = seal(&key, "row-1", SECRET).unwrap();
        let err = open(&other, "row-1", &sealed.nonce, &sealed.ciphertext).unwrap_err();
        assert!(err.to_string().contains(other.id()), "{err}");
    }

    #[test]
    fn two_encryptions_of_the_same_secret_use_different_nonces() {
        let key = MasterKey::generate();
        let a = seal(&key, "row-1", SECRET).unwrap();
        let b = seal(&key, "row-1", SECRET).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }
}
