#!/bin/sh
# restore-drill.sh: proves a backup restores, without touching the live database.
#   DATABASE_URL=postgres://… deploy/backup/restore-drill.sh <dump>
# Restores the dump into a scratch database on the same server (the role needs CREATEDB), compares
# it with the live database (applied migrations and rows per table), prints the comparison and
# drops the scratch database. Exit 0 only when every count matches the dump's source at dump time:
# run it right after a backup on a quiet database, or read the printed differences.
set -eu
: "${DATABASE_URL:?set DATABASE_URL to the live database}"
dump=${1:?usage: restore-drill.sh <dump>}
scratch="backplane_restore_drill_$(date -u +%Y%m%d%H%M%S)_$$"
scratch_url=$(printf %s "$DATABASE_URL" | sed -E "s#^(postgres(ql)?://[^/]+)/[^?]*#\\1/$scratch#")
cleanup () { psql --quiet --no-psqlrc --dbname="$DATABASE_URL" -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null; }
psql --quiet --no-psqlrc --dbname="$DATABASE_URL" -c "CREATE DATABASE $scratch" >/dev/null
trap cleanup EXIT
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$scratch_url" "$dump"
# Rows per table of every schema Backplane writes (public, drizzle, pgboss), one "schema.table count" line each.
counts='SELECT n.nspname || '"'"'.'"'"' || c.relname, (xpath('"'"'/row/c/text()'"'"', query_to_xml(format('"'"'SELECT count(*) AS c FROM %I.%I'"'"', n.nspname, c.relname), false, true, '"'"''"'"')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('"'"'r'"'"', '"'"'p'"'"') AND n.nspname NOT IN ('"'"'pg_catalog'"'"', '"'"'information_schema'"'"') AND n.nspname NOT LIKE '"'"'pg_toast%'"'"'
    AND NOT c.relispartition
  ORDER BY 1'
live=$(psql --no-psqlrc -At -F ' ' --dbname="$DATABASE_URL" -c "$counts")
restored=$(psql --no-psqlrc -At -F ' ' --dbname="$scratch_url" -c "$counts")
migrations=$(psql --no-psqlrc -At --dbname="$scratch_url" -c 'SELECT count(*) FROM drizzle.__drizzle_migrations')
tables=$(printf '%s\n' "$restored" | grep -c .)
echo "restored $tables tables and $migrations applied migrations into $scratch"
if [ "$live" != "$restored" ]; then
  echo "restore drill: the restored database differs from the live one (table, live rows vs restored rows):" >&2
  printf '%s\n' "$live" > "${TMPDIR:-/tmp}/$scratch.live"
  printf '%s\n' "$restored" | diff "${TMPDIR:-/tmp}/$scratch.live" - >&2 || true
  rm -f "${TMPDIR:-/tmp}/$scratch.live"
  exit 1
fi
echo "restore drill passed: every table has the same row count as the live database"
