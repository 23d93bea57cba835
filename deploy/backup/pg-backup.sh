#!/bin/sh
# pg-backup.sh: one PostgreSQL backup of Backplane's database, for a cron or systemd timer.
#   DATABASE_URL=postgres://… deploy/backup/pg-backup.sh [dir] [keep-days]
# Writes <dir>/backplane-<UTC time>.dump (pg_dump custom format: compressed, restorable table by
# table with pg_restore) through a temporary name, so a crash never leaves a truncated dump that
# looks complete; then deletes dumps older than keep-days (default 14). The URL comes from the
# environment, never the command line (other users can read command lines in ps).
# Use a pg_dump of the server's major version or newer (PostgreSQL 18 for the compose stack).
set -eu
: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
dir=${1:-/var/backups/backplane}
keep=${2:-14}
mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="$dir/.backplane-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT
umask 077
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$partial" --dbname="$DATABASE_URL"
mv "$partial" "$dir/backplane-$stamp.dump"
find "$dir" -maxdepth 1 -name 'backplane-*.dump' -mtime +"$keep" -delete
echo "$dir/backplane-$stamp.dump"
