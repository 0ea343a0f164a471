//! The installation's key for secrets at rest: channel secrets, model keys, webhook signing
//! secrets and the links' signing secret are sealed with it (AES-256-GCM) before they are
//! written, so a copy of the database alone gives none of them away.
//!
//! The key is generated once: from `CONCIERGE_SECRET_KEY` (base64 of 32 bytes; every process
//! of an installation needs the same one), or else a file (`CONCIERGE_SECRET_KEY_FILE`, by
//! default `secret.key` beside the SQLite database, or `data/secret.key` for PostgreSQL),
//! made on first start with only its owner able to read it. `concierge secrets rotate` seals
//! everything again under a new key (see [`crate::server::db::secrets::reseal_all`]).

use crate::server::Config;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// How a sealed value begins; anything else was stored before sealing existed.
const PREFIX: &str = "sealed:v1:";

/// A secret that cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("a stored secret was sealed with key {0}, which this process does not have (set CONCIERGE_SECRET_KEY, or restore the key file, that the installation used)")]
    UnknownKey(String),
    #[error("a stored secret is damaged and cannot be opened")]
    Damaged,
}

struct Key {
    /// The first 4 bytes of the key's SHA-256, in hex: which key sealed a value.
    id: String,
    key: LessSafeKey,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Self {
        let id = hex::encode(&Sha256::digest(bytes)[..4]);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes"));
        Self { id, key }
    }
}

/// The key secrets are sealed with, and any others they may still be sealed with (during a
/// rotation).
pub struct Keyring {
    current: Key,
    others: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .finish_non_exhaustive()
    }
}

/// A new random key.
pub fn generate_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .expect("the system's random source works");
    key
}

/// A key as written in the environment or a key file.
pub fn encode_key(key: &[u8; 32]) -> String {
    STANDARD.encode(key)
}

/// Reads a key written by [`encode_key`] (standard or URL-safe base64, padded or not).
pub fn decode_key(text: &str, origin: &str) -> anyhow::Result<[u8; 32]> {
    let text = text.trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .map_err(|_| {
            anyhow::anyhow!("{origin} must be base64, as `concierge secrets new-key` prints it")
        })?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{origin} must be 32 bytes (44 characters of base64)"))
}

/// Where the installation's key file is: `CONCIERGE_SECRET_KEY_FILE`, or `secret.key` beside
/// the SQLite database, or `data/secret.key` for PostgreSQL.
pub fn key_file(config: &Config) -> PathBuf {
    if let Some(path) = &config.secret_key_file {
        return path.clone();
    }
    let db_file = config
        .database_url
        .strip_prefix("sqlite://")
        .or_else(|| config.database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|p| !p.is_empty() && !p.starts_with(":memory:"));
    match db_file.and_then(|p| Path::new(p).parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("secret.key"),
        Some(_) => PathBuf::from("secret.key"),
        None => PathBuf::from("data/secret.key"),
    }
}

/// The key file made by a rotation before it takes the old one's place.
pub fn next_file(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

/// Writes a new key file that only its owner can read; never over an existing one, and never
/// seen half-written (written aside, then linked into place).
pub fn write_key_file(path: &Path, key: &[u8; 32]) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let aside = PathBuf::from(aside);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&aside).and_then(|mut file| {
        writeln!(file, "{}", encode_key(key))?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&aside, path));
    let _ = std::fs::remove_file(&aside);
    linked.map_err(|e| anyhow::anyhow!("could not create the key file {}: {e}", path.display()))
}

impl Keyring {
    pub fn new(current: &[u8; 32], others: &[[u8; 32]]) -> Self {
        Self {
            current: Key::new(current),
            others: others.iter().map(Key::new).collect(),
        }
    }

    /// The installation's keyring: the key from `CONCIERGE_SECRET_KEY`, or from the key file
    /// (made now when there is none); a rotation's unfinished next key is read as well.
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        if let Some(text) = &config.secret_key {
            return Ok(Self::new(&decode_key(text, "CONCIERGE_SECRET_KEY")?, &[]));
        }
        let file = key_file(config);
        if !file.exists() {
            match write_key_file(&file, &generate_key()) {
                Ok(()) => {
                    tracing::info!(file = %file.display(), "made the installation's key for secrets at rest; keep it with your backups")
                }
                // Another process made it first.
                Err(_) if file.exists() => {}
                Err(err) => return Err(err),
            }
        }
        let read = |path: &Path| -> anyhow::Result<[u8; 32]> {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("could not read the key file {}: {e}", path.display())
            })?;
            decode_key(&text, &format!("the key file {}", path.display()))
        };
        let current = read(&file)?;
        let next = next_file(&file);
        let others = if next.exists() {
            vec![read(&next)?]
        } else {
            Vec::new()
        };
        Ok(Self::new(&current, &others))
    }

    /// This keyring with `new` as its current key, and the keys it had still read.
    pub fn with_current(self, new: &[u8; 32]) -> Self {
        let mut others = vec![self.current];
        others.extend(self.others);
        Self {
            current: Key::new(new),
            others,
        }
    }

    /// The id of the key values are sealed with now.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// `plain`, sealed with the current key: `sealed:v1:<key id>:<nonce and ciphertext>`.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system's random source works");
        let mut data = plain.as_bytes().to_vec();
        self.current
            .key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .expect("sealing cannot fail for a short value");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!(
            "{PREFIX}{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(out)
        )
    }

    /// The secret in `stored`: opened when sealed, as it is when it was stored before sealing
    /// existed (the next start seals it).
    pub fn open(&self, stored: &str) -> Result<String, SecretError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, data) = rest.split_once(':').ok_or(SecretError::Damaged)?;
        let key = std::iter::once(&self.current)
            .chain(&self.others)
            .find(|k| k.id == id)
            .ok_or_else(|| SecretError::UnknownKey(id.to_string()))?;
        let mut data = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| SecretError::Damaged)?;
        if data.len() < NONCE_LEN {
            return Err(SecretError::Damaged);
        }
        let nonce: [u8; NONCE_LEN] = data[..NONCE_LEN].try_into().expect("NONCE_LEN bytes");
        let plain = key
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut data[NONCE_LEN..],
            )
            .map_err(|_| SecretError::Damaged)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SecretError::Damaged)
    }

    /// Whether `stored` is not yet sealed with the current key (plain, or sealed with another).
    pub fn needs_sealing(&self, stored: &str) -> bool {
        !stored.starts_with(&format!("{PREFIX}{}:", self.current.id))
    }
}

impl From<SecretError> for sqlx::Error {
    fn from(err: SecretError) -> Self {
        sqlx::Error::Decode(Box::new(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_their_key_only() {
        let old = generate_key();
        let new = generate_key();
        let ring = Keyring::new(&old, &[]);
        let sealed = ring.seal("xoxb-secret");
        assert!(sealed.starts_with("sealed:v1:"));
        assert!(!sealed.contains("xoxb"));
        assert_ne!(ring.seal("xoxb-secret"), sealed, "a fresh nonce each time");
        assert_eq!(ring.open(&sealed).unwrap(), "xoxb-secret");
        assert!(!ring.needs_sealing(&sealed));
        assert!(ring.needs_sealing("xoxb-secret"));
        assert_eq!(ring.open("plain from before").unwrap(), "plain from before");

        // Rotated: the new key opens nothing of the old alone; with both, both open.
        let rotated = Keyring::new(&new, &[old]);
        assert_eq!(rotated.open(&sealed).unwrap(), "xoxb-secret");
        assert!(rotated.needs_sealing(&sealed));
        let alone = Keyring::new(&new, &[]);
        assert!(matches!(
            alone.open(&sealed),
            Err(SecretError::UnknownKey(_))
        ));
        // Tampered with: refused.
        let mut bad = sealed.clone();
        bad.pop();
        bad.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(matches!(ring.open(&bad), Err(SecretError::Damaged)));
    }

    #[test]
    fn keys_are_read_as_written() {
        let key = generate_key();
        assert_eq!(decode_key(&encode_key(&key), "k").unwrap(), key);
        assert!(decode_key("short", "CONCIERGE_SECRET_KEY").is_err());
        let config = Config {
            database_url: "sqlite:///var/lib/concierge/db.sqlite?mode=rwc".into(),
            ..Config::default()
        };
        assert_eq!(
            key_file(&config),
            PathBuf::from("/var/lib/concierge/secret.key")
        );
        let config = Config {
            database_url: "postgres://db/concierge".into(),
            ..Config::default()
        };
        assert_eq!(key_file(&config), PathBuf::from("data/secret.key"));
    }
}
