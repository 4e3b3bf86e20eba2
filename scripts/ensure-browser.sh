#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver (chromedriver) from Debian when they are missing:
# the dashboard's browser test drives them (Tests/DispatcherTests/Dashboard/DashboardBrowserTests).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
echo "chromium or chromedriver not found: installing them from Debian" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
