#!/bin/bash
# usage: scripts/profile_submit.sh BINARY OUTDIR [wrk]  — starts sim + serve on a fresh SQLite file, 16 customers,
# profiles the server with perf while Python submits for 12 s (after a 3 s warm-up). With `wrk`, the load is
# wrk with 64 connections (4 per customer) as fast as the server answers, instead of Python's ~150/s.
# BINARY is a reelgate binary (or a script that execs `reelgate-bench reelgate "$@"`).
set -e
BIN=$1; OUT=$2; mkdir -p $OUT; rm -rf $OUT/data; mkdir -p $OUT/data
export REELGATE_DATABASE_URL=sqlite://$OUT/data/reelgate.db
FLAGS="--rate-limit off --seed 1 --balance 1000000000000"
for f in veo3 veo3-fast sora sora-pro kling grok; do FLAGS="$FLAGS --$f-ms 36000000"; done
$BIN sim --listen 127.0.0.1:18091 $FLAGS > $OUT/sim.log 2>&1 & SIM=$!
KEYS=""
$BIN migrate > /dev/null 2>&1 || true
for i in $(seq 1 16); do
  $BIN admin create-user --email c$i@example.com --password "correct horse battery $i" > /dev/null
  $BIN admin grant --email c$i@example.com --credits 100000000 > /dev/null
  K=$($BIN admin create-api-key --email c$i@example.com | tail -1)
  KEYS="$KEYS,$K"
done
KEYS=${KEYS#,}
REELGATE_LISTEN=127.0.0.1:18090 REELGATE_PUBLIC_URL=http://127.0.0.1:18090 \
REELGATE_KIE_API_KEY=bench-kie-key REELGATE_KIE_BASE_URL=http://127.0.0.1:18091 \
REELGATE_KIE_UPLOAD_URL=http://127.0.0.1:18091 REELGATE_SECRET=bench-secret-0123456789abcdef0123456789abcdef \
  $BIN serve > $OUT/serve.log 2>&1 & SRV=$!
for i in $(seq 1 100); do curl -sf http://127.0.0.1:18090/healthz >/dev/null && break; sleep 0.1; done
if [ "$3" = wrk ]; then
  cat > $OUT/submit.lua <<LUA
local keys = {}
for k in string.gmatch("$KEYS", "[^,]+") do keys[#keys + 1] = k end
local n = 0
function setup(thread) end
init = function(args) n = math.random(#keys) end
request = function()
  n = n % #keys + 1
  return wrk.format("POST", "/v1/generations", {["Authorization"] = "Bearer " .. keys[n],
    ["Content-Type"] = "application/json"},
    '{"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow"}')
end
LUA
  load() { wrk -t2 -c64 -d${1}s --latency -s $OUT/submit.lua http://127.0.0.1:18090; }
else
  load() { python3 $(dirname "$0")/submit_load.py 127.0.0.1 18090 $KEYS $1; }
fi
load 3 > /dev/null   # warm-up
uptime > $OUT/uptime.txt
perf record -F 999 -o $OUT/perf.data -p $SRV -- sleep 12 2> $OUT/perf-record.log &
PERF=$!
perf stat -e task-clock -p $SRV -o $OUT/perf-stat.txt -- sleep 12 &
STAT=$!
load 12 > $OUT/load.json
wait $PERF $STAT || true
uptime >> $OUT/uptime.txt
kill $SRV $SIM; wait $SRV $SIM 2>/dev/null || true
cat $OUT/load.json $OUT/perf-stat.txt $OUT/uptime.txt
