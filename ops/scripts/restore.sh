#!/usr/bin/env bash
# Restores a backup made by backup.sh into a ctl data directory.
#
#   systemctl stop ctl-serve ctl-worker      # nothing may run on the directory
#   restore.sh /var/backups/ctl/20261201T043000Z /var/lib/ctl
#   chown -R ctl:ctl /var/lib/ctl && systemctl start ctl-serve ctl-worker
#
# An existing data directory is moved aside (to DIR.before-restore-STAMP),
# never deleted. Because jobs moved between queue directories while the
# backup ran, a job can appear twice: a finished copy wins over a queued or
# running one, and a running one goes back to the queue, where the next
# worker takes it again (delivery is at-least-once).
set -euo pipefail

die() { echo "restore.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: restore.sh BACKUP_DIR DATA_DIR"
backup="$1"
home="$2"
if [ ! -f "$backup/files.tar.gz" ] || [ ! -f "$backup/db/ctl.db" ]; then
  die "$backup is not a backup made by backup.sh"
fi
command -v sqlite3 >/dev/null || die "sqlite3 is not installed (apt-get install sqlite3)"

# A live worker holds its lock file; refuse to restore under it.
if [ -d "$home/workers" ] && command -v flock >/dev/null; then
  for lock in "$home"/workers/*.lock; do
    [ -e "$lock" ] || continue
    flock -n "$lock" true || die "a ctl worker is running on $home ($lock is locked): stop it first"
  done
fi

if [ -e "$home" ]; then
  aside="$home.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  mv "$home" "$aside"
  echo "restore.sh: moved the old data directory to $aside"
fi
mkdir -p "$home"
tar -C "$home" -xzf "$backup/files.tar.gz"
cp -a "$backup/db/." "$home/"
check="$(sqlite3 "$home/ctl.db" 'PRAGMA integrity_check')"
[ "$check" = ok ] || die "integrity check of the restored ctl.db failed: $check"

q="$home/queue"
mkdir -p "$q/_tmp" "$q/_queue" "$q/_active" "$q/_completed" "$q/_failed" "$q/_corrupt"
for f in "$q"/_queue/*.json "$q"/_active/*.json; do
  [ -e "$f" ] || continue
  name="$(basename "$f")"
  if [ -e "$q/_completed/$name" ] || [ -e "$q/_failed/$name" ]; then
    rm -f -- "$f"
  elif [ "$(basename "$(dirname "$f")")" = _active ]; then
    if [ -e "$q/_queue/$name" ]; then rm -f -- "$f"; else mv -- "$f" "$q/_queue/$name"; fi
  fi
done
echo "restore.sh: restored $backup into $home"
