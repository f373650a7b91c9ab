//! A connection that prepares each statement once.
//!
//! tokio-postgres prepares a statement given as text on every call: a
//! round trip to parse it before the one that runs it. [`Conn`] keeps the
//! statements it prepared, by their text, for as long as the connection
//! lives (it goes back to the pool with them), so a hot path such as a
//! claim or a finish costs one round trip per statement, not two.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, Row, Statement};

/// Prepared statements kept per connection at most; past it the cache
/// starts over (only statements built from user input, such as a list's
/// filters, could ever reach it).
const MAX_STATEMENTS: usize = 256;

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// A connection with its prepared statements.
pub struct Conn {
    client: Client,
    statements: Mutex<HashMap<String, Statement>>,
}

/// A transaction on a [`Conn`], sharing its prepared statements.
pub struct Tx<'a> {
    tx: tokio_postgres::Transaction<'a>,
    statements: &'a Mutex<HashMap<String, Statement>>,
}

/// `sql` prepared on `client`, from the cache when it was before.
async fn prepared(
    client: &impl GenericClient,
    statements: &Mutex<HashMap<String, Statement>>,
    sql: &str,
) -> Result<Statement, tokio_postgres::Error> {
    if let Some(s) = statements.lock().unwrap_or_else(PoisonError::into_inner).get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql).await?;
    let mut cache = statements.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= MAX_STATEMENTS {
        cache.clear();
    }
    cache.insert(sql.to_owned(), s.clone());
    Ok(s)
}

/// The statement methods, the same on a connection and a transaction.
macro_rules! statements {
    ($client:ident) => {
        pub async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
            let s = prepared(&self.$client, self.statements(), sql).await?;
            self.$client.execute(&s, params).await
        }

        pub async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
            let s = prepared(&self.$client, self.statements(), sql).await?;
            self.$client.query(&s, params).await
        }

        pub async fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, tokio_postgres::Error> {
            let s = prepared(&self.$client, self.statements(), sql).await?;
            self.$client.query_one(&s, params).await
        }

        pub async fn query_opt(
            &self,
            sql: &str,
            params: Params<'_>,
        ) -> Result<Option<Row>, tokio_postgres::Error> {
            let s = prepared(&self.$client, self.statements(), sql).await?;
            self.$client.query_opt(&s, params).await
        }

        /// Statements run as one simple query (no parameters, not cached).
        pub async fn batch_execute(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
            self.$client.batch_execute(sql).await
        }
    };
}

impl Conn {
    pub fn new(client: Client) -> Self {
        Self { client, statements: Mutex::new(HashMap::new()) }
    }

    fn statements(&self) -> &Mutex<HashMap<String, Statement>> {
        &self.statements
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub async fn transaction(&mut self) -> Result<Tx<'_>, tokio_postgres::Error> {
        let tx = self.client.transaction().await?;
        Ok(Tx { tx, statements: &self.statements })
    }

    statements!(client);
}

impl Tx<'_> {
    fn statements(&self) -> &Mutex<HashMap<String, Statement>> {
        self.statements
    }

    pub async fn commit(self) -> Result<(), tokio_postgres::Error> {
        self.tx.commit().await
    }

    statements!(tx);
}
