#!/bin/sh
# A Backplane agent in 22 lines of shell (needs curl and jq): it runs the task payload's
# "command" with sh. Whoever may edit the project's tasks can then run commands on this host.
: "${BACKPLANE_URL:=http://localhost:8080}" "${BACKPLANE_AGENT_KEY:?set BACKPLANE_AGENT_KEY}"
api() { curl -sS -H "x-api-key: $BACKPLANE_AGENT_KEY" -H 'content-type: application/json' "$@"; }
beat() { api -X POST "$BACKPLANE_URL/api/v1/agents/me/heartbeat" -d '{}' > /dev/null; }
(while :; do beat; sleep 15; done) &          # heartbeats keep the agent online and its runs' leases alive
h=$(mktemp); trap 'kill $!; rm -f "$h"' EXIT
while true; do
  run=$(api -D "$h" -X POST "$BACKPLANE_URL/api/v1/agents/me/claim?wait=25") || { sleep 5; continue; }
  [ -z "$run" ] && continue                 # 204: no work within 25 s, ask again
  id=$(printf '%s' "$run" | jq -r '.id // empty')
  [ -z "$id" ] && { echo "claim refused: $run" >&2; sleep 5; continue; }
  tp=$(tr -d '\r' < "$h" | grep -i '^traceparent:' | cut -d' ' -f2)   # the run's trace, when tracing is on
  cmd=$(printf '%s' "$run" | jq -r '.payload.command // "true"')
  if out=$(sh -c "$cmd" 2>&1); then to=complete; else to=fail; fi
  printf '%s' "$out" | tail -c 60000 | jq -Rs --arg to "$to" \
    'if $to == "complete" then {result: {ok: true}, log: .} else {error: "command failed", log: .} end' \
    | api ${tp:+-H "traceparent: $tp"} -X POST "$BACKPLANE_URL/api/v1/executions/$id/$to" -d @- > /dev/null
  echo "$to $id"
done
