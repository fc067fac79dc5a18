#!/usr/bin/env bash
# Scenarios A-D of browser_cpeer.sh (a real browser against `cwebrtc echo-bot`, `recv` and `send`
# through `cwebrtc signal-server` and the web page) with headless Firefox ESR instead of Chromium.
# browser_cpeer.sh gives the namespace a routed 10.99.0.1/24 for Firefox (nICEr gathers nothing
# with only lo) and uses smaller bulk sizes. Exit 77 (skipped) without firefox-esr, root or the C peers.
command -v firefox-esr >/dev/null || command -v firefox >/dev/null ||
  { echo "SKIP: firefox-esr not installed (apt-get install -y firefox-esr)"; exit 77; }
CPEER_BROWSER=firefox exec bash "$2/tests/integration/browser_cpeer.sh" "$@"
