//! Idempotency keys: a request repeated with the same `Idempotency-Key`
//! (by the same token) gets the job the first one made, not a second job.

use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, params};

use super::sessions::ts_text;
use super::{Store, StoreError};

/// How long a key is remembered.
pub(crate) const KEEP: SignedDuration = SignedDuration::from_hours(24);

/// What a key already stood for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is new: it now stands for the job offered.
    New,
    /// The key was used before, for this job; `same_request` tells whether
    /// that request had the same body.
    Existing { job_id: String, same_request: bool },
}

impl Store {
    /// Claims `key` for `job_id` unless it already stands for a job.
    pub fn claim_idempotency_key(
        &self,
        token_id: &str,
        key: &str,
        request_sha256: &str,
        job_id: &str,
    ) -> Result<KeyClaim, StoreError> {
        let now = Timestamp::now();
        let oldest = ts_text(now - KEEP);
        let now = ts_text(now);
        self.write(|tx| {
            tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?1", [&oldest])?;
            let found: Option<(String, String)> = tx
                .query_row(
                    "SELECT job_id, request_sha256 FROM idempotency_keys WHERE token_id = ?1 AND key = ?2",
                    params![token_id, key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((job_id, sha)) = found {
                return Ok(KeyClaim::Existing { job_id, same_request: sha == request_sha256 });
            }
            tx.execute(
                "INSERT INTO idempotency_keys (token_id, key, request_sha256, job_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token_id, key, request_sha256, job_id, now],
            )?;
            Ok(KeyClaim::New)
        })
    }

    /// Forgets a key whose job could not be submitted.
    pub fn release_idempotency_key(&self, token_id: &str, key: &str, job_id: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM idempotency_keys WHERE token_id = ?1 AND key = ?2 AND job_id = ?3",
                params![token_id, key, job_id],
            )
            .map(drop)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_stands_for_one_job_per_token_and_knows_its_request() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ctl.db")).unwrap();
        assert_eq!(store.claim_idempotency_key("t1", "k", "aa", "J1").unwrap(), KeyClaim::New);
        let again = store.claim_idempotency_key("t1", "k", "aa", "J2").unwrap();
        assert_eq!(again, KeyClaim::Existing { job_id: "J1".into(), same_request: true });
        let other_body = store.claim_idempotency_key("t1", "k", "bb", "J3").unwrap();
        assert_eq!(other_body, KeyClaim::Existing { job_id: "J1".into(), same_request: false });
        // Another token's key of the same name is its own.
        assert_eq!(store.claim_idempotency_key("t2", "k", "aa", "J4").unwrap(), KeyClaim::New);
        store.release_idempotency_key("t1", "k", "J1").unwrap();
        assert_eq!(store.claim_idempotency_key("t1", "k", "aa", "J5").unwrap(), KeyClaim::New);
    }
}
