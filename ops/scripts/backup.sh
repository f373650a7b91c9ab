#!/usr/bin/env bash
# Backs up a ctl data directory while ctl runs, into a new timestamped
# directory, and keeps the newest CTL_BACKUP_KEEP of them.
#
#   CTL_HOME=/var/lib/ctl CTL_BACKUP_DIR=/var/backups/ctl backup.sh
#
# Every SQLite database (ctl.db, and any under rag/) is copied with
# `VACUUM INTO`, which reads one consistent snapshot while the server and
# workers keep writing, and is checked with `PRAGMA integrity_check`. The
# queue, the event logs and everything else go into files.tar.gz. Worker
# locks, claim files and half-written jobs (queue/_tmp) are left out: they
# mean nothing without the processes that made them. Restore with
# restore.sh. Needs sqlite3 and GNU tar.
set -euo pipefail

home="${CTL_HOME:-/var/lib/ctl}"
dest="${CTL_BACKUP_DIR:-/var/backups/ctl}"
keep="${CTL_BACKUP_KEEP:-14}"

die() { echo "backup.sh: $*" >&2; exit 1; }
command -v sqlite3 >/dev/null || die "sqlite3 is not installed (apt-get install sqlite3)"
[ -f "$home/ctl.db" ] || die "$home is not a ctl data directory (no ctl.db)"
case "$keep" in '' | *[!0-9]*) die "CTL_BACKUP_KEEP must be a number, not '$keep'" ;; esac

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dest"
work="$dest/.partial-$stamp"
rm -rf "$work"
mkdir -p "$work/db"
trap 'rm -rf "$work"' EXIT

# The databases: a consistent copy each, whatever is writing.
excludes=()
while IFS= read -r -d '' db; do
  rel="${db#"$home"/}"
  mkdir -p "$work/db/$(dirname "$rel")"
  out="$work/db/$rel"
  sqlite3 "$db" "VACUUM INTO '${out//\'/\'\'}'"
  check="$(sqlite3 "$out" 'PRAGMA integrity_check')"
  [ "$check" = ok ] || die "integrity check of the copy of $rel failed: $check"
  excludes+=("--exclude=./$rel" "--exclude=./$rel-wal" "--exclude=./$rel-shm" "--exclude=./$rel-journal")
done < <(find "$home" -name '*.db' -type f -not -path "$home/workers/*" -print0)

# The files. Jobs keep moving between queue directories while tar reads
# them; tar's "changed/removed as we read it" (exit 1) is expected here.
set +e
tar -C "$home" --warning=no-file-changed --warning=no-file-removed --ignore-failed-read \
  --exclude=./workers --exclude=./queue/_tmp --exclude='./.ready-*' --exclude='./.doctor-*' \
  "${excludes[@]}" -czf "$work/files.tar.gz" .
rc=$?
set -e
[ "$rc" -le 1 ] || die "tar failed (exit $rc)"

mv "$work" "$dest/$stamp"
trap - EXIT
echo "backup.sh: wrote $dest/$stamp"

# Keep the newest $keep backups.
mapfile -t old < <(find "$dest" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*Z' | sort -r | tail -n +"$((keep + 1))")
for d in "${old[@]}"; do
  rm -rf -- "$d"
done
