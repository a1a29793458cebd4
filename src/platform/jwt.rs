//! Access tokens: HS256 JWTs with `iss`/`aud`/`sub`/`sid`/`jti`/`iat`/`exp`.
//!
//! The algorithm is pinned, and time is checked against the application
//! clock (not the library's), so tests that move time see tokens expire.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::platform::error::{AppError, AppResult};

pub const ISSUER: &str = "weigongbao";
pub const AUDIENCE: &str = "weigongbao-api";
/// Clock skew tolerated for `iat` and `exp`.
const LEEWAY_SECS: i64 = 30;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session id; the session must still be live for the token to work.
    pub sid: i64,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// Keys and validation rules, built once at start.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // exp and iat are checked below against the application clock.
        validation.validate_exp = false;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    /// Issues an access token for a session.
    pub fn issue(&self, user_id: i64, session_id: i64, now: DateTime<Utc>) -> AppResult<String> {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.to_string(),
            sid: session_id,
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now.timestamp(),
            exp: now.timestamp() + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::internal(format!("jwt encode: {e}")))
    }

    /// Decodes and checks a token; any failure is the same 401.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> AppResult<Claims> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid_token())?;
        let claims = data.claims;
        let now = now.timestamp();
        if claims.exp + LEEWAY_SECS < now || claims.iat > now + LEEWAY_SECS {
            return Err(invalid_token());
        }
        Ok(claims)
    }
}

pub fn invalid_token() -> AppError {
    AppError::unauthorized(
        "auth.invalid_token",
        "访问令牌无效或已过期",
        "The access token is invalid or expired",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn acc7_token_round_trip_and_expiry() {
        let keys = JwtKeys::new(SECRET, 900);
        let now = Utc::now();
        let token = keys.issue(7, 42, now).unwrap();
        let claims = keys.verify(&token, now).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid), ("7", 42));
        assert!(
            keys.verify(&token, now + Duration::seconds(900 + 31))
                .is_err()
        );
        assert!(keys.verify(&token, now - Duration::seconds(60)).is_err());
    }

    #[test]
    fn wrong_key_algorithm_or_audience_is_refused() {
        let keys = JwtKeys::new(SECRET, 900);
        let other = JwtKeys::new(b"another-secret-another-secret-xx", 900);
        let now = Utc::now();
        assert!(keys.verify(&other.issue(1, 1, now).unwrap(), now).is_err());

        // alg=none and HS512 are refused: the algorithm is pinned.
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "1".into(),
            sid: 1,
            jti: "x".into(),
            iat: now.timestamp(),
            exp: now.timestamp() + 60,
        };
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(keys.verify(&hs512, now).is_err());

        let wrong_aud = Claims {
            aud: "someone-else".into(),
            ..claims
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &wrong_aud,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(keys.verify(&token, now).is_err());
    }
}
