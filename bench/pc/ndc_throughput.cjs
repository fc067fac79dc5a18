// bench/pc/ndc_throughput.cjs: the reference side of bench/pc (issue 6), libdatachannel through npm
// node-datachannel. Two PeerConnections in ONE node process over 127.0.0.1 UDP (ICE, DTLS, SCTP
// as shipped), one reliable ordered channel, binary messages one way with bufferedAmount flow
// control; the receiver counts. Prints one JSON object on stdout:
//   {"lib":"libdatachannel 0.x","setup_ms":{p50,p99,max,runs},
//    "throughput":[{"size":65536,"mb_s":..,"msg_s":..,"bytes":..,"seconds":..}, {"size":1024,..}]}
//
//   NODE_PATH=<dir>/node_modules node ndc_throughput.cjs [--seconds S] [--sizes 65536,1024]
//                                                       [--setup-runs N]
// bench/pc/compare.sh installs the package and runs this next to build/bench_pc.
//
// Why the channel never opened in the first in-process attempt: node-datachannel's JS DataChannel
// object owns the native channel, and its finalizer CLOSES the channel. A channel created at the
// top level and referenced by nothing the event loop can reach (no closure, no global) is garbage
// collected during the handshake, the wrapper's destructor closes it before DCEP runs, and
// neither onOpen nor the remote's onDataChannel ever fires (ICE and DTLS still reach
// "connected", which hid it). Every channel and PeerConnection below is kept in `keep`.
"use strict";
const ndc = require("node-datachannel");

const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const seconds = Number(opt("--seconds", "3"));
const sizes = opt("--sizes", "65536,1024").split(",").map(Number).filter((n) => n > 0);
const setupRuns = Number(opt("--setup-runs", "0"));
const keep = new Set(); // see above: anything not reachable from here gets collected and closed

// stop sending above HIGH bytes buffered, resume at the low threshold (KiB options)
const HIGH = Number(opt("--high-kib", "1024")) * 1024;
const LOW = Number(opt("--low-kib", "256")) * 1024;

// Two connected peers and an open channel a -> b. Resolves {a, b, dc, rdc, ms}.
function connectPair(label, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const cfg = { iceServers: [], bindAddress: "127.0.0.1", maxMessageSize: 262144 };
    const a = new ndc.PeerConnection("a", cfg);
    const b = new ndc.PeerConnection("b", cfg);
    const st = { a, b, dc: null, rdc: null, open: false, closed: false };
    keep.add(st);
    const timer = setTimeout(() => reject(new Error("channel did not open in " + timeoutMs + " ms")), timeoutMs);
    const done = () => {
      if (!st.open || !st.rdc) return;
      clearTimeout(timer);
      st.ms = Number(process.hrtime.bigint() - t0) / 1e6;
      resolve(st);
    };
    // Callbacks come from libdatachannel's threads through the event loop, and a candidate can
    // arrive before the description it belongs to (addRemoteCandidate then throws and aborts):
    // hold candidates until the other side has a remote description.
    // Anything thrown inside these callbacks escapes into native code and aborts the
    // process ("terminate called after throwing Napi::Error"), e.g. a late candidate of a
    // pair that closePair() already closed: guard and catch.
    // libdatachannel can also refuse a candidate right after setRemoteDescription ("without
    // ICE transport": the transport is created on its own thread): retry for a while.
    const add = (to, c, mid, tries = 0) => {
      if (st.closed) return;
      try {
        to.addRemoteCandidate(c, mid);
      } catch (e) {
        if (tries < 200) setTimeout(() => add(to, c, mid, tries + 1), 1);
      }
    };
    const wire = (from, to) => {
      let haveRemote = false;
      const held = [];
      from.onLocalDescription((sdp, type) => {
        if (st.closed) return;
        try { to.setRemoteDescription(sdp, type); } catch (e) { return; }
        haveRemote = true;
        for (const [c, mid] of held.splice(0)) add(to, c, mid);
      });
      from.onLocalCandidate((c, mid) => {
        if (haveRemote) add(to, c, mid);
        else held.push([c, mid]);
      });
    };
    wire(a, b);
    wire(b, a);
    b.onDataChannel((rdc) => {
      st.rdc = rdc;
      done();
    });
    st.dc = a.createDataChannel(label);
    st.dc.onOpen(() => {
      st.open = true;
      done();
    });
  });
}

function closePair(st) {
  st.closed = true;
  try { st.dc && st.dc.close(); } catch (e) { /* already closed */ }
  try { st.a.close(); } catch (e) { /* already closed */ }
  try { st.b.close(); } catch (e) { /* already closed */ }
  keep.delete(st);
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function benchSetup(runs) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const st = await connectPair("b", 10000);
    ms.push(st.ms);
    closePair(st);
  }
  ms.sort((x, y) => x - y);
  return { p50: ms[Math.floor(ms.length / 2)], p99: pct(ms, 99), max: ms[ms.length - 1], runs: ms.length };
}

// Send `size`-byte binary messages a -> b for `secs` seconds of receiving; the rate is what b got
// between its first and its last counted message.
function benchThroughput(size, secs) {
  return connectPair("t", 10000).then(
    (st) =>
      new Promise((resolve) => {
        const buf = Buffer.alloc(size, 0x5a);
        let rxBytes = 0, rxMsgs = 0, t0 = 0n, t1 = 0n, stop = false;
        st.rdc.onMessage((m) => {
          if (stop) return;
          const now = process.hrtime.bigint();
          if (t0 === 0n) t0 = now;
          rxBytes += m.length !== undefined ? m.length : m.byteLength;
          rxMsgs++;
          t1 = now;
          if (Number(now - t0) / 1e9 >= secs) finish();
        });
        const pump = () => {
          if (stop) return;
          while (st.dc.bufferedAmount() < HIGH) {
            if (!st.dc.sendMessageBinary(buf)) break;
          }
        };
        st.dc.setBufferedAmountLowThreshold(LOW);
        st.dc.onBufferedAmountLow(pump);
        // safety net: a wakeup in case a low event is missed, and the overall deadline
        const iv = setInterval(pump, 5);
        const deadline = setTimeout(() => finish(), (secs + 10) * 1000);
        function finish() {
          if (stop) return;
          stop = true;
          clearInterval(iv);
          clearTimeout(deadline);
          const dt = t1 > t0 ? Number(t1 - t0) / 1e9 : 0;
          closePair(st);
          resolve({
            size,
            mb_s: dt > 0 ? rxBytes / dt / 1e6 : 0,
            msg_s: dt > 0 ? rxMsgs / dt : 0,
            bytes: rxBytes,
            seconds: dt,
          });
        }
        pump();
      })
  );
}

(async () => {
  const out = { lib: "libdatachannel " + (ndc.getLibraryVersion ? ndc.getLibraryVersion() : "?") };
  try {
    if (setupRuns > 0) out.setup_ms = await benchSetup(setupRuns);
    out.throughput = [];
    for (const s of sizes) out.throughput.push(await benchThroughput(s, seconds));
  } catch (e) {
    out.error = String(e && e.message ? e.message : e);
  }
  console.log(JSON.stringify(out));
  // ndc.cleanup() right after close() can crash inside libdatachannel while its threads still
  // tear the connections down; give them a moment, and the exit code is ours either way.
  setTimeout(() => {
    ndc.cleanup();
    process.exit(out.error ? 1 : 0);
  }, 200);
})();
