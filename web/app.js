// The cwebrtc room page, served by `cwebrtc signal-server`.
//
// Joins the room named in the URL (?room=R; a random one is made up otherwise) over the
// server's WebSocket (/ws, protocol in docs/signaling.md), and opens one RTCPeerConnection
// per other peer in the room. The newcomer is always the offerer, so two peers never offer
// to each other at the same time (no glare handling needed). ICE candidates trickle over the
// signaling channel. Each connection carries one ordered data channel, "chat":
//   text messages are JSON:  {"t":"chat","text"}                       a chat line
//                            {"t":"file","id","name","size","sha256"}  a file follows
//                            {"t":"file-ok","id","ok","sha256"}        receiver's verdict
//   binary messages are the chunks of the file announced last (ordered channel: no ids needed).
// Files are sent in chunks while bufferedAmount stays under a high-water mark (resuming on
// bufferedamountlow), and the receiver checks SHA-256 (crypto.subtle) before offering the
// download. A C peer speaking the same few messages interoperates with this page.
//
// Test mode (used by tests/integration/signal_server.sh; results are POSTed as JSON to
// /test-result, which the server appends to its --test-log file):
//   ?test=send&bytes=N&name=S&peers=K  say hello on every channel; once K channels are open,
//                              send N random bytes to all of them; report after every verdict
//   ?test=recv&name=S&peers=K  say hello on every channel; report after K hellos and one file
//   ?test=echo[&neg=ID]        echo every message on every channel back (for native peers);
//                              with neg, also on a pre-created negotiated channel ID "negotiated"
//   ?test=cpeer&do=...         the browser end of tests/integration/browser_cpeer.sh against the C
//                              peers (cwebrtc echo-bot / recv / send); see the end of this file
"use strict";

const params = new URLSearchParams(location.search);
const TEST = params.get("test");
const T0 = performance.now();
const CHUNK_MAX = 64 * 1024;
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
const MAX_CHAT = 4000;

let room = params.get("room");
if (!room || !/^[A-Za-z0-9_.-]{1,64}$/.test(room)) {
  room = "room-" + Math.random().toString(36).slice(2, 8);
  params.set("room", room);
  history.replaceState(null, "", "?" + params.toString());
}
const myName = params.get("name") || "";
let myId = null;
let ws = null;
const peers = new Map(); // id -> peer

const $ = (id) => document.getElementById(id);
$("room-name").textContent = room;

// ---- reporting (test mode) ----
function report(obj) {
  const body = JSON.stringify(Object.assign({ name: myName || myId, room }, obj));
  console.log("test-result " + body);
  return fetch("/test-result", { method: "POST", body, headers: { "Content-Type": "application/json" } })
    .catch(() => {});
}
let finished = false;
function finish(obj) {
  if (finished) return;
  finished = true;
  const done = Object.assign({ event: "done" }, obj);
  // inside cpeer.html's iframe: tell the runner once the result is stored, so it can go on
  report(done).then(() => { if (window.parent !== window) window.parent.postMessage({ event: "done" }, location.origin); });
}
if (TEST === "send" || TEST === "recv" || TEST === "cpeer") {
  if (TEST !== "cpeer") setTimeout(() => finish({ ok: false, error: "timed out", state: testState }), 75000);
  window.addEventListener("error", (e) => finish({ ok: false, error: String(e.message) }));
  window.addEventListener("unhandledrejection", (e) => finish({ ok: false, error: String(e.reason) }));
}
// offers/answers: how many peer connections this page offered / answered; texts: chat lines received
const testState = { offers: 0, answers: 0, texts: [], openMs: null, opened: 0, file: null };
const TEST_PEERS = Number(params.get("peers") || 1); // test mode: how many other peers to expect

// ---- UI helpers ----
function status(text) { $("status").textContent = text; }
function chatLine(from, text, sys) {
  const div = document.createElement("div");
  div.className = "msg" + (sys ? " sys" : "");
  if (from) {
    const f = document.createElement("span");
    f.className = "from";
    f.textContent = from;
    div.appendChild(f);
  }
  div.appendChild(document.createTextNode(text));
  const chat = $("chat");
  chat.appendChild(div);
  while (chat.childNodes.length > 500) chat.removeChild(chat.firstChild);
  chat.scrollTop = chat.scrollHeight;
}
function renderPeers() {
  const ul = $("peers");
  ul.textContent = "";
  if (peers.size === 0) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = "nobody else yet";
    ul.appendChild(li);
  }
  for (const p of peers.values()) {
    const li = document.createElement("li");
    const open = p.dc && p.dc.readyState === "open";
    li.className = open ? "open" : "";
    li.textContent = p.id.slice(0, 8);
    const s = document.createElement("span");
    s.className = "state";
    s.textContent = open ? "connected" : p.pc.connectionState;
    li.appendChild(s);
    ul.appendChild(li);
  }
}
function transferRow(label) {
  const li = document.createElement("li");
  const text = document.createElement("div");
  text.textContent = label;
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  const note = document.createElement("div");
  li.append(text, bar, note);
  $("transfers").prepend(li);
  let last = 0;
  return {
    // at most ~10 repaints a second: updating per 64 KiB chunk costs real time at 100 MB/s
    progress(done, total) {
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      bar.value = total ? Math.min(1, done / total) : 1;
    },
    done(ok, msg, link) {
      bar.value = 1;
      note.className = ok ? "ok" : "bad";
      note.textContent = msg;
      if (link) note.append(" ", link);
    },
  };
}
function fmtBytes(n) {
  return n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B";
}
async function sha256hex(buf) {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- signaling ----
function signal(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}
function connectSignaling() {
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onopen = () => signal({ type: "join", room });
  ws.onclose = () => status("signaling closed (peer connections stay up)");
  ws.onerror = () => status("signaling error");
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    switch (m.type) {
      case "joined":
        myId = m.id;
        $("my-id").textContent = myId.slice(0, 8);
        status(m.peers.length ? `joined; connecting to ${m.peers.length} peer(s)` : "joined; waiting for peers");
        if (TEST) report({ event: "ready", peers: m.peers.length });
        for (const id of m.peers) newPeer(id, true); // the newcomer offers
        break;
      case "peer-joined":
        newPeer(m.id, false);
        chatLine("", `${m.id.slice(0, 8)} joined`, true);
        break;
      case "peer-left":
      case "bye":
        if (TEST === "cpeer") { cpeerGone(m); break; }
        dropPeer(m.type === "bye" ? m.from : m.id);
        break;
      case "offer":
      case "answer":
      case "candidate": {
        const p = peers.get(m.from) || (m.type === "offer" ? newPeer(m.from, false) : null);
        if (TEST === "cpeer" && m.type === "candidate") {
          cpeer.trickle[m.candidate ? "received" : "receivedEnd"]++;
          if (m.candidate) cpeer.remoteCands.push(cpCandAddr(m.candidate.candidate));
        }
        if (p) p.enqueue(m);
        break;
      }
      case "error":
        console.log("signaling error: " + JSON.stringify(m));
        chatLine("", `server: ${m.error} (${m.detail})`, true);
        if (TEST === "send" || TEST === "recv" || TEST === "cpeer") finish({ ok: false, error: "signaling: " + m.error });
        break;
    }
  };
}

// ---- peers ----
function newPeer(id, offerer) {
  if (peers.has(id)) return peers.get(id);
  const pc = new RTCPeerConnection({ iceServers: [] });
  const p = { id, pc, dc: null, offerer, chain: Promise.resolve(), sendChain: Promise.resolve(), rx: null };
  peers.set(id, p);
  p.enqueue = (m) => { p.chain = p.chain.then(() => onSignal(p, m)).catch((e) => console.log("signal " + m.type + ": " + e)); };
  pc.onicecandidate = (e) => signal({ type: "candidate", to: id, candidate: e.candidate ? e.candidate.toJSON() : null });
  pc.onconnectionstatechange = () => {
    renderPeers();
    if (pc.connectionState === "failed") chatLine("", `connection to ${id.slice(0, 8)} failed`, true);
  };
  pc.ondatachannel = (e) => {
    if (e.channel.label === "chat" && !p.dc) setupChannel(p, e.channel);
    else if (TEST === "echo") echoChannel(e.channel);
    else if (TEST === "cpeer") cpeer.remoteChannels.push(e.channel.label);
  };
  if (TEST === "echo" && params.get("neg") !== null)
    echoChannel(pc.createDataChannel("negotiated", { negotiated: true, id: Number(params.get("neg")) }));
  if (TEST === "cpeer") cpeerNewPeer(p); // before "chat": a negotiated id must be reserved first
  if (offerer) {
    testState.offers++;
    setupChannel(p, pc.createDataChannel("chat"));
    p.chain = p.chain.then(async () => {
      await pc.setLocalDescription();
      signal({ type: "offer", to: id, sdp: pc.localDescription.sdp });
    }).catch((e) => console.log("offer: " + e));
  }
  renderPeers();
  return p;
}
async function onSignal(p, m) {
  if (m.type === "offer") {
    testState.answers++;
    await p.pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
    await p.pc.setLocalDescription();
    signal({ type: "answer", to: p.id, sdp: p.pc.localDescription.sdp });
  } else if (m.type === "answer") {
    await p.pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
  } else if (m.type === "candidate" && m.candidate && m.candidate.candidate) {
    await p.pc.addIceCandidate(m.candidate);
  }
}
function dropPeer(id) {
  const p = peers.get(id);
  if (!p) return;
  peers.delete(id);
  p.pc.close();
  chatLine("", `${id.slice(0, 8)} left`, true);
  renderPeers();
}

// ---- the "chat" channel: chat lines and files ----
function setupChannel(p, dc) {
  p.dc = dc;
  dc.binaryType = "arraybuffer";
  dc.bufferedAmountLowThreshold = LOW_WATER;
  dc.onopen = () => {
    renderPeers();
    chatLine("", `channel to ${p.id.slice(0, 8)} open`, true);
    if (testState.openMs === null) testState.openMs = Math.round(performance.now() - T0);
    if (TEST === "send" || TEST === "recv") testOnOpen(p);
  };
  dc.onclose = () => renderPeers();
  dc.onmessage = (e) => {
    if (TEST === "echo") { dc.send(e.data); return; }
    if (typeof e.data === "string") onControl(p, e.data);
    else onChunk(p, e.data);
  };
}
function echoChannel(dc) {
  dc.binaryType = "arraybuffer";
  dc.onmessage = (e) => dc.send(e.data);
}
function onControl(p, text) {
  let m;
  try { m = JSON.parse(text); } catch (e) { return; }
  if (m.t === "chat" && typeof m.text === "string") {
    chatLine(p.id.slice(0, 8), m.text.slice(0, MAX_CHAT));
    if (testState.texts.length < 100) testState.texts.push(m.text);
    testProgress();
  } else if (m.t === "file" && Number.isSafeInteger(m.size) && m.size >= 0) {
    const name = String(m.name || "file").slice(0, 200);
    p.rx = { id: m.id, name, size: m.size, sha256: String(m.sha256 || ""), got: 0, chunks: [], t0: performance.now(),
             row: transferRow(`from ${p.id.slice(0, 8)}: ${name} (${fmtBytes(m.size)})`) };
    if (m.size === 0) fileComplete(p);
  } else if (m.t === "file-ok" && p.pendingAck && p.pendingAck.id === m.id) {
    p.pendingAck.resolve(m);
  }
}
function onChunk(p, buf) {
  const rx = p.rx;
  if (!rx) return; // a chunk without an announced file: ignore
  if (rx.got + buf.byteLength > rx.size) {
    rx.row.done(false, "peer sent more bytes than announced");
    p.rx = null;
    return;
  }
  rx.chunks.push(buf);
  rx.got += buf.byteLength;
  rx.row.progress(rx.got, rx.size);
  if (rx.got === rx.size) fileComplete(p);
}
async function fileComplete(p) {
  const rx = p.rx;
  p.rx = null;
  const blob = new Blob(rx.chunks);
  rx.chunks = null;
  const sha = await sha256hex(await blob.arrayBuffer());
  const ok = sha === rx.sha256;
  const ms = performance.now() - rx.t0;
  const a = document.createElement("a");
  if (ok) {
    a.href = URL.createObjectURL(blob);
    a.download = rx.name;
    a.textContent = "save";
  }
  rx.row.done(ok, ok ? `received, SHA-256 ok (${(rx.size / 1e6 / Math.max(ms, 1) * 1000).toFixed(1)} MB/s)` :
    "SHA-256 mismatch: discarded", ok ? a : null);
  if (p.dc && p.dc.readyState === "open") p.dc.send(JSON.stringify({ t: "file-ok", id: rx.id, ok, sha256: sha }));
  if (TEST === "recv" || TEST === "cpeer") {
    testState.file = { fileBytes: rx.size, fileSha256: sha, fileName: rx.name, fileMs: Math.round(ms), shaOk: ok };
    testProgress();
  }
}
function waitLow(dc) {
  return new Promise((resolve) => {
    const done = () => { dc.removeEventListener("bufferedamountlow", done); dc.removeEventListener("close", done); resolve(); };
    dc.addEventListener("bufferedamountlow", done);
    dc.addEventListener("close", done);
  });
}
// Sends one file on p's channel; resolves with the receiver's file-ok message.
async function sendFile(p, name, data, sha, row) {
  const dc = p.dc;
  const id = Math.random().toString(36).slice(2);
  const chunk = Math.min(CHUNK_MAX, (p.pc.sctp && p.pc.sctp.maxMessageSize) || 16384);
  const ack = new Promise((resolve) => { p.pendingAck = { id, resolve }; });
  dc.send(JSON.stringify({ t: "file", id, name, size: data.byteLength, sha256: sha }));
  for (let off = 0; off < data.byteLength; off += chunk) {
    if (dc.readyState !== "open") throw new Error("channel closed during the transfer");
    while (dc.bufferedAmount > HIGH_WATER) await waitLow(dc);
    dc.send(new Uint8Array(data, off, Math.min(chunk, data.byteLength - off)));
    row.progress(off + chunk, data.byteLength);
  }
  const m = await ack;
  row.done(m.ok, m.ok ? `delivered to ${p.id.slice(0, 8)}, SHA-256 ok` : `${p.id.slice(0, 8)}: SHA-256 mismatch`);
  return m;
}
function sendFileToAll(name, data, sha) {
  const open = [...peers.values()].filter((p) => p.dc && p.dc.readyState === "open");
  if (!open.length) { chatLine("", "nobody to send to", true); return []; }
  return open.map((p) => {
    const row = transferRow(`to ${p.id.slice(0, 8)}: ${name} (${fmtBytes(data.byteLength)})`);
    // one file at a time per channel: chunks of two files must not interleave
    const job = p.sendChain.then(() => sendFile(p, name, data, sha, row));
    p.sendChain = job.catch((e) => row.done(false, String(e)));
    return job;
  });
}

// ---- the form controls ----
$("chat-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("chat-input").value.slice(0, MAX_CHAT);
  if (!text) return;
  $("chat-input").value = "";
  chatLine("me", text);
  for (const p of peers.values()) if (p.dc && p.dc.readyState === "open") p.dc.send(JSON.stringify({ t: "chat", text }));
});
$("file-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = $("file-input").files[0];
  if (!f) return;
  const data = await f.arrayBuffer();
  sendFileToAll(f.name, data, await sha256hex(data));
});

// ---- test mode ----
// Every page says hello on every channel. The sender waits for TEST_PEERS open channels, then
// sends one file of `bytes` random bytes to all of them and waits for every receiver's verdict.
async function testOnOpen(p) {
  p.dc.send(JSON.stringify({ t: "chat", text: "hello from " + (myName || myId) }));
  if (TEST !== "send" || ++testState.opened !== TEST_PEERS) return;
  const n = Number(params.get("bytes") || 1000000);
  const data = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(data.subarray(off, Math.min(n, off + 65536)));
  const sha = await sha256hex(data.buffer);
  const t = performance.now();
  const name = `test-${n}.bin`;
  const acks = await Promise.all(sendFileToAll(name, data.buffer, sha));
  testState.file = { fileBytes: n, fileSha256: sha, fileName: name, fileMs: Math.round(performance.now() - t),
                     shaOk: acks.length === TEST_PEERS && acks.every((a) => a.ok && a.sha256 === sha) };
  testProgress();
}
function testProgress() {
  if (TEST === "cpeer") { cpeerFileDone(); return; }
  if (!(TEST === "send" || TEST === "recv") || !testState.file || testState.texts.length < TEST_PEERS) return;
  const f = testState.file;
  finish(Object.assign({ ok: f.shaOk, offers: testState.offers, answers: testState.answers,
                         texts: testState.texts.slice().sort(), openMs: testState.openMs }, f));
}

// ---- test=cpeer: the browser against one C peer (tests/integration/browser_cpeer.sh) ----
// The room holds this page and one C peer; whoever joins last offers (the script orders them).
//   do=echo&neg=ID&bulk=N&sizes=a,b,..  against `cwebrtc echo-bot [--negotiated-id ID]`: once SCTP
//        is up, open "reliable", "unordered" (ordered:false), "mrt0" (maxRetransmits:0), "closeme"
//        and "bulk" (plus the negotiated channel ID "negotiated", created with the connection);
//        send a text and a binary message of every size on each of the four message channels
//        at once and compare the echoes byte for byte; close "closeme" and wait for its close event
//        (the peer must reset its side of the stream too); then N random bytes through "bulk"
//        (SHA-256 of what went out and of what came back) and one more echo on "reliable".
//   do=sendfile&sizes=a,b,..[&close=1]  sends one file of each size on "chat" (the page's file
//        protocol) and waits for each "file-ok" verdict (e.g. to `cwebrtc recv`); then waits up to
//        `linger` ms for the peer to close (reported, not required); close=1 closes our side.
//   do=recvfile  waits for one file on "chat" (e.g. from `cwebrtc send`), checks SHA-256, answers
//        file-ok, then waits for the peer to close the channel or the connection.
// Every mode reports the selected ICE candidate pair from getStats() and POSTs one "done" result.
const cpeer = {
  mode: params.get("do") || "echo",
  p: null, step: "waiting for the peer", remoteChannels: [], gone: [], t: {}, res: {},
  trickle: { sent: 0, received: 0, receivedEnd: 0 }, // candidates over signaling
  remoteCands: [], // "typ address:port" of the peer's candidates, trickled ones first
};
// "candidate:F C udp P ADDR PORT typ T ..." -> "T ADDR:PORT"
function cpCandAddr(c) { const f = String(c).split(" "); return `${f[7]} ${f[4]}:${f[5]}`; }
const CP_TIMEOUT = Number(params.get("timeout") || 60000);
const cpMs = () => Math.round(performance.now() - T0);
function cpeerFail(error) {
  finish(Object.assign({ ok: false, error: String(error), step: cpeer.step, mode: cpeer.mode, t: cpeer.t }, cpeer.res));
}
if (TEST === "cpeer") setTimeout(() => cpeerFail("timed out"), CP_TIMEOUT);
function cpStep(name) { cpeer.step = name; cpeer.t[name] = cpMs(); console.log("cpeer: " + name); }
// bounded wait for cond() (polled): rejects with `what` after ms
function cpUntil(cond, ms, what) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => {
      let v;
      try { v = cond(); } catch (e) { reject(e); return; }
      if (v) resolve(v);
      else if (performance.now() - t0 > ms) reject(new Error("timed out waiting for " + what));
      else setTimeout(tick, 20);
    };
    tick();
  });
}
function cpRandBytes(n) {
  const b = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(b.subarray(off, Math.min(n, off + 65536)));
  return b;
}
function cpRandText(n) { // n ASCII letters: n characters are n bytes of UTF-8
  const b = cpRandBytes(n);
  for (let i = 0; i < n; i++) b[i] = 97 + (b[i] % 26);
  return new TextDecoder().decode(b);
}
function cpSizes(def) { return (params.get("sizes") || def).split(",").filter((x) => x !== "").map(Number); }

function cpeerNewPeer(p) {
  if (cpeer.p) { cpeerFail("a second peer joined the room: " + p.id); return; }
  cpeer.p = p;
  cpStep("peer");
  cpeer.res.offerer = p.offerer;
  const neg = params.get("neg");
  if (neg !== null) p.neg = p.pc.createDataChannel("negotiated", { negotiated: true, id: Number(neg) });
  cpeer.states = [];
  p.pc.addEventListener("connectionstatechange", () => cpeer.states.push(p.pc.connectionState + "@" + cpMs()));
  p.pc.addEventListener("icecandidate", (e) => { if (e.candidate) cpeer.trickle.sent++; });
  const run = { echo: cpeerEcho, sendfile: cpeerSendFile, recvfile: cpeerRecvFile }[cpeer.mode];
  if (!run) { cpeerFail("unknown do=" + cpeer.mode); return; }
  run(p).catch((e) => cpeerFail(e && e.message ? e.message : e));
}
// peer-left / bye: recorded; the connection is closed only after a grace period so that the close
// the page is waiting for is the one that came over the peer connection, not our own pc.close()
function cpeerGone(m) {
  const p = cpeer.p;
  cpeer.gone.push(m.type + "@" + cpMs() + (p ? " dc=" + (p.dc ? p.dc.readyState : "none") + " pc=" + p.pc.connectionState : ""));
  setTimeout(() => { cpeer.dropped = true; dropPeer(m.type === "bye" ? m.from : m.id); }, 3000);
}
function cpOpen(dc) {
  if (dc.readyState === "open") return Promise.resolve();
  return new Promise((resolve, reject) => {
    dc.addEventListener("open", resolve);
    dc.addEventListener("close", () => reject(new Error(`channel ${dc.label} closed before it opened`)));
  });
}
function cpDesc(dc) {
  return { id: dc.id, ordered: dc.ordered, maxRetransmits: dc.maxRetransmits, negotiated: dc.negotiated };
}
async function cpStats(pc) {
  const st = await pc.getStats();
  let pairId = null, pair = null, pcs = null;
  st.forEach((r) => {
    if (r.type === "transport" && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
    if (r.type === "peer-connection") pcs = r;
  });
  if (pairId) pair = st.get(pairId);
  // Firefox has no transport stats with selectedCandidatePairId: its candidate-pair says `selected`
  if (!pair) st.forEach((r) => { if (!pair && r.type === "candidate-pair" && r.selected) pair = r; });
  if (!pair) st.forEach((r) => { if (!pair && r.type === "candidate-pair" && r.nominated && r.state === "succeeded") pair = r; });
  if (!pair) return { pair: null };
  const cand = (id) => { const c = st.get(id); return c ? `${c.candidateType} ${c.protocol} ${c.address}:${c.port}` : null; };
  return {
    pair: { state: pair.state, nominated: pair.nominated, selected: pair.selected, bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
            rttMs: pair.currentRoundTripTime !== undefined ? Math.round(pair.currentRoundTripTime * 1000) : null,
            local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId) },
    channelsOpened: pcs ? pcs.dataChannelsOpened : null, channelsClosed: pcs ? pcs.dataChannelsClosed : null,
  };
}
function cpSend(dc, data) { // bounded by bufferedAmount: never queue more than HIGH_WATER
  return (async () => {
    while (dc.bufferedAmount > HIGH_WATER) {
      if (dc.readyState !== "open") throw new Error(`channel ${dc.label} closed while sending`);
      await waitLow(dc);
    }
    dc.send(data);
  })();
}

// One text and one binary message of every size on dc, all sent at once; every echo must come back
// with the same kind and bytes (a key is kind+size: unique per message). ordered: echoes must come
// in sending order. reliable: all must come back; otherwise (maxRetransmits:0) the test waits until
// 2 s pass without an echo and requires only what is guaranteed: no corrupted, changed-kind,
// duplicated or (if ordered) reordered echo, and at least one echo.
function cpEchoSuite(dc, sizes, reliable) {
  const msgs = [];
  for (const n of sizes) for (const kind of ["text", "binary"])
    msgs.push({ idx: msgs.length, key: kind + n, kind, n, data: kind === "text" ? cpRandText(n) : cpRandBytes(n), got: false });
  const byKey = new Map(msgs.map((m) => [m.key, m]));
  const errors = [];
  let got = 0, lastIdx = -1, lastRx = performance.now();
  const t0 = performance.now();
  return new Promise((resolve) => {
    let sent = false;
    const done = () => {
      dc.onmessage = null;
      const missing = msgs.filter((m) => !m.got).map((m) => m.key);
      if (reliable && missing.length) errors.push("missing echoes: " + missing.join(" "));
      if (!got) errors.push("no echo at all");
      resolve({ label: dc.label, sent: msgs.length, echoed: got, missing, errors, ms: Math.round(performance.now() - t0),
                channel: cpDesc(dc) });
    };
    dc.onmessage = (e) => {
      lastRx = performance.now();
      const kind = typeof e.data === "string" ? "text" : "binary";
      const n = kind === "text" ? e.data.length : e.data.byteLength;
      const m = byKey.get(kind + n);
      if (!m) { errors.push(`unexpected ${kind} echo of ${n} bytes`); return; }
      if (m.got) { errors.push("duplicate echo " + m.key); return; }
      m.got = true;
      got++;
      let same = true;
      if (kind === "text") same = e.data === m.data;
      else {
        const b = new Uint8Array(e.data);
        for (let i = 0; i < n && same; i++) same = b[i] === m.data[i];
      }
      if (!same) errors.push("echo differs: " + m.key);
      if (dc.ordered && m.idx < lastIdx) errors.push(`reordered: ${m.key} after #${lastIdx}`);
      lastIdx = Math.max(lastIdx, m.idx);
      if (got === msgs.length) done();
    };
    (async () => {
      for (const m of msgs) await cpSend(dc, m.data);
      sent = true;
      if (!reliable) {
        const quiet = () => {
          if (!dc.onmessage) return;
          if (performance.now() - lastRx > 2000) done(); else setTimeout(quiet, 200);
        };
        lastRx = performance.now();
        quiet();
      }
    })().catch((e) => { errors.push(String(e)); done(); });
  });
}
// one round trip of a short text on dc
function cpPing(dc, text, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no echo on ${dc.label} within ${ms} ms`)), ms);
    dc.onmessage = (e) => {
      if (e.data !== text) return;
      clearTimeout(t);
      dc.onmessage = null;
      resolve();
    };
    dc.send(text);
  });
}
async function cpBulk(dc, n) {
  dc.bufferedAmountLowThreshold = LOW_WATER;
  const data = cpRandBytes(n);
  const shaSent = await sha256hex(data);
  const chunks = [];
  let got = 0, bad = null;
  const back = new Promise((resolve) => {
    dc.onmessage = (e) => {
      if (typeof e.data === "string") bad = "text message on bulk";
      else { chunks.push(e.data); got += e.data.byteLength; }
      if (got >= n || bad) resolve();
    };
  });
  const t0 = performance.now();
  for (let off = 0; off < n; off += CHUNK_MAX) await cpSend(dc, data.subarray(off, Math.min(n, off + CHUNK_MAX)));
  const sentMs = performance.now() - t0;
  await back;
  const ms = performance.now() - t0;
  const shaBack = await sha256hex(await new Blob(chunks).arrayBuffer());
  return { bytes: n, bytesBack: got, shaSent, shaBack, ok: !bad && got === n && shaSent === shaBack, error: bad,
           sentMs: Math.round(sentMs), ms: Math.round(ms), mbPerS: +(n / 1000 / Math.max(ms, 1)).toFixed(2) };
}

async function cpeerEcho(p) {
  const pc = p.pc;
  await cpUntil(() => pc.sctp && pc.sctp.state === "connected", CP_TIMEOUT, "SCTP connected");
  cpStep("sctp");
  const mk = (label, opts) => { const dc = pc.createDataChannel(label, opts); dc.binaryType = "arraybuffer"; return dc; };
  const ch = { reliable: mk("reliable"), unordered: mk("unordered", { ordered: false }),
               mrt0: mk("mrt0", { maxRetransmits: 0 }), closeme: mk("closeme"), bulk: mk("bulk") };
  if (p.neg) { p.neg.binaryType = "arraybuffer"; ch.negotiated = p.neg; }
  await Promise.all(Object.values(ch).map(cpOpen));
  cpStep("open");
  cpeer.res.maxMessageSize = pc.sctp.maxMessageSize;
  const sizes = cpSizes("0,1,1000,16384,65536,262144");
  const labels = ["reliable", "unordered", "mrt0"].concat(ch.negotiated ? ["negotiated"] : []);
  const suites = await Promise.all(labels.map((l) => cpEchoSuite(ch[l], sizes, l !== "mrt0")));
  cpeer.res.echo = suites;
  cpStep("echoed");
  // close from the browser: the close event needs the peer to reset its outgoing stream too
  await cpPing(ch.closeme, "before close", 10000);
  const tc = performance.now();
  const closed = new Promise((resolve) => ch.closeme.addEventListener("close", resolve));
  ch.closeme.close();
  await Promise.race([closed, cpUntil(() => false, 10000, "closeme's close event")]);
  cpeer.res.close = { label: "closeme", closeMs: Math.round(performance.now() - tc), state: ch.closeme.readyState };
  cpStep("closed");
  // the peer keeps serving the other channels
  const n = Number(params.get("bulk") || 0);
  if (n > 0) cpeer.res.bulk = await cpBulk(ch.bulk, n);
  cpStep("bulk");
  await cpPing(ch.reliable, "after close and bulk", 10000);
  cpeer.res.afterClose = true;
  cpeer.res.stats = await cpStats(pc);
  cpeer.res.openChannels = Object.values(ch).filter((dc) => dc.readyState === "open").map((dc) => dc.label);
  cpStep("done");
  const errs = [].concat(...suites.map((s) => s.errors.map((e) => s.label + ": " + e)));
  if (cpeer.res.bulk && !cpeer.res.bulk.ok) errs.push("bulk: " + JSON.stringify(cpeer.res.bulk));
  cpeerFinish(errs);
}
function cpeerFinish(errs) {
  const st = cpeer.res.stats;
  const pc = cpeer.p.pc, count = (d) => (d && d.sdp ? (d.sdp.match(/^a=candidate:/gm) || []).length : null);
  cpeer.res.trickle = Object.assign({ inLocalSdp: count(pc.localDescription), inRemoteSdp: count(pc.remoteDescription) },
                                    cpeer.trickle);
  const inSdp = pc.remoteDescription && pc.remoteDescription.sdp ? pc.remoteDescription.sdp.match(/^a=candidate:.*$/gm) || [] : [];
  cpeer.res.remoteCandidates = [...new Set(cpeer.remoteCands.concat(inSdp.map((l) => cpCandAddr(l.slice(2)))))];
  if (!cpeer.trickle.sent || !cpeer.trickle.received) errs.push("no trickled candidate in one direction");
  if (!st || !st.pair) errs.push("getStats: no selected candidate pair");
  else if (!(st.pair.state === "succeeded" && st.pair.nominated && st.pair.bytesSent > 0 && st.pair.bytesReceived > 0))
    errs.push("getStats: selected pair not succeeded+nominated with bytes both ways");
  finish(Object.assign({ ok: errs.length === 0, errors: errs, mode: cpeer.mode, t: cpeer.t, states: cpeer.states,
                         gone: cpeer.gone, remoteChannels: cpeer.remoteChannels }, cpeer.res));
}
// Waits up to ms for the peer to close: our "chat" channel's close event, or the connection leaving
// "connected" (closed/failed/disconnected). Returns what was seen.
// Our own pc.close() (cpeerGone's, after the grace period) does not count.
async function cpWaitPeerClose(p, ms) {
  const t0 = performance.now();
  const seen = () => !cpeer.dropped && ((p.dc && p.dc.readyState === "closed") ||
                                        ["closed", "failed", "disconnected"].includes(p.pc.connectionState));
  const now = () => ({ seen: true, dc: p.dc ? p.dc.readyState : null, pc: p.pc.connectionState,
                       ms: Math.round(performance.now() - t0) });
  try { return await cpUntil(() => seen() && now(), ms, "the peer's close"); } catch (e) {
    return Object.assign(now(), { seen: false, dropped: !!cpeer.dropped });
  }
}
async function cpeerSendFile(p) {
  await cpUntil(() => p.dc && p.dc.readyState === "open", CP_TIMEOUT, "the chat channel");
  cpStep("open");
  cpeer.res.maxMessageSize = p.pc.sctp.maxMessageSize;
  const errs = [];
  cpeer.res.files = [];
  for (const n of cpSizes("1000000")) {
    const data = cpRandBytes(n);
    const sha = await sha256hex(data);
    const name = `browser-${n}.bin`;
    const t0 = performance.now();
    const ack = await sendFile(p, name, data.buffer, sha, transferRow(`${name} to ${p.id.slice(0, 8)}`));
    const ms = performance.now() - t0;
    const f = { name, bytes: n, sha256: sha, ackOk: ack.ok, ackSha256: ack.sha256, ms: Math.round(ms),
                mbPerS: +(n / 1000 / Math.max(ms, 1)).toFixed(2) };
    cpeer.res.files.push(f);
    if (!(ack.ok === true && ack.sha256 === sha)) errs.push(`file of ${n} bytes: verdict ${JSON.stringify(ack)}`);
  }
  cpStep("sent");
  cpeer.res.stats = await cpStats(p.pc);
  if (params.get("close") === "1") { p.dc.close(); p.pc.close(); }
  else cpeer.res.peerClose = await cpWaitPeerClose(p, Number(params.get("linger") || 0));
  cpStep("done");
  cpeerFinish(errs);
}
async function cpeerRecvFile(p) {
  await cpUntil(() => testState.file, CP_TIMEOUT, "a file");
  // cpeerFileDone took the statistics while the connection was surely up
  await cpUntil(() => cpeer.res.stats, 5000, "getStats");
  cpStep("file");
  cpeer.res.file = testState.file;
  const errs = testState.file.shaOk ? [] : ["SHA-256 of the received file differs from the announced one"];
  cpeer.res.peerClose = await cpWaitPeerClose(p, Number(params.get("linger") || 10000));
  if (!cpeer.res.peerClose.seen) errs.push("the peer did not close the channel or the connection");
  cpStep("done");
  cpeerFinish(errs);
}
function cpeerFileDone() {
  if (cpeer.p && !cpeer.statsTaken) {
    cpeer.statsTaken = true;
    cpStats(cpeer.p.pc).then((s) => { cpeer.res.stats = s; }, (e) => cpeerFail(e));
  }
}

connectSignaling();
