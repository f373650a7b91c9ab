use std::time::Duration;

use super::*;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ctl.db")).unwrap();
    (dir, store)
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn hash_secret_is_sha256_hex() {
    assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(hash_secret(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn created_token_verifies_and_has_the_promised_shape() {
    let (_dir, store) = open();
    let (info, secret) = store.create_token("laptop").unwrap();
    let hex = secret.strip_prefix("ctl_").unwrap();
    assert_eq!(hex.len(), 64);
    assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{secret}");
    assert_eq!(info.id.len(), 26, "a ULID: {}", info.id);
    assert_eq!(info.name, "laptop");
    assert_eq!((info.last_used_at, info.revoked_at), (None, None));

    let got = store.verify_token(&secret).unwrap().unwrap();
    assert_eq!(got.id, info.id);
    assert!(got.last_used_at.is_some());
    assert_eq!(store.list_tokens().unwrap()[0].last_used_at, got.last_used_at);

    let (_, other) = store.create_token("laptop").unwrap();
    assert_ne!(other, secret);
    assert_eq!(store.list_tokens().unwrap().len(), 2);
}

#[test]
fn wrong_or_malformed_secrets_do_not_verify() {
    let (_dir, store) = open();
    let (_, secret) = store.create_token("t").unwrap();
    let mut wrong = secret.clone();
    wrong.replace_range(10..11, if &secret[10..11] == "0" { "1" } else { "0" });
    for bad in [
        wrong.as_str(),
        "",
        "ctl_",
        &secret[..secret.len() - 1],
        &secret.to_uppercase(),
        &secret.replacen("ctl_", "cs_", 1),
        &format!("{secret} "),
    ] {
        assert_eq!(store.verify_token(bad).unwrap(), None, "{bad:?}");
    }
    // A web session secret is not an API token, and the other way round.
    let (info, _) = store.create_token("u").unwrap();
    let cookie = store.create_web_session(&info.id, HOUR).unwrap();
    assert_eq!(store.verify_token(&cookie).unwrap(), None);
    assert_eq!(store.verify_web_session(&secret).unwrap(), None);
}

#[test]
fn last_used_is_written_at_most_once_a_minute() {
    let (_dir, store) = open();
    let (info, secret) = store.create_token("t").unwrap();
    let first = store.verify_token(&secret).unwrap().unwrap().last_used_at.unwrap();
    let second = store.verify_token(&secret).unwrap().unwrap().last_used_at.unwrap();
    assert_eq!(first, second);
    // Pretend the last use was two minutes ago.
    let old = first - jiff::SignedDuration::from_secs(120);
    store
        .write(|tx| {
            tx.execute("UPDATE tokens SET last_used_at = ?2 WHERE id = ?1", params![info.id, ts_text(old)])
        })
        .unwrap();
    let third = store.verify_token(&secret).unwrap().unwrap().last_used_at.unwrap();
    assert!(third > first);
    assert_eq!(store.list_tokens().unwrap()[0].last_used_at, Some(third));
}

#[test]
fn list_is_oldest_first_with_revoked_included() {
    let (_dir, store) = open();
    let names = ["a", "b", "c"];
    let ids: Vec<String> = names.iter().map(|n| store.create_token(n).unwrap().0.id).collect();
    assert_eq!(store.revoke_token("b").unwrap(), 1);
    let listed = store.list_tokens().unwrap();
    assert_eq!(listed.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(listed.iter().map(|t| t.revoked_at.is_some()).collect::<Vec<_>>(), [false, true, false]);
}

#[test]
fn revoke_by_id() {
    let (_dir, store) = open();
    let (a, secret_a) = store.create_token("a").unwrap();
    let (_, secret_b) = store.create_token("b").unwrap();
    assert_eq!(store.revoke_token(&a.id).unwrap(), 1);
    assert_eq!(store.verify_token(&secret_a).unwrap(), None);
    assert!(store.verify_token(&secret_b).unwrap().is_some());
    // Revoking again revokes nothing new and keeps the first time.
    let when = store.list_tokens().unwrap()[0].revoked_at;
    assert!(when.is_some());
    assert_eq!(store.revoke_token(&a.id).unwrap(), 0);
    assert_eq!(store.list_tokens().unwrap()[0].revoked_at, when);
}

#[test]
fn revoke_by_unique_prefix_only() {
    let (_dir, store) = open();
    let (a, secret_a) = store.create_token("a").unwrap();
    // In another millisecond, so the ids part within their time half.
    std::thread::sleep(Duration::from_millis(3));
    let (b, secret_b) = store.create_token("b").unwrap();
    // Ids made close together share their leading characters: find where they part.
    let common = a.id.bytes().zip(b.id.bytes()).take_while(|(x, y)| x == y).count();
    assert!(common < 10, "{} {}", a.id, b.id);
    assert_eq!(store.revoke_token(&a.id[..common]).unwrap(), 0, "ambiguous prefix");
    assert!(store.verify_token(&secret_a).unwrap().is_some());
    assert_eq!(store.revoke_token(&b.id[..=common]).unwrap(), 1);
    assert_eq!(store.verify_token(&secret_b).unwrap(), None);
    assert!(store.verify_token(&secret_a).unwrap().is_some());
    assert_eq!(store.revoke_token("").unwrap(), 0);
    assert_eq!(store.revoke_token("ZZZ").unwrap(), 0);
    assert!(store.verify_token(&secret_a).unwrap().is_some());
}

#[test]
fn revoke_by_name_revokes_all_of_that_name() {
    let (_dir, store) = open();
    let (_, ci1) = store.create_token("ci").unwrap();
    let (_, ci2) = store.create_token("ci").unwrap();
    let (_, other) = store.create_token("laptop").unwrap();
    assert_eq!(store.revoke_token("ci").unwrap(), 2);
    assert_eq!(store.verify_token(&ci1).unwrap(), None);
    assert_eq!(store.verify_token(&ci2).unwrap(), None);
    assert!(store.verify_token(&other).unwrap().is_some());
    assert_eq!(store.revoke_token("ci").unwrap(), 0);
}

#[test]
fn web_session_verifies_until_logged_out() {
    let (_dir, store) = open();
    let (info, _) = store.create_token("browser").unwrap();
    let cookie = store.create_web_session(&info.id, HOUR).unwrap();
    let hex = cookie.strip_prefix("cs_").unwrap();
    assert_eq!(hex.len(), 64);
    assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{cookie}");
    let got = store.verify_web_session(&cookie).unwrap().unwrap();
    assert_eq!(got.id, info.id);
    assert!(got.last_used_at.is_some(), "a browser's use counts as the token's use");
    // A second browser of the same token is independent.
    let other = store.create_web_session(&info.id, HOUR).unwrap();
    store.delete_web_session(&cookie).unwrap();
    assert_eq!(store.verify_web_session(&cookie).unwrap(), None);
    assert!(store.verify_web_session(&other).unwrap().is_some());
    // Logging out twice, or with nonsense, is fine.
    store.delete_web_session(&cookie).unwrap();
    store.delete_web_session("junk").unwrap();
}

#[test]
fn web_session_expires_after_ttl() {
    let (_dir, store) = open();
    let (info, _) = store.create_token("t").unwrap();
    let zero = store.create_web_session(&info.id, Duration::ZERO).unwrap();
    assert_eq!(store.verify_web_session(&zero).unwrap(), None);
    let short = store.create_web_session(&info.id, Duration::from_millis(30)).unwrap();
    let long = store.create_web_session(&info.id, HOUR).unwrap();
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(store.verify_web_session(&short).unwrap(), None);
    assert!(store.verify_web_session(&long).unwrap().is_some());
    // A huge ttl saturates rather than overflowing.
    let forever = store.create_web_session(&info.id, Duration::MAX).unwrap();
    assert!(store.verify_web_session(&forever).unwrap().is_some());
}

#[test]
fn expired_web_sessions_are_purged_when_one_is_created() {
    let (_dir, store) = open();
    let (info, _) = store.create_token("t").unwrap();
    store.create_web_session(&info.id, Duration::ZERO).unwrap();
    store.create_web_session(&info.id, Duration::ZERO).unwrap();
    store.create_web_session(&info.id, HOUR).unwrap();
    let count: i64 =
        store.read(|c| c.query_row("SELECT COUNT(*) FROM web_sessions", [], |r| r.get(0))).unwrap();
    assert_eq!(count, 1);
}

#[test]
fn revoked_token_web_sessions_stop_verifying() {
    let (_dir, store) = open();
    let (a, _) = store.create_token("a").unwrap();
    let (b, _) = store.create_token("b").unwrap();
    let cookie_a = store.create_web_session(&a.id, HOUR).unwrap();
    let cookie_b = store.create_web_session(&b.id, HOUR).unwrap();
    assert_eq!(store.revoke_token("a").unwrap(), 1);
    assert_eq!(store.verify_web_session(&cookie_a).unwrap(), None);
    assert!(store.verify_web_session(&cookie_b).unwrap().is_some());
    // Even a session made after the revocation never verifies.
    let late = store.create_web_session(&a.id, HOUR).unwrap();
    assert_eq!(store.verify_web_session(&late).unwrap(), None);
}

#[test]
fn web_session_for_unknown_token_fails() {
    let (_dir, store) = open();
    assert!(store.create_web_session("no-such-token", HOUR).is_err());
}

#[test]
fn deleting_a_token_row_cascades_to_its_web_sessions() {
    let (_dir, store) = open();
    let (info, _) = store.create_token("t").unwrap();
    let cookie = store.create_web_session(&info.id, HOUR).unwrap();
    store.write(|tx| tx.execute("DELETE FROM tokens WHERE id = ?1", [&info.id])).unwrap();
    assert_eq!(store.verify_web_session(&cookie).unwrap(), None);
    let count: i64 =
        store.read(|c| c.query_row("SELECT COUNT(*) FROM web_sessions", [], |r| r.get(0))).unwrap();
    assert_eq!(count, 0);
}

#[test]
fn database_never_holds_a_plaintext_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctl.db");
    let store = Store::open(&path).unwrap();
    let mut secrets = Vec::new();
    for i in 0..5 {
        let (info, secret) = store.create_token(&format!("t{i}")).unwrap();
        store.verify_token(&secret).unwrap().unwrap();
        let cookie = store.create_web_session(&info.id, HOUR).unwrap();
        store.verify_web_session(&cookie).unwrap().unwrap();
        secrets.push(secret);
        secrets.push(cookie);
    }
    // The hashes are there (the scan would see the secrets), the secrets not,
    // neither in the main file nor in the write-ahead log.
    let mut bytes = Vec::new();
    for name in ["ctl.db", "ctl.db-wal"] {
        if let Ok(b) = std::fs::read(dir.path().join(name)) {
            bytes.extend(b);
        }
    }
    let holds = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    for secret in &secrets {
        assert!(holds(&hash_secret(secret)), "hash of a secret missing from the scan");
        let random = &secret[secret.find('_').unwrap() + 1..];
        assert!(!holds(random), "plaintext secret in the database");
    }
    // After a checkpoint, the main file alone holds everything: still clean.
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    for secret in &secrets {
        let random = &secret[secret.find('_').unwrap() + 1..];
        assert!(!bytes.windows(random.len()).any(|w| w == random.as_bytes()));
    }
}
