#!/usr/bin/env bash
# tools/browser/firefox.sh PROFILE_DIR TIMEOUT_S URL [extra firefox flags...]
# Execs headless Firefox (Debian firefox-esr) under `timeout`, with the same interface as chromium.sh.
# It does not switch namespaces: run it under `ip netns exec` (run.sh --browser firefox does).
# The prefs written to the profile's user.js play the role of Chromium's flags: fake media devices
# without a permission prompt, loopback ICE candidates, real host addresses instead of mDNS names,
# and no update/telemetry/safe-browsing traffic.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: firefox.sh PROFILE_DIR TIMEOUT_S URL [flags...]" >&2; exit 2; }
profile=$1 t=$2 url=$3
shift 3
bin=$(command -v firefox-esr || command -v firefox || true)
[ -n "$bin" ] || { echo "firefox.sh: firefox-esr not installed" >&2; exit 77; }
mkdir -p "$profile"
cat >"$profile/user.js" <<'PREFS'
user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("media.peerconnection.ice.loopback", true);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("media.peerconnection.ice.default_address_only", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("app.update.auto", false);
user_pref("app.update.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
PREFS
export HOME="$profile" MOZ_CRASHREPORTER_DISABLE=1
# FIREFOX_MOZ_LOG (e.g. webrtc_trace:5,jsep:5,signaling:5): Gecko's logging into the profile
# (moz.log*, one file per process); run.sh --keep keeps it.
if [ -n "${FIREFOX_MOZ_LOG:-}" ]; then export MOZ_LOG="$FIREFOX_MOZ_LOG" MOZ_LOG_FILE="$profile/moz.log"; fi
exec timeout -k 5 "$t" "$bin" --headless --no-remote --profile "$profile" "$@" "$url"
