#!/usr/bin/env python3
"""Usage: scripts/sqlite_ceiling.py FILE [SECONDS]. The machine's SQLite ceiling: bare transactions on the bench's database file's settings
(WAL, synchronous=NORMAL), one connection, from Python's sqlite3 (a C call per statement)."""
import sqlite3, sys, time, os, json
path = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE IF NOT EXISTS bare (id TEXT PRIMARY KEY, user_id TEXT, params TEXT, credits INTEGER, created_at INTEGER)")
db.execute("CREATE TABLE IF NOT EXISTS u (id TEXT PRIMARY KEY, balance INTEGER, held INTEGER, fair_last INTEGER)")
db.execute("CREATE TABLE IF NOT EXISTS l (id INTEGER PRIMARY KEY, user_id TEXT, amount INTEGER, gen TEXT UNIQUE, created_at INTEGER)")
db.execute("INSERT OR IGNORE INTO u VALUES ('u1', 1000000000, 0, 0)")
params = json.dumps({"prompt": "a red fox running through snow", "aspect_ratio": "16:9", "duration": 5})
def loop(body):
    n = 0; end = time.perf_counter() + seconds; t0 = time.perf_counter()
    while time.perf_counter() < end:
        db.execute("BEGIN IMMEDIATE"); body(n); db.execute("COMMIT"); n += 1
    return n / (time.perf_counter() - t0)
run = os.getpid()
def one(n):
    db.execute("INSERT INTO bare VALUES (?, 'u1', ?, 10, ?)", (f"g{run}-{n}", params, n))
def submission(n, prefix="s"):
    g = f"{prefix}{run}-{n}"
    db.execute("UPDATE u SET balance = balance - 10, held = held + 10 WHERE id = 'u1' AND balance >= 10")
    db.execute("INSERT INTO l (user_id, amount, gen, created_at) VALUES ('u1', -10, ?, ?)", (g, n))
    db.execute("UPDATE u SET fair_last = fair_last + 1 WHERE id = 'u1'")
    db.execute("INSERT INTO bare VALUES (?, 'u1', ?, 10, ?)", (g, params, n))
def batch(n):
    for i in range(64):
        submission(n * 64 + i, "b")
a = loop(one); b = loop(submission); c = loop(batch) * 64
print(json.dumps({"insert+commit per s": round(a), "4-statement submission+commit per s": round(b),
                  "4-statement submissions in batches of 64 per s": round(c)}))
