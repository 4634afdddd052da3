#!/usr/bin/env bash
# Debian packages the tests use for real: PostgreSQL and Redis (Airflow's metadata database and Celery broker)
# and Chromium (renders the data-quality report headless). Idempotent; serialised with a lock so parallel
# make runs do not fight over dpkg.
set -euo pipefail
packages=(postgresql redis-server chromium)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}"
exec 9>/tmp/mhhs-apt.lock
flock 9
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
