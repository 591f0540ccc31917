#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds, and runs every test suite through ctest.
# The numerical suites read the golden fixtures from ../shared/fixtures beside the repository.
#   bash scripts/test.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

querylens_install_packages
querylens_build
export QT_QPA_PLATFORM=offscreen
cd "$QUERYLENS_BUILD"
ctest --output-on-failure --timeout 1800
