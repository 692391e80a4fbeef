#!/bin/sh
# Writes the Streamlit config for a Heroku dyno, then returns; the Procfile starts Streamlit.
#
# What is the dyno's own: the port ($PORT), the address (all interfaces, for Heroku's router),
# headless and no file watcher. The limits and protections below are also in the repo's
# .streamlit/config.toml, which Streamlit reads on every host and which wins where both set a
# key; the copies here must stay equal to it (tests/unit/test_streamlit_config.py checks).
#
# Why a file in $HOME and not in the repo: the slug may be read-only. Why rewrite it on every
# start: Heroku picks $PORT per dyno start, so the file is regenerated from scratch (never
# appended to), which also makes the script safe to run twice.
set -eu

port="${PORT:-8501}"
case "$port" in
  ''|*[!0-9]*) echo "setup.sh: PORT must be a number, got '$port'" >&2; exit 1 ;;
esac

config_dir="${HOME:?setup.sh: HOME is not set}/.streamlit"
mkdir -p "$config_dir"
tmp="$config_dir/config.toml.$$"
cat > "$tmp" <<TOML
# Written by setup.sh at dyno start; edits here are lost on the next start.
[server]
# Heroku routes traffic to \$PORT on all interfaces and kills a web dyno that does not bind it in 60 s.
port = $port
address = "0.0.0.0"
headless = true
# Same-origin only, and uploads need Streamlit's XSRF token (both are Streamlit's defaults).
enableCORS = true
enableXsrfProtection = true
# Megabytes per uploaded file: ample for phone photos, small enough for a 512 MB dyno.
maxUploadSize = 25
# The slug never changes while it runs: no file watcher threads.
fileWatcherType = "none"
runOnSave = false
# A visitor who left (closed the tab) keeps uploads and results in memory until this many
# seconds pass; Streamlit's default 120 s let 500 photos' worth of departed visitors grow
# the server from 282 to 491 MB on a 512 MB dyno (tests/reliability/test_soak.py).
disconnectedSessionTTL = 15

[browser]
gatherUsageStats = false

[client]
toolbarMode = "viewer"
TOML
mv -f "$tmp" "$config_dir/config.toml"
echo "setup.sh: wrote $config_dir/config.toml (port $port)"
