"""Closed-loop submit load for profiling: N threads, one keep-alive connection each."""
import http.client, json, sys, threading, time
host, port = sys.argv[1], int(sys.argv[2])
keys = sys.argv[3].split(",")
seconds = float(sys.argv[4])
path = sys.argv[5] if len(sys.argv) > 5 else "submit"
body = json.dumps({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow"})
counts = {}
lock = threading.Lock()
def run(key):
    c = http.client.HTTPConnection(host, port)
    h = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    end = time.time() + seconds
    local = {}
    while time.time() < end:
        c.request("POST", "/v1/generations", body, h)
        r = c.getresponse(); r.read()
        local[r.status] = local.get(r.status, 0) + 1
    with lock:
        for k, v in local.items():
            counts[k] = counts.get(k, 0) + v
ts = [threading.Thread(target=run, args=(k,)) for k in keys]
t0 = time.time()
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps({"seconds": time.time() - t0, "counts": counts}))
