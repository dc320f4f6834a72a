#!/usr/bin/env bash
# Start the memorization explorer for a shared demo: N supervised workers + the Streamlit app.
#
#   docker/entrypoint.sh [extra `streamlit run` flags...]
#
# Environment (every setting: memcore/settings.py):
#   PORT=8501                 port the app listens on (address: STREAMLIT_ADDRESS, 0.0.0.0)
#   MEMCORE_WORKERS=1         worker processes (`python -m memcore worker`); each is restarted
#                             when it dies (after 1 s, doubling to 30 s while it keeps dying fast)
#   MEMCORE_STORE, MEMCORE_DATA  the job store and the dataset folder (the image: under /data)
#   MEMCORE_DEMO, MEMCORE_READONLY, MEMCORE_DEMO_MAX_*  demo-mode caps (memcore/demo/__init__.py);
#                             checked here, before starting (old MEMLAB_* names: deprecated)
#   MEMCORE_STOP_GRACE=8      seconds between SIGTERM and SIGKILL when stopping: under
#                             `docker stop`'s 10 s default (a worker checks for SIGTERM between
#                             steps and inside CSR searches, then requeues its job; measured stop
#                             times: README, "Share a demo"); a larger value needs `docker stop -t`
#   STREAMLIT_SERVER_BASE_URL_PATH  serve the app under a path (e.g. memlab): streamlit and
#                             docker/healthcheck.py both read it (a --server.baseUrlPath flag is
#                             refused: the healthcheck could not see it)
#   MEMCORE_PREFETCHED=/opt/memlab/datasets  datasets baked into the image, linked into
#                             MEMCORE_DATA when missing there (a fresh /data volume)
#
# Before anything starts, docker/preflight.py checks the demo settings and that the store can be
# written (exit 2 with the reason otherwise).
#
# SIGTERM or SIGINT stops the app and every worker (each in its own process group, so their
# children go too) and exits 0. If the app dies, the workers are stopped and its exit code is
# returned; the container's restart policy decides what happens next.
set -uo pipefail

PY="${PYTHON:-python}"
PORT="${PORT:-8501}"
N_WORKERS="${MEMCORE_WORKERS:-1}"
GRACE="${MEMCORE_STOP_GRACE:-8}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
export PYTHONPATH="${ROOT}${PYTHONPATH:+:$PYTHONPATH}"

# Start "$@" in the background in its own process group (job control on just for the launch:
# on all the time, bash would print job notices), so one `kill -- -PGID` reaches it and anything
# it started, and a terminal's Ctrl-C reaches only this script. Sets $launched to its pid.
launch() {
	set -m
	"$@" &
	launched=$!
	set +m
}

log() { printf '[entrypoint %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if ! [[ "$N_WORKERS" =~ ^[0-9]+$ ]]; then
	log "MEMCORE_WORKERS=$N_WORKERS is invalid: must be a whole number"
	exit 2
fi
if ! [[ "$GRACE" =~ ^[0-9]+$ ]]; then
	log "MEMCORE_STOP_GRACE=$GRACE is invalid: must be a whole number of seconds"
	exit 2
fi
if ((GRACE >= 10)); then
	log "note: MEMCORE_STOP_GRACE=$GRACE is not under docker stop's default 10 s: stop with" \
		"docker stop -t $((GRACE + 2)) (or stop_grace_period) or SIGKILL comes first"
fi

for arg in "$@"; do
	if [[ "$arg" == --server.baseUrlPath* ]]; then
		log "not starting: pass the base URL path as -e STREAMLIT_SERVER_BASE_URL_PATH=PATH" \
			"instead of $arg (streamlit and the healthcheck both read the variable)"
		exit 2
	fi
done

# Fail at start, not at a visitor's first click, when a demo setting is malformed or the store
# cannot be written; say so here when a deprecated MEMLAB_* name is used.
if ! limits="$("$PY" -W default::DeprecationWarning "$HERE/preflight.py")"; then
	log "not starting: fix the problem above"
	exit 2
fi
log "$limits"

# Datasets baked into the image at build time live outside /data, so a mounted volume does not
# hide them: link each one into MEMCORE_DATA unless that folder already has it.
prefetched="${MEMCORE_PREFETCHED:-${MEMLAB_PREFETCHED:-/opt/memlab/datasets}}"
if [[ -n "${MEMCORE_DATA:-}" && -d "$prefetched" ]]; then
	mkdir -p "$MEMCORE_DATA"
	for item in "$prefetched"/*; do
		[[ -e "$item" && ! -e "$MEMCORE_DATA/$(basename "$item")" ]] || continue
		ln -s "$item" "$MEMCORE_DATA/" && log "dataset $(basename "$item") linked from $prefetched"
	done
fi

worker_pid=() worker_started=() worker_delay=() restart_at=()
app_pid=""
stopping=0

start_worker() {
	local i=$1
	launch "$PY" -m memcore worker
	worker_pid[i]=$launched
	worker_started[i]=$SECONDS
	log "worker $i started (pid ${worker_pid[i]})"
}

alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

stop_all() {
	local sig=$1 code=${2:-0} pids=() deadline
	stopping=1
	trap '' TERM INT # a second signal must not interrupt the shutdown
	log "stopping (${sig}): app and ${#worker_pid[@]} worker(s)"
	for p in "$app_pid" "${worker_pid[@]}"; do
		[[ -n "$p" ]] && pids+=("$p") && kill -TERM -- "-$p" 2>/dev/null
	done
	deadline=$((SECONDS + GRACE))
	while ((SECONDS < deadline)); do
		local left=0
		for p in "${pids[@]}"; do
			# A group is gone when no process in it answers (the leader may already be a zombie).
			kill -0 -- "-$p" 2>/dev/null && left=1
		done
		((left)) || break
		sleep 0.2
	done
	for p in "${pids[@]}"; do
		if kill -0 -- "-$p" 2>/dev/null; then
			log "process group $p ignored SIGTERM for ${GRACE}s: SIGKILL"
			kill -KILL -- "-$p" 2>/dev/null
		fi
	done
	wait 2>/dev/null
	log "stopped"
	exit "$code"
}

trap 'stop_all SIGTERM 0' TERM
trap 'stop_all SIGINT 0' INT

for ((i = 0; i < N_WORKERS; i++)); do
	worker_delay[i]=1
	start_worker "$i"
done

# The app must not start workers of its own (they would escape this supervisor); it still shows
# MEMCORE_WORKERS as the number wanted. Public-server settings; extra flags given to this script
# come last and win.
launch env MEMCORE_WORKERS_SUPERVISED=1 "$PY" -m streamlit run "$ROOT/app/main.py" \
	--server.port "$PORT" \
	--server.address "${STREAMLIT_ADDRESS:-0.0.0.0}" \
	--server.headless true \
	--browser.gatherUsageStats false \
	--server.enableXsrfProtection true \
	--server.enableCORS true \
	--server.maxUploadSize 1 \
	--server.fileWatcherType none \
	--server.runOnSave false \
	--client.toolbarMode viewer \
	--client.showErrorDetails type \
	"$@"
app_pid=$launched
log "app started (pid $app_pid) on port $PORT"

# Supervise: poll once a second (a trap interrupts `wait` at once, so signals are not delayed).
# A dead worker is restarted after worker_delay seconds (doubling to 30 s while it keeps dying
# within a minute of its start: a broken store or no memory should not make it spin).
while true; do
	sleep 1 &
	wait $! 2>/dev/null
	((stopping)) && continue
	if ! alive "$app_pid"; then
		wait "$app_pid"
		code=$?
		log "app exited with code $code: stopping the workers"
		app_pid=""
		stop_all "app exit" "$code"
	fi
	for ((i = 0; i < N_WORKERS; i++)); do
		if [[ -n "${restart_at[i]:-}" ]]; then
			((SECONDS >= restart_at[i])) && restart_at[i]="" && start_worker "$i"
			continue
		fi
		alive "${worker_pid[i]}" && continue
		wait "${worker_pid[i]}" 2>/dev/null
		code=$?
		kill -KILL -- "-${worker_pid[i]}" 2>/dev/null # whatever it started dies with it
		lived=$((SECONDS - worker_started[i]))
		((lived >= 60)) && worker_delay[i]=1
		log "worker $i (pid ${worker_pid[i]}) exited with code $code after ${lived}s;" \
			"restarting in ${worker_delay[i]}s"
		worker_pid[i]=""
		restart_at[i]=$((SECONDS + worker_delay[i]))
		worker_delay[i]=$((worker_delay[i] * 2 > 30 ? 30 : worker_delay[i] * 2))
	done
done
