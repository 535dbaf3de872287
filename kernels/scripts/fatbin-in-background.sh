#!/usr/bin/env bash
# Runs build-fatbin.sh beside the module's own build: the Maven build starts it at process-resources,
# and the module compiles and runs its tests meanwhile. The tests keep about one core busy, and nvcc
# takes about 5 min of CPU time. So on two cores this saves most of the 3 min the fatbins took when
# they were built at prepare-package. nvcc runs at low priority (nice 10), so the tests keep their
# core. `wait` runs at prepare-package: it waits for the fatbins, prints nvcc's output, fails as
# nvcc failed, and only then copies the fatbins into the classes. So no test ever sees a fatbin
# half written.
#
# Usage: fatbin-in-background.sh start STATE_DIR
#        fatbin-in-background.sh wait STATE_DIR OUT_DIR
# STATE_DIR (under target/) holds the build's output, log, exit status and process group.
set -euo pipefail
mode=${1:?usage: fatbin-in-background.sh start|wait STATE_DIR [OUT_DIR]}
state=${2:?usage: fatbin-in-background.sh start|wait STATE_DIR [OUT_DIR]}
here=$(cd "$(dirname "$0")" && pwd)

case $mode in
  start)
    # a build started before (an interrupted run, or `mvn test` without a package) is stopped first,
    # and gone before its folder is, so that it writes nothing into the new one
    if [ -f "$state/pgid" ]; then
      old=$(cat "$state/pgid")
      kill -- "-$old" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 -- "-$old" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$old" 2>/dev/null || true
    fi
    rm -rf "$state"
    mkdir -p "$state/out"
    # its own session (setsid), all streams away from Maven's, so the exec goal returns at once; a
    # background job of a script is no group leader, so setsid need not fork: its pid is the new group's
    setsid bash -c 'nice -n 10 bash "$2/build-fatbin.sh" "$1/out" > "$1/log" 2>&1; echo $? > "$1/status.part"; mv "$1/status.part" "$1/status"' \
      _ "$state" "$here" < /dev/null > /dev/null 2>&1 &
    echo $! > "$state/pgid"
    ;;
  wait)
    out=${3:?usage: fatbin-in-background.sh wait STATE_DIR OUT_DIR}
    if [ ! -d "$state" ]; then echo "fatbin-in-background: no build was started in $state" >&2; exit 1; fi
    while [ ! -f "$state/status" ]; do
      if [ -f "$state/pgid" ] && ! kill -0 -- "-$(cat "$state/pgid")" 2>/dev/null && [ ! -f "$state/status" ]; then
        echo "fatbin-in-background: the build in $state stopped without an exit status" >&2
        exit 1
      fi
      sleep 1
    done
    cat "$state/log"
    status=$(cat "$state/status")
    if [ "$status" != 0 ]; then exit "$status"; fi
    mkdir -p "$out"
    cp "$state/out/"* "$out/"
    ;;
  *)
    echo "fatbin-in-background: unknown mode $mode (start or wait)" >&2
    exit 2
    ;;
esac
