# Sourced by .ci/run (and run by tests/test_ci_browser.py with a stub apt-get): the logs page's browser test
# drives Debian's chromium through chromedriver (tests/ui/test_ui_browser.py). Both packages are installed
# together whenever either binary is missing: chromium-driver must match chromium's version exactly, and
# apt keeps them matched only when it installs them in one go.

# The packages still needed, on one line; nothing when both binaries are there.
# Arguments (for the test): the chromium and chromedriver paths.
browser_packages() {
  local chromium=${1:-/usr/bin/chromium} driver=${2:-/usr/bin/chromedriver}
  if [ ! -x "$chromium" ] || [ ! -x "$driver" ]; then
    echo "chromium chromium-driver"
  fi
}

# Install them where we can (root, with apt-get); elsewhere the browser test says what is missing.
install_browser() {
  local packages
  packages=$(browser_packages "$@")
  if [ -n "$packages" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # shellcheck disable=SC2086  # one word per package
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages
  fi
}
