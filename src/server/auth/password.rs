//! Password hashing with Argon2id and the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 1024;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the policy; the message suits a form field.
pub fn check_policy(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        return Err(format!("must be at least {MIN_LENGTH} characters"));
    }
    if n > MAX_LENGTH {
        return Err(format!("must be at most {MAX_LENGTH} characters"));
    }
    Ok(())
}

/// How many hashes run at once: one per core. Each takes 19 MiB for its moment, so 500
/// sign-in attempts at once wait their turn (cheaply, as futures) instead of taking 500
/// blocking threads and 9.5 GiB.
pub fn at_once() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The most hashes this process has run at the same moment (for tests and benchmarks).
pub fn most_at_once() -> usize {
    MOST_RUNNING.load(Ordering::Relaxed)
}

/// Runs `work` (a hash) on a blocking thread once one of [`at_once`] turns is free. The turn
/// goes with the work, so a request that gives up waiting does not free it early.
async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    static TURNS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    let turn = TURNS
        .get_or_init(|| Arc::new(Semaphore::new(at_once())))
        .clone()
        .acquire_owned()
        .await?;
    let done = tokio::task::spawn_blocking(move || {
        let running = RUNNING.fetch_add(1, Ordering::Relaxed) + 1;
        MOST_RUNNING.fetch_max(running, Ordering::Relaxed);
        let out = work();
        RUNNING.fetch_sub(1, Ordering::Relaxed);
        drop(turn);
        out
    })
    .await;
    Ok(done?)
}

/// Hashes on a blocking thread: Argon2 is deliberately slow.
pub async fn hash(password: String) -> anyhow::Result<String> {
    run(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("could not hash password: {e}"))
    })
    .await?
}

/// A hash of nothing in particular, verified against when the account does not exist, so that
/// a wrong address takes as long to refuse as a wrong password.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(b"decoy password for timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Verifies `password` against `hash` (or the decoy when there is no account).
pub async fn verify(password: String, hash: Option<String>) -> bool {
    let real = hash.is_some();
    let result = run(move || {
        let stored = hash.unwrap_or_else(|| decoy().to_string());
        PasswordHash::new(&stored)
            .map(|parsed| {
                hasher()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await;
    real && result.unwrap_or(false)
}
