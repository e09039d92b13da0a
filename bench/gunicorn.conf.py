"""Gunicorn settings of every server in the benchmark: the project, the peer and the ceiling.

The same for all three, from the environment bench/servers.py sets. Unlike the production
gunicorn.conf.py, workers are never recycled (a restart mid-run would show up as latency of
whichever server it hit), connections are not kept alive (below) and gunicorn writes no access
log (the project logs its own line per request, which is part of what is measured).
"""

import os
import sys

bind = os.environ["BENCH_BIND"]
workers = int(os.environ["BENCH_WORKERS"])
worker_class = os.environ["BENCH_WORKER_CLASS"]
threads = int(os.environ["BENCH_THREADS"])
timeout = 60
max_requests = 0
accesslog = None
errorlog = "-"
loglevel = "warning"
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
control_socket_disable = True
# A connection per request, for gthread workers as for sync ones (which never keep one alive).
# With keep-alive, wrk's 16 connections stayed with whichever worker accepted them: runs split
# them 16/0, 15/1 or 8/8 at random, and the same server measured 4,500 or 2,000 req/s (one
# worker holding them all, its four threads queued on one GIL) depending on the split.
keepalive = 0


def post_fork(server: object, worker: object) -> None:
    # The production gunicorn.conf.py's GIL switch interval, for every server alike.
    sys.setswitchinterval(0.001)
