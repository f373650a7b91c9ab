//! Failed jobs as they are recorded, for the alert sender: a cursor over
//! the record table's insertion order (`rowid`), so each failure is seen
//! once, and a job that fails again after a retry is seen again (a record
//! is replaced, which gives it a new rowid).

use rusqlite::params;

use super::{Store, StoreError};

/// A failed job's record, as an alert shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub id: String,
    pub model: String,
    pub error: String,
}

impl Store {
    /// Where a failure cursor starts: after every record that exists now.
    pub fn failure_cursor(&self) -> Result<i64, StoreError> {
        self.read(|c| c.query_row("SELECT COALESCE(MAX(rowid), 0) FROM jobs", [], |r| r.get(0)))
    }

    /// Failed jobs recorded after `cursor`, oldest first, and the new cursor.
    pub fn failures_after(&self, cursor: i64) -> Result<(Vec<Failure>, i64), StoreError> {
        self.read(|c| {
            // One statement, so the cursor moves exactly past what was read.
            let mut stmt = c.prepare(
                "SELECT rowid, state = 'failed', id, model, COALESCE(error, '') FROM jobs
                 WHERE rowid > ?1 ORDER BY rowid",
            )?;
            let mut rows = stmt.query(params![cursor])?;
            let mut out = Vec::new();
            let mut next = cursor;
            while let Some(r) = rows.next()? {
                next = r.get(0)?;
                if r.get::<_, bool>(1)? {
                    out.push(Failure { id: r.get(2)?, model: r.get(3)?, error: r.get(4)? });
                }
            }
            Ok((out, next))
        })
    }
}
