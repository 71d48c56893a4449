#!/usr/bin/env python3
# A stand-in for the deployed Python sender (sender.py, not in this repository), written for the
# benchmark only: it does the same work per run as the deployed one did, so that `npm run bench`
# can compare CPU time and memory side by side on one machine. Reads sender.yaml (PyYAML), runs
# the tmp-file check, reads /proc/uptime and PUSHes one JSON frame per receiver with pyzmq
# (Debian: python3-yaml, python3-zmq). Receivers are served one after another, as the deployed
# sender did; a refused connection costs nothing thanks to ZMQ_IMMEDIATE.
#   python3 bench/baseline/sender.py --config sender.yaml
import json
import os
import socket
import sys
import tempfile

import yaml
import zmq


def tmp_file_check():
    data = os.urandom(32)
    fd, path = tempfile.mkstemp(prefix="heartbeat-check-")
    try:
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        with open(path, "rb") as f:
            if f.read() != data:
                raise OSError("read back differs")
    finally:
        os.unlink(path)


def main():
    config_path = sys.argv[sys.argv.index("--config") + 1] if "--config" in sys.argv else "/etc/heartbeat-mesh/sender.yaml"
    with open(config_path) as f:
        config = yaml.safe_load(f)
    if config.get("enabled") is not True:
        return 0
    if config.get("tmp_file_check", True):
        tmp_file_check()
    with open("/proc/uptime") as f:
        uptime = int(float(f.read().split()[0]))
    context = zmq.Context()
    for host, receiver in config["receivers"].items():
        message = {"token": receiver["token"], "resource": receiver.get("resource") or socket.gethostname(), "payload": {"uptime": uptime}}
        if "timeout" in receiver:
            message["timeout"] = receiver["timeout"]
        sock = context.socket(zmq.PUSH)
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.SNDTIMEO, int(config.get("send_timeout", 10) * 1000))
        sock.setsockopt(zmq.LINGER, 2000)
        sock.connect("tcp://%s:%d" % (host, receiver.get("port", 15987)))
        try:
            sock.send_string(json.dumps(message))
        except zmq.Again:
            pass  # a receiver that is down is skipped quietly
        sock.close()
    context.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
