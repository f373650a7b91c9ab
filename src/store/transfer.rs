//! Rows out of and into the store, for `ctl export` / `ctl import`.

use rusqlite::types::{Value as Sql, ValueRef};
use serde_json::Value;

use super::{Store, StoreError};
use crate::backend::{Row, Table};

impl Store {
    /// Every row of `table` in rowid order (the order it was written),
    /// without its numbering columns; `each` returns false to stop.
    pub fn export_rows(&self, table: Table, each: &mut dyn FnMut(Row) -> bool) -> Result<(), StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM {} ORDER BY rowid", table.name()))?;
            let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let mut row = Row::new();
                for (i, name) in names.iter().enumerate() {
                    if table.numbering().contains(&name.as_str()) {
                        continue;
                    }
                    let v = match r.get_ref(i)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(n) => n.into(),
                        ValueRef::Real(f) => {
                            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                        }
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            String::from_utf8_lossy(t).into_owned().into()
                        }
                    };
                    row.insert(name.clone(), v);
                }
                if !each(row) {
                    break;
                }
            }
            Ok(())
        })
    }

    /// Inserts a row from an export unless a row with the table's key is
    /// there already (false). A column the table does not have is an error.
    pub fn import_row(&self, table: Table, row: &Row) -> Result<bool, StoreError> {
        let columns = self.read(|conn| {
            let mut stmt =
                conn.prepare(&format!("SELECT name FROM pragma_table_info('{}')", table.name()))?;
            stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let mut names = Vec::new();
        let mut values = Vec::new();
        for (name, value) in row {
            if table.numbering().contains(&name.as_str()) {
                continue;
            }
            if !columns.contains(name) {
                return Err(StoreError::Backend(format!("table {} has no column {name:?}", table.name())));
            }
            names.push(format!("\"{name}\""));
            values.push(sql_value(value));
        }
        for key in table.key() {
            if !row.contains_key(*key) {
                return Err(StoreError::Backend(format!("a {} row without {key}", table.name())));
            }
        }
        let marks = vec!["?"; names.len()].join(", ");
        let matches: Vec<String> = table.key().iter().map(|k| format!("\"{k}\" IS ?")).collect();
        let sql = format!(
            "INSERT INTO {t} ({cols}) SELECT {marks} WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE {cond})",
            t = table.name(),
            cols = names.join(", "),
            cond = matches.join(" AND "),
        );
        let keys: Vec<Sql> = table.key().iter().map(|k| sql_value(&row[*k])).collect();
        self.write(|tx| {
            let params = rusqlite::params_from_iter(values.iter().chain(keys.iter()));
            Ok(tx.execute(&sql, params)? == 1)
        })
    }
}

/// A JSON value as SQLite stores it (booleans as 0 and 1, as the store does).
fn sql_value(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => n.as_i64().map_or_else(|| Sql::Real(n.as_f64().unwrap_or(0.0)), Sql::Integer),
        Value::String(s) => Sql::Text(s.clone()),
        other => Sql::Text(other.to_string()),
    }
}
