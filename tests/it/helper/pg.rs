//! A schema of its own in the test database (`CTL_TEST_DATABASE_URL`), for
//! one test, dropped afterwards.

/// The test database's URL, if one is set.
pub fn base_url() -> Option<String> {
    std::env::var("CTL_TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty())
}

/// A fresh schema; [`Schema::url`] points a backend at it.
pub struct Schema {
    base: String,
    pub name: String,
    rt: tokio::runtime::Runtime,
}

impl Schema {
    /// A new schema, or `None` (with a note on stderr) when no test
    /// database is set. CI sets one, and `.ci/run` fails when it is not
    /// reachable.
    pub fn new() -> Option<Self> {
        let Some(base) = base_url() else {
            eprintln!("CTL_TEST_DATABASE_URL is not set: this PostgreSQL test did not run");
            return None;
        };
        let name = format!("t_{}", ctl::queue::new_id().to_ascii_lowercase());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let schema = Self { base, name, rt };
        schema.sql(&format!("CREATE SCHEMA {}", schema.name));
        Some(schema)
    }

    /// The URL of the test database with this schema as its search path.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }

    /// Runs SQL (as the test database's user, schema-qualify names).
    pub fn sql(&self, sql: &str) {
        let (url, sql) = (self.base.clone(), sql.to_owned());
        self.rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at CTL_TEST_DATABASE_URL is not reachable: {e}"));
            let driver = tokio::spawn(conn);
            client.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            drop(client);
            let _ = driver.await;
        });
    }

    /// The first column of the first row of a query, as text.
    pub fn text(&self, sql: &str) -> Option<String> {
        let (url, sql) = (self.base.clone(), sql.to_owned());
        self.rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            let driver = tokio::spawn(conn);
            let row = client.query_opt(&sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            drop(client);
            let _ = driver.await;
            row.and_then(|r| r.get::<_, Option<String>>(0))
        })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}
