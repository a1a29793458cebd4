//! RSA keys and SHA256withRSA signatures (RSASSA-PKCS1-v1_5 over SHA-256),
//! which Alipay calls RSA2 and WeChat Pay v3 `WECHATPAY2-SHA256-RSA2048`;
//! signatures travel base64-encoded.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// A private key from PEM (PKCS#8 or PKCS#1) or the bare base64 DER the
/// channels' consoles hand out. The error never quotes the key.
pub fn private_key(text: &str) -> Result<RsaPrivateKey, String> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return RsaPrivateKey::from_pkcs8_pem(text)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(text))
            .map_err(|_| "not an RSA private key in PEM".to_string());
    }
    let der = STANDARD
        .decode(text.split_whitespace().collect::<String>())
        .map_err(|_| "neither PEM nor base64".to_string())?;
    RsaPrivateKey::from_pkcs8_der(&der)
        .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
        .map_err(|_| "not an RSA private key".to_string())
}

/// A public key from PEM (SubjectPublicKeyInfo or PKCS#1) or bare base64
/// DER (Alipay's console shows the public key so).
pub fn public_key(text: &str) -> Result<RsaPublicKey, String> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return RsaPublicKey::from_public_key_pem(text)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(text))
            .map_err(|_| "not an RSA public key in PEM".to_string());
    }
    let der = STANDARD
        .decode(text.split_whitespace().collect::<String>())
        .map_err(|_| "neither PEM nor base64".to_string())?;
    RsaPublicKey::from_public_key_der(&der)
        .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
        .map_err(|_| "not an RSA public key".to_string())
}

/// The base64 SHA256withRSA signature of `message`.
pub fn sign(key: &RsaPrivateKey, message: &[u8]) -> String {
    let signer = SigningKey::<Sha256>::new(key.clone());
    STANDARD.encode(signer.sign(message).to_bytes())
}

/// Whether `signature` (base64) is `key`'s SHA256withRSA signature of
/// `message`.
pub fn verify(key: &RsaPublicKey, message: &[u8], signature: &str) -> bool {
    let Ok(bytes) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(message, &sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use rsa::RsaPublicKey;

    use crate::platform::channels::keys::{private_key, public_key, sign, verify};

    const SDK_KEY: &str = include_str!("testdata/wechatpay-go-test-key.pem");

    #[test]
    fn fnd5_sha256withrsa_matches_the_wechat_pay_sdk_vector() {
        // wechatpay-go's signer test: "source" signed with its test key.
        let key = private_key(SDK_KEY).unwrap();
        let expected = "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoVz+pp4hAm6pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLli/K8V29QiOhuH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj1aJGH6/L+hdwfLpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg==";
        assert_eq!(sign(&key, b"source"), expected);
        let public = RsaPublicKey::from(&key);
        assert!(verify(&public, b"source", expected));
        assert!(!verify(&public, b"sourcE", expected));
        assert!(!verify(&public, b"source", "not base64"));
    }

    #[test]
    fn fnd5_keys_are_read_from_pem_or_bare_base64_and_never_quoted() {
        use rsa::pkcs8::EncodePublicKey;
        let key = private_key(SDK_KEY).unwrap();
        let pem = RsaPublicKey::from(&key)
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        let bare: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(public_key(&pem).unwrap(), public_key(&bare).unwrap());
        let bare_private: String = SDK_KEY
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert!(private_key(&bare_private).is_ok());
        let err = private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
            .unwrap_err();
        assert!(!err.contains("AAAA"), "{err}");
    }
}
