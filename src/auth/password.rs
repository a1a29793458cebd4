//! Password hashing (Argon2id, OWASP parameters) and the strength rule (ACC-7).

use std::sync::OnceLock;

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

/// Runs a hash or a verification on a thread of its own that yields the
/// CPU to requests, at most `PASSWORD_HASH_CONCURRENCY` at once, holding no
/// database connection or transaction: a login storm queues here instead
/// of starving the pool, and the CPU it takes is what requests leave.
pub async fn capped<T: Send + 'static>(
    st: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let _permit = st
        .hashing
        .acquire()
        .await
        .map_err(|_| AppError::unavailable("password hashing is shut down"))?;
    let (done, result) = tokio::sync::oneshot::channel();
    let nice = st.settings.password_hash_nice;
    // A thread per hash: starting one costs microseconds, a hash ~50 ms.
    std::thread::Builder::new()
        .name("password-hash".into())
        .spawn(move || {
            yield_to_requests(nice);
            let _ = done.send(work());
        })
        .map_err(|e| AppError::internal(format!("password work failed to start: {e}")))?;
    result
        .await
        .map_err(|_| AppError::internal("password work failed"))
}

/// Lowers the calling thread's CPU priority to `nice` (on Linux the nice
/// value is per thread). Argon2 is the server's one long CPU-bound task
/// (and it sweeps 19 MiB through the caches). The bench's login storm on
/// SQLite (8 logins in a row while the first page is read at full speed, 2
/// cores), list p99 during / without the storm, and logins a second:
/// nice 0: 2.8x, 14/s; nice 5: 2.3x, 8.2/s; nice 10: 2.2x, 3.5/s; nice 15:
/// 1.95x, 2.2/s; an idle-class thread (not offered: logins starve):
/// 1.2x, 0.1/s. Logins get whatever CPU requests leave, all of it on a
/// server that is not saturated.
fn yield_to_requests(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only changes this thread's scheduling weight.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// OWASP's Argon2id baseline: 19 MiB memory, 2 iterations, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string with a fresh salt.
pub fn hash(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored hash; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same work as a real check, for logins with an unknown
/// identifier, so response time does not reveal which accounts exist.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("dummy-password-for-timing-1").unwrap_or_default());
    let _ = verify(password, stored);
}

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty123",
    "qwertyuiop",
    "iloveyou1",
    "admin123",
    "abc12345",
    "a1234567",
    "11111111",
    "88888888",
    "66666666",
    "woaini1314",
    "1qaz2wsx",
    "zaq12wsx",
];

/// The JSON Schema pattern stating the same rule as [`check_strength`]
/// (except the common-password and member-name checks).
pub const PATTERN: &str = r"^(?=.*[A-Za-z])(?=.*[^A-Za-z])[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]{8,128}$";

/// The strength rule: 8–128 characters without control characters, with at
/// least one ASCII letter and one other character (digit, symbol, Chinese…),
/// not a well-known password, and not containing the member name.
pub fn check_strength(password: &str, member_name: Option<&str>) -> AppResult<()> {
    let len = password.chars().count();
    let weak = |zh: &'static str, en: &'static str| {
        AppError::invalid_field("password", "password.weak", zh, en)
    };
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(weak(
            "密码长度须为 8–128 个字符",
            "The password must be 8–128 characters long",
        ));
    }
    if password.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}') {
        return Err(weak(
            "密码不能包含控制字符",
            "The password must not contain control characters",
        ));
    }
    let has_letter = password.chars().any(|c| c.is_ascii_alphabetic());
    let has_other = password.chars().any(|c| !c.is_ascii_alphabetic());
    if !has_letter || !has_other {
        return Err(weak(
            "密码须同时包含英文字母和数字、符号或其他字符",
            "The password must mix ASCII letters with digits, symbols or other characters",
        ));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(weak("密码过于常见", "The password is too common"));
    }
    if let Some(name) = member_name {
        let name = name.to_lowercase();
        if name.chars().count() >= 3 && lower.contains(&name) {
            return Err(weak(
                "密码不能包含会员名",
                "The password must not contain the member name",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acc7_hash_verifies_and_is_argon2id() {
        let stored = hash("correct horse 9").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse 9", &stored));
        assert!(!verify("correct horse 8", &stored));
        assert!(!verify("anything", "not-a-hash"));
    }

    #[test]
    fn strength_rule() {
        assert!(check_strength("short1", None).is_err());
        assert!(check_strength("onlyletters", None).is_err());
        assert!(check_strength("1234567890", None).is_err());
        assert!(check_strength("Password1", None).is_err());
        assert!(check_strength("zhangsan2024", Some("ZhangSan")).is_err());
        assert!(check_strength("苹果香蕉橘子葡萄9", None).is_err());
        assert!(check_strength("苹果香蕉橘子葡萄a", None).is_ok());
        assert!(check_strength("tab\tinside1", None).is_err());
        assert!(check_strength("tr0ub4dor&3", Some("zhangsan")).is_ok());
    }
}
