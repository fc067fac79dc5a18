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
//   ?test=echo                 echo every message on every channel back (for native peers)
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
  report(Object.assign({ event: "done" }, obj));
}
if (TEST === "send" || TEST === "recv") {
  setTimeout(() => finish({ ok: false, error: "timed out", state: testState }), 75000);
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
        dropPeer(m.type === "bye" ? m.from : m.id);
        break;
      case "offer":
      case "answer":
      case "candidate": {
        const p = peers.get(m.from) || (m.type === "offer" ? newPeer(m.from, false) : null);
        if (p) p.enqueue(m);
        break;
      }
      case "error":
        console.log("signaling error: " + JSON.stringify(m));
        chatLine("", `server: ${m.error} (${m.detail})`, true);
        if (TEST === "send" || TEST === "recv") finish({ ok: false, error: "signaling: " + m.error });
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
  };
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
  if (TEST === "recv") {
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
  if (!(TEST === "send" || TEST === "recv") || !testState.file || testState.texts.length < TEST_PEERS) return;
  const f = testState.file;
  finish(Object.assign({ ok: f.shaOk, offers: testState.offers, answers: testState.answers,
                         texts: testState.texts.slice().sort(), openMs: testState.openMs }, f));
}

connectSignaling();
