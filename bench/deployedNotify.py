#!/usr/bin/env python3
"""The deployed receiver's way of delivering: one notify_devilry run after another, the JSON on its
stdin (subprocess.run with input=), no pacing. Prints notifications per second as one JSON line.
Usage: deployedNotify.py COMMAND COUNT"""
import json
import subprocess
import sys
import time

command, count = sys.argv[1], int(sys.argv[2])
notification = {
    "severity": "major", "event": "heartbeat_mesh_heartbeat_timeout", "text": "Heartbeat from host (client Bench) timed out",
    "resource": "host.bench.example.com", "service": "heartbeat", "group": "host.bench.example.com", "value": 125,
    "origin": "heartbeat_mesh/receiver.py", "client": "Bench", "correlate": ["heartbeat_mesh_heartbeat_ok"],
    "attributes": {"receiver": "bench", "timeout": 60},
}
started = time.perf_counter()
for i in range(count):
    notification["resource"] = f"host{i}.bench.example.com"
    subprocess.run([command], input=json.dumps(notification).encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
print(json.dumps({"perSecond": round(count / (time.perf_counter() - started), 1)}))
