#!/usr/bin/env bash
# bench/pc/compare.sh [build_dir] — issue 6 (b): data channel throughput with DTLS, both peers in
# one process, cwebrtc (build/bench_pc) and libdatachannel (npm node-datachannel,
# bench/pc/ndc_throughput.cjs) in the SAME run, interleaved REPEAT times, printed as ratios.
#
#   REPEAT=3 SECONDS_PER=3 bench/pc/compare.sh build
#
# node-datachannel: NODE_DATACHANNEL_DIR=<dir with node_modules/node-datachannel> reuses an
# install; otherwise it is installed once (npm, version 0.33) into
# ${XDG_CACHE_HOME:-~/.cache}/cwebrtc-ndc. Exit 77 (skip) when node/npm or the package is missing.
# Both sides bind 127.0.0.1 only. The fair pair is "UDP 127.0.0.1" (real sockets, full stack on
# both sides); our in-memory sans-IO figure is printed too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
repeat=${REPEAT:-3}
secs=${SECONDS_PER:-3}
mib=${MIB:-128}
bench="$build/bench_pc"
[ -x "$bench" ] || { echo "no $bench (make -C $build bench_pc)" >&2; exit 2; }
command -v node >/dev/null || { echo "node not installed: cannot run the libdatachannel side" >&2; exit 77; }

dir=${NODE_DATACHANNEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cwebrtc-ndc}
if [ ! -d "$dir/node_modules/node-datachannel" ]; then
  command -v npm >/dev/null || { echo "npm not installed" >&2; exit 77; }
  mkdir -p "$dir"
  (cd "$dir" && { [ -f package.json ] || npm init -y >/dev/null; } &&
    timeout 300 npm install --no-audit --no-fund --prefer-offline node-datachannel@0.33 >/dev/null) ||
    { echo "npm install node-datachannel failed" >&2; exit 77; }
fi

# field <line-pattern> <MB/s|msg/s> from bench_pc's output
ours_field() { grep -F "$2" <<<"$1" | sed -E "s/.*: *([0-9.]+) MB\/s +([0-9.]+) msg\/s.*/\\1 \\2/" | awk -v f="$3" '{print (f=="mb") ? $1 : $2}'; }
ndc_field() { node -e '
  const o = JSON.parse(process.argv[1]);
  const t = (o.throughput || []).find((x) => x.size === Number(process.argv[2]));
  console.log(t ? (process.argv[3] === "mb" ? t.mb_s : t.msg_s).toFixed(1) : "0");' "$1" "$2" "$3"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

lib=""
declare -a r64 r1k rm64 rm1k
printf '%-4s | %-28s | %-28s | %-28s\n' run "64 KiB: ours UDP / ours mem" "64 KiB: libdatachannel" "ratio UDP (mem)"
for ((i = 1; i <= repeat; i++)); do
  ours=$("$bench" 0 "$mib" "$secs")
  ndc=$(NODE_PATH="$dir/node_modules" timeout -k 5 $((secs * 4 + 60)) node "$here/ndc_throughput.cjs" --seconds "$secs") ||
    { echo "ndc_throughput.cjs failed: $ndc" >&2; exit 1; }
  [ -n "$lib" ] || lib=$(node -e 'console.log(JSON.parse(process.argv[1]).lib)' "$ndc")
  for sz in 65536 1024; do
    u_mb=$(ours_field "$ours" "$(printf '%6d' $sz) B messages, DTLS, UDP" mb)
    u_msg=$(ours_field "$ours" "$(printf '%6d' $sz) B messages, DTLS, UDP" msg)
    m_mb=$(ours_field "$ours" "$(printf '%6d' $sz) B messages, DTLS, 0 delay" mb)
    m_msg=$(ours_field "$ours" "$(printf '%6d' $sz) B messages, DTLS, 0 delay" msg)
    n_mb=$(ndc_field "$ndc" $sz mb)
    n_msg=$(ndc_field "$ndc" $sz msg)
    if [ $sz = 65536 ]; then
      r64+=("$(ratio "$u_mb" "$n_mb")"); rm64+=("$(ratio "$m_mb" "$n_mb")")
      printf '%-4s | %8s / %8s MB/s      | %8s MB/s               | %5sx (%sx)\n' "$i" "$u_mb" "$m_mb" "$n_mb" "${r64[-1]}" "${rm64[-1]}"
    else
      r1k+=("$(ratio "$u_msg" "$n_msg")"); rm1k+=("$(ratio "$m_msg" "$n_msg")")
      printf '%-4s | %8s / %8s msg/s     | %8s msg/s              | %5sx (%sx)   [1 KiB]\n' "$i" "$u_msg" "$m_msg" "$n_msg" "${r1k[-1]}" "${rm1k[-1]}"
    fi
  done
done
span() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%s-%s (median %s)", a[1], a[NR], a[int((NR+1)/2)]}'; }
echo "reference: $lib (node-datachannel), $secs s per size, $repeat runs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "64 KiB messages, MB/s ratio ours/libdatachannel:  UDP $(span "${r64[@]}");  in-memory $(span "${rm64[@]}")"
echo "1 KiB messages, msg/s ratio ours/libdatachannel:  UDP $(span "${r1k[@]}");  in-memory $(span "${rm1k[@]}")"
