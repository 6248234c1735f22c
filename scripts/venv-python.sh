#!/usr/bin/env bash
# Before the venv is built or reused: the chosen Python must be 3.11+, and a venv built by another interpreter or
# version is removed so that make builds it again (reusing it would keep failing the same way).
# Usage: scripts/venv-python.sh PYTHON VENV. Writes VENV/.python-id, rewritten only when it changes. A Python that
# cannot be used is one line on stdout and exit code 2 (the Makefile stops with it); other notes go to stderr.
set -u
python=$1
venv=$2
# The interpreter's version and base prefix: the same for it and for any venv built from it.
probe='import sys; print("%d.%d.%d" % sys.version_info[:3], sys.base_prefix)'

found=$("$python" -c "$probe" 2>/dev/null) || {
    echo "the Python '$python' was not found or does not run: install Python 3.11+ and name it, e.g. make demo PYTHON=python3.11"
    exit 2
}
version=${found%% *}
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 11 ]; }; then
    echo "Python 3.11+ is needed but $python is Python $version: choose another, e.g. make demo PYTHON=python3.11"
    exit 2
fi

id_file=$venv/.python-id
if [ -d "$venv" ] && [ "$(cat "$id_file" 2>/dev/null)" != "$found" ]; then
    built=$("$venv/bin/python" -c "$probe" 2>/dev/null || echo "a broken interpreter")
    if [ "$built" != "$found" ]; then
        echo "make: $venv was built by Python ${built%% *} (${built#* }), not by $python ($version, ${found#* }): rebuilding it" >&2
        rm -rf "$venv"
    else
        # The same interpreter: record it without making the installed packages look stale.
        echo "$found" >"$id_file"
        touch -r "$venv/pyvenv.cfg" "$id_file" 2>/dev/null || true
        exit 0
    fi
fi
mkdir -p "$venv"
[ "$(cat "$id_file" 2>/dev/null)" = "$found" ] || echo "$found" >"$id_file"
