//! API tokens and browser login sessions.
//!
//! Only SHA-256 hashes of the secrets are stored, so a copy of `ctl.db` lets
//! nobody in. A secret is 32 random bytes: a hash lookup finds it, and no
//! slower password hash is needed against guessing.

use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sessions::{opt_ts_col, ts_col, ts_text};
use super::{Store, StoreError};

/// How an API token secret begins.
pub const TOKEN_PREFIX: &str = "ctl_";
/// How a browser session's cookie secret begins.
pub const WEB_SESSION_PREFIX: &str = "cs_";
/// Random bytes in a secret (64 hex digits).
const SECRET_BYTES: usize = 32;
/// How stale last_used_at may get before a verification rewrites it: a
/// busy client must not turn every request into a write.
pub(crate) const LAST_USED_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Up to a minute behind the last use.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

/// SHA-256 of a secret, lowercase hex: what the database stores.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

const SELECT_TOKEN: &str = "SELECT t.id, t.name, t.created_at, t.last_used_at, t.revoked_at FROM tokens t";

impl Store {
    /// A new token: returns its info and the secret, shown once. The secret is
    /// "ctl_" and 64 lowercase hex digits. Names need not be unique.
    pub fn create_token(&self, name: &str) -> Result<(TokenInfo, String), StoreError> {
        let secret = self.new_secret(TOKEN_PREFIX)?;
        let hash = hash_secret(&secret);
        let info = TokenInfo {
            id: crate::queue::new_id(),
            name: name.to_owned(),
            created_at: Timestamp::now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tokens (id, name, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![info.id, info.name, hash, ts_text(info.created_at)],
            )
        })?;
        Ok((info, secret))
    }

    /// The token's info when the secret matches a token that is not revoked.
    /// Updates last_used_at, at most once a minute per token.
    pub fn verify_token(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        if !well_formed(secret, TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = hash_secret(secret);
        let found = self.read(|c| {
            c.query_row(
                &format!("{SELECT_TOKEN} WHERE t.hash = ?1 AND t.revoked_at IS NULL"),
                [hash],
                row_to_token,
            )
            .optional()
        })?;
        found.map(|info| self.touch(info)).transpose()
    }

    /// All tokens, oldest first, revoked ones included.
    pub fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{SELECT_TOKEN} ORDER BY t.created_at, t.id"))?;
            let rows = stmt.query_map([], row_to_token)?;
            rows.collect()
        })
    }

    /// Revokes the token with this id; failing that, all tokens with this
    /// name; failing that, the one token whose id starts with it (an
    /// ambiguous prefix revokes nothing). Their browser sessions end too.
    /// Returns how many tokens were revoked now (not those revoked before).
    pub fn revoke_token(&self, id_or_name: &str) -> Result<usize, StoreError> {
        if id_or_name.is_empty() {
            return Ok(0);
        }
        let now = ts_text(Timestamp::now());
        self.write(|tx| {
            let ids = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<Vec<String>> {
                let mut stmt = tx.prepare(sql)?;
                let rows = stmt.query_map(p, |r| r.get(0))?;
                rows.collect()
            };
            let mut targets = ids("SELECT id FROM tokens WHERE id = ?1", &[&id_or_name])?;
            if targets.is_empty() {
                targets = ids("SELECT id FROM tokens WHERE name = ?1", &[&id_or_name])?;
            }
            if targets.is_empty() {
                let upper = format!("{id_or_name}\u{7f}");
                targets =
                    ids("SELECT id FROM tokens WHERE id >= ?1 AND id < ?2 LIMIT 2", &[&id_or_name, &upper])?;
                if targets.len() > 1 {
                    targets.clear();
                }
            }
            let mut revoked = 0;
            for id in &targets {
                revoked += tx.execute(
                    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, now],
                )?;
                tx.execute("DELETE FROM web_sessions WHERE token_id = ?1", [id])?;
            }
            Ok(revoked)
        })
    }

    /// A browser session for a verified token: returns the cookie secret
    /// ("cs_" and 64 hex digits), valid for `ttl`. Fails when the token does
    /// not exist; a revoked token's sessions never verify.
    pub fn create_web_session(&self, token_id: &str, ttl: std::time::Duration) -> Result<String, StoreError> {
        let secret = self.new_secret(WEB_SESSION_PREFIX)?;
        let hash = hash_secret(&secret);
        let now = Timestamp::now();
        let expires_at = SignedDuration::try_from(ttl)
            .ok()
            .and_then(|ttl| now.checked_add(ttl).ok())
            .unwrap_or(Timestamp::MAX);
        let (now, expires_at) = (ts_text(now), ts_text(expires_at));
        self.write(|tx| {
            // Expired sessions are purged here, where one is added, so the
            // table stays as small as the number of live browsers.
            tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [&now])?;
            tx.execute(
                "INSERT INTO web_sessions (hash, token_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![hash, token_id, now, expires_at],
            )
        })?;
        Ok(secret)
    }

    /// The owning token when the cookie secret is known, unexpired, and its
    /// token is not revoked. Counts as a use of the token (last_used_at).
    pub fn verify_web_session(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        if !well_formed(secret, WEB_SESSION_PREFIX) {
            return Ok(None);
        }
        let hash = hash_secret(secret);
        let now = ts_text(Timestamp::now());
        let found = self.read(|c| {
            c.query_row(
                &format!(
                    "{SELECT_TOKEN} JOIN web_sessions w ON w.token_id = t.id
                     WHERE w.hash = ?1 AND w.expires_at > ?2 AND t.revoked_at IS NULL"
                ),
                [hash, now],
                row_to_token,
            )
            .optional()
        })?;
        found.map(|info| self.touch(info)).transpose()
    }

    /// Logs a browser out; nothing happens for an unknown secret.
    pub fn delete_web_session(&self, secret: &str) -> Result<(), StoreError> {
        let hash = hash_secret(secret);
        self.write(|tx| tx.execute("DELETE FROM web_sessions WHERE hash = ?1", [&hash]).map(drop))
    }

    /// Records a use of the token unless one was recorded in the last minute.
    fn touch(&self, mut info: TokenInfo) -> Result<TokenInfo, StoreError> {
        let now = Timestamp::now();
        if info.last_used_at.is_some_and(|t| now.duration_since(t) < LAST_USED_EVERY) {
            return Ok(info);
        }
        let cutoff = ts_text(now.checked_sub(LAST_USED_EVERY).unwrap_or(Timestamp::MIN));
        let now_text = ts_text(now);
        // The condition again in SQL: another process may have touched it.
        let changed = self.write(|tx| {
            tx.execute(
                "UPDATE tokens SET last_used_at = ?2
                 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)",
                params![info.id, now_text, cutoff],
            )
        })?;
        if changed > 0 {
            info.last_used_at = Some(now);
        }
        Ok(info)
    }

    /// A fresh secret: `prefix` and 32 random bytes in hex.
    fn new_secret(&self, prefix: &str) -> Result<String, StoreError> {
        // The OS random source failing is no database error, but StoreError
        // has no better place for it, and a user must not see a panic.
        random_secret(prefix).map_err(|e| self.err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
    }
}

/// A new secret: `prefix` and 32 random bytes in hex.
pub(crate) fn random_secret(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{prefix}{}", hex(&bytes)))
}

/// Whether `secret` looks like one of ours: the prefix and 64 lowercase hex
/// digits. Anything else is refused without a database lookup.
pub(crate) fn well_formed(secret: &str, prefix: &str) -> bool {
    secret.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == SECRET_BYTES * 2 && rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

fn row_to_token(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: ts_col(r, 2)?,
        last_used_at: opt_ts_col(r, 3)?,
        revoked_at: opt_ts_col(r, 4)?,
    })
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
