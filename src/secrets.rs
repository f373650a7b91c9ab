//! Secrets: API keys, webhook URLs and tokens, read at run time from the
//! environment, never from the config file.
//!
//! Every secret ctl reads comes from a variable `VAR` or from the file named
//! by `VAR_FILE` (the convention of Docker secrets and of systemd's
//! `LoadCredential=`, where the unit sets `VAR_FILE=%d/name`). So ctl runs
//! unchanged under a secrets manager that sets variables (`infisical run --
//! ctl worker`) and under one that mounts files.
//!
//! A [`Secret`] prints as `[redacted]` in `Debug` and `Display`, so it
//! cannot slip into a log line or an error message by formatting. Every
//! value read is also remembered, so that [`redact`] can scrub text that
//! came from elsewhere (a server's error body that echoes a key) before it
//! is stored or shown.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

/// A secret value. Only [`Secret::expose`] shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from elsewhere, and remembers it for [`redact`].
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        remember(&value);
        Self(value)
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a secret could not be read. The message names the variable and the
/// file, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read {var}_FILE ({path}): {source}")]
    File { var: String, path: PathBuf, source: std::io::Error },
    #[error("both {var} and {var}_FILE are set; set one of them")]
    Both { var: String },
}

/// The secret in `var`, or in the file `var_FILE` names. Surrounding
/// whitespace (a trailing newline in a file) is dropped; an empty value is
/// no value.
pub fn from_env(var: &str) -> Result<Option<Secret>, SecretError> {
    from_lookup(var, |k| std::env::var(k).ok())
}

/// [`from_env`] over any variable lookup (tests pass a map).
pub fn from_lookup(
    var: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, SecretError> {
    let direct = lookup(var).filter(|v| !v.trim().is_empty());
    let file = lookup(&format!("{var}_FILE")).filter(|v| !v.trim().is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(SecretError::Both { var: var.to_owned() }),
        (Some(v), None) => Ok(Some(Secret::new(v.trim()))),
        (None, Some(path)) => {
            let path = crate::config::expand_tilde(std::path::Path::new(path.trim()));
            let text = std::fs::read_to_string(&path).map_err(|source| SecretError::File {
                var: var.to_owned(),
                path: path.clone(),
                source,
            })?;
            let text = text.trim();
            Ok((!text.is_empty()).then(|| Secret::new(text)))
        }
        (None, None) => Ok(None),
    }
}

/// Values shorter than this are not scrubbed from text: a one-letter test
/// key would otherwise mangle every message.
const MIN_REDACT_LEN: usize = 6;

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn remember(value: &str) {
    if value.len() < MIN_REDACT_LEN {
        return;
    }
    let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    if !known.iter().any(|k| k == value) {
        known.push(value.to_owned());
    }
}

/// `text` with every secret this process has read replaced by `[redacted]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), "[redacted]"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_variable_or_its_file_gives_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "from-the-file-123\n").unwrap();
        let path = file.to_str().unwrap();

        let s = from_lookup("K", lookup(&[("K", " direct-value-1 ")])).unwrap().unwrap();
        assert_eq!(s.expose(), "direct-value-1");
        let s = from_lookup("K", lookup(&[("K_FILE", path)])).unwrap().unwrap();
        assert_eq!(s.expose(), "from-the-file-123");
        assert!(from_lookup("K", lookup(&[])).unwrap().is_none());
        assert!(from_lookup("K", lookup(&[("K", "  ")])).unwrap().is_none());
        // An empty credential file (a feature left off) is no secret.
        std::fs::write(&file, "\n").unwrap();
        assert!(from_lookup("K", lookup(&[("K_FILE", path)])).unwrap().is_none());
    }

    #[test]
    fn errors_name_the_variable_and_file_never_the_value() {
        let err = from_lookup("K", lookup(&[("K", "secret-value-9"), ("K_FILE", "/x")])).unwrap_err();
        assert_eq!(err.to_string(), "both K and K_FILE are set; set one of them");
        let err = from_lookup("K", lookup(&[("K_FILE", "/nonexistent/key")])).unwrap_err().to_string();
        assert!(err.starts_with("cannot read K_FILE (/nonexistent/key): "), "{err}");
    }

    #[test]
    fn secrets_format_as_redacted_and_are_scrubbed_from_text() {
        let s = Secret::new("canary-secrets-unit-test");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(redact("401: bad key canary-secrets-unit-test given"), "401: bad key [redacted] given");
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }
}
