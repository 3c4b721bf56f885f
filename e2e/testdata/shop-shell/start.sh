#!/bin/sh
# Starts the shop the way many entrypoint scripts do, without exec: this shell stays
# PID 1 with the server as its child, and a shell as PID 1 ignores SIGTERM, so
# `docker stop` (and Kubernetes) can only kill the server after the grace period.
set -e
echo "start.sh: starting the shop"
python3 -m shop serve
