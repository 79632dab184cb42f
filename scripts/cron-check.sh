#!/bin/sh
# Install arledger as the README tells an accountant to, without the clone: a
# wheel built with `pip wheel .`, installed into a fresh virtual environment.
# Check that it runs under cron's bare environment and ships its example
# ledger, then run the README's crontab entry with it, as cron would
# (tests/test_cron.py: env -i, PATH=/usr/bin:/bin, a local SMTP server).
#
# Usage: scripts/cron-check.sh
# Needs a Python with the test extra (pip install -e '.[test]'): the clone's
# .venv when there is one, else $PYTHON, else python3.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

"$PYTHON" -m pip wheel . --no-deps --quiet --wheel-dir "$work/dist"
wheel=$(ls "$work"/dist/arledger-*.whl)
echo "cron-check: built $(basename "$wheel")"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$wheel"
arledger="$work/venv/bin/arledger"

in_cron() { env -i PATH=/usr/bin:/bin HOME="$work" LOGNAME=cron SHELL=/bin/sh "$@"; }
# The settlement kernel the wheel compiled, where it is and what it was built
# from (-I: not the clone's arledger/ from the current folder).
echo "cron-check: kernel $(in_cron "$work/venv/bin/python" -I -c \
    'import arledger._settle as k; print(k.__file__, k.SOURCE_SHA256)')"
in_cron "$arledger" --version
in_cron "$arledger" init "$work/ledger" >/dev/null
in_cron "$arledger" check --ledger "$work/ledger"
in_cron "$arledger" aging --ledger "$work/ledger" --as-of 2026-10-31 --format json >/dev/null

ARLEDGER_CRON_BIN="$arledger" "$PYTHON" -m pytest -q -p no:cacheprovider \
    tests/test_cron.py -k crontab
echo "cron-check: ok"
