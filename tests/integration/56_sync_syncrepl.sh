#!/bin/sh
# 56_sync_daemon.sh with syncrepl refreshAndPersist as the only watch.
WATCH=syncrepl exec sh "${SRCDIR:-$(pwd)}/tests/integration/56_sync_daemon.sh"
