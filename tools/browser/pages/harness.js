// Helpers shared by the harness pages (tools/browser/run.sh). Each page reads its scenario from the
// query string, does its work, and ends with exactly one harness.result({...}) (or harness.fail()).
"use strict";
const harness = (() => {
  const params = new URLSearchParams(location.search);
  // ?result=NAME posts to /result/NAME (kept beside the main result; the server keeps running),
  // so a second browser in the same run can report too. Without it: /result, which ends the run.
  const resultPath = params.get("result") ? "/result/" + params.get("result") : "/result";
  let reported = false;

  async function post(path, body) {
    const r = await fetch(path, { method: "POST", body });
    if (!r.ok) throw new Error(`POST ${path}: ${r.status}`);
  }
  function log(...args) {
    const line = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
    console.log(line);
    post("/log", line).catch(() => {});
  }
  async function result(obj) {
    if (reported) return;
    reported = true;
    await post(resultPath, JSON.stringify(Object.assign({ ok: true, userAgent: navigator.userAgent }, obj)));
  }
  async function fail(err) {
    if (reported) return;
    reported = true;
    // Firefox's Error.stack lacks the message; keep both.
    const msg = String(err) + (err && err.stack ? "\n" + err.stack : "");
    console.log("harness failure: " + msg);
    await post(resultPath, JSON.stringify({ ok: false, error: msg }));
  }
  // Resolves once ICE gathering is complete, so the SDP carries every candidate and
  // a=end-of-candidates; rejects after ms milliseconds.
  function gathered(pc, ms) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("ICE gathering timed out")), ms);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); }
      });
    });
  }
  // Signaling mailboxes on the page server (see server.py): send(chan, text), recv(chan, seconds).
  async function send(chan, text) { await post("/msg/" + chan, text); }
  async function recv(chan, seconds) {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      const left = Math.max(0, Math.min(25, (deadline - Date.now()) / 1000));
      const r = await fetch(`/msg/${chan}?wait=${left}`);
      if (r.status === 200) return await r.text();
      if (r.status !== 204) throw new Error(`GET /msg/${chan}: ${r.status}`);
    }
    throw new Error(`no message on ${chan} within ${seconds} s`);
  }
  function param(name, dflt) { return params.has(name) ? params.get(name) : dflt; }
  window.addEventListener("error", (e) => fail(e.error || e.message));
  window.addEventListener("unhandledrejection", (e) => fail(e.reason));
  return { log, result, fail, gathered, send, recv, param };
})();
