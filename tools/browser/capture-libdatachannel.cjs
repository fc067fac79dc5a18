// tools/browser/capture-libdatachannel.cjs OUT_DIR CHROMIUM_OFFER.sdp
// Captures real libdatachannel SDPs through node-datachannel (npm; it bundles libdatachannel):
//   libdatachannel-real-dc-offer.sdp      offer with one data channel, after gathering
//   libdatachannel-real-av-dc-offer.sdp   offer with an Opus audio track, a VP8/H264 video track
//                                         and a data channel
//   libdatachannel-real-answer-to-chromium-dc.sdp   its answer to a Chromium data-channel offer
// Run through capture-libdatachannel.sh (namespace, npm install); needs NODE_PATH to find the module.
"use strict";
const fs = require("fs");
const path = require("path");
const ndc = require("node-datachannel");

const [outDir, chromiumOffer] = process.argv.slice(2);
if (!outDir || !chromiumOffer) {
  console.error("usage: capture-libdatachannel.cjs OUT_DIR CHROMIUM_OFFER.sdp");
  process.exit(2);
}

function gathered(pc, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("gathering timed out")), ms);
    const check = () => {
      if (pc.gatheringState() === "complete") { clearTimeout(t); resolve(); return true; }
      return false;
    };
    if (check()) return;
    pc.onGatheringStateChange(() => check());
  });
}

function save(name, sdp) {
  // node-datachannel returns the description with CRLF already; keep the bytes as they are.
  const file = path.join(outDir, name);
  fs.writeFileSync(file, sdp);
  console.log(`wrote ${file} ${sdp.length} bytes`);
}

async function dcOffer() {
  const pc = new ndc.PeerConnection("offer", { iceServers: [] });
  pc.createDataChannel("chat");
  await gathered(pc, 10000);
  save("libdatachannel-real-dc-offer.sdp", pc.localDescription().sdp);
  pc.close();
}

async function avDcOffer() {
  const pc = new ndc.PeerConnection("av", { iceServers: [] });
  const audio = new ndc.Audio("audio", "SendRecv");
  audio.addOpusCodec(111);
  audio.addSSRC(1234567, "cwebrtc-audio", "stream1", "audio1");
  pc.addTrack(audio);
  const video = new ndc.Video("video", "SendRecv");
  video.addVP8Codec(96);
  video.addH264Codec(102);
  video.addRTXCodec(97, 96, 90000);
  video.addSSRC(7654321, "cwebrtc-video", "stream1", "video1");
  pc.addTrack(video);
  pc.createDataChannel("chat");
  pc.setLocalDescription();
  await gathered(pc, 10000);
  save("libdatachannel-real-av-dc-offer.sdp", pc.localDescription().sdp);
  pc.close();
}

async function answerChromium() {
  const pc = new ndc.PeerConnection("answer", { iceServers: [] });
  pc.setRemoteDescription(fs.readFileSync(chromiumOffer, "utf8"), "offer");
  await gathered(pc, 10000);
  const d = pc.localDescription();
  if (d.type !== "answer") throw new Error("expected an answer, got " + d.type);
  save("libdatachannel-real-answer-to-chromium-dc.sdp", d.sdp);
  pc.close();
}

(async () => {
  console.log("libdatachannel", ndc.getLibraryVersion ? ndc.getLibraryVersion() : "?");
  await dcOffer();
  await avDcOffer();
  await answerChromium();
  ndc.cleanup();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
