// What email and phone interactions show beyond text: the subject, the mail's own HTML (in a sandboxed
// frame that runs nothing and loads nothing), machine mail, a call's facts, and the live call's actions.

import { h } from "./dom.js";
import { t } from "./i18n.js";

// The sanitized HTML body is shown in an iframe with an empty sandbox (no scripts, no forms, no same
// origin) and a policy that forbids every fetch: remote images and trackers stay off.
const FRAME_POLICY =
  '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">';

function frameDocument(html) {
  return `<!doctype html><html><head>${FRAME_POLICY}<base target="_blank"></head><body dir="auto">${html}</body></html>`;
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// The mail's own inline images (`cid:` references to its stored parts), as data: URLs the closed frame may
// show; anything that cannot be fetched stays a broken image rather than a request from the frame.
async function withInlineImages(html, attachments) {
  const parts = (attachments || []).filter(
    (a) => a.media_id && a.stored_url && String(a.content_type || "").startsWith("image/") && html.includes(`cid:${a.media_id}`),
  );
  const urls = new Map();
  for (const part of parts) {
    try {
      const response = await fetch(part.stored_url, { credentials: "same-origin" });
      if (response.ok) urls.set(part.media_id, await dataUrl(await response.blob()));
    } catch {
      // left as it is
    }
  }
  if (!urls.size) return html;
  return html.replace(/cid:([^"'\s>]+)/g, (found, cid) => urls.get(cid) ?? found);
}

function htmlBody(html, attachments) {
  const frame = h("iframe", {
    class: "mail-html",
    sandbox: "",
    referrerpolicy: "no-referrer",
    title: t("mail_html"),
  });
  frame.srcdoc = frameDocument(html);
  let filled = false;
  const box = h(
    "details",
    {
      class: "mail-html-box",
      ontoggle: async (event) => {
        if (!event.target.open || filled) return;
        filled = true;
        const shown = await withInlineImages(html, attachments);
        if (shown !== html) frame.srcdoc = frameDocument(shown);
      },
    },
    h("summary", {}, t("mail_html")),
    frame,
  );
  return box;
}

function duration(seconds) {
  const total = Math.round(Number(seconds) || 0);
  const minutes = Math.floor(total / 60);
  return t("call_duration", { minutes: String(minutes), seconds: String(total % 60).padStart(2, "0") });
}

function callFacts(details) {
  const facts = [];
  if (details.call_status) facts.push(h("span", { class: `badge call-status call-${details.call_status}` }, t(`call_${details.call_status}`)));
  if (details.outcome) facts.push(h("span", { class: "badge call-outcome" }, t(`call_${details.outcome}`)));
  if (details.duration_s !== undefined && details.duration_s !== null) facts.push(h("span", { class: "call-duration" }, duration(details.duration_s)));
  if (details.recording_url) facts.push(h("span", { class: "badge call-recorded" }, t("call_recorded")));
  return facts.length ? h("div", { class: "call-facts" }, facts) : null;
}

// Extra lines of one timeline entry, or an empty list.
export function entryExtras(item) {
  const details = item.details || {};
  const extras = [];
  if (item.subject) extras.push(h("p", { class: "subject", dir: "auto" }, item.subject));
  if (details.machine) extras.push(h("p", { class: "badge machine" }, t("machine_mail", { reason: t(`machine_${details.machine}`) })));
  const facts = callFacts(details);
  if (facts) extras.push(facts);
  if (typeof details.html === "string" && details.html.trim()) extras.push(htmlBody(details.html, item.attachments));
  return extras;
}

// The live call's buttons, for a conversation on the phone channel.
export function callActions(conv, actions, state) {
  if (conv.channel !== "twilio_voice" || conv.status === "resolved" || conv.status === "closed") return [];
  const paused = Boolean(state.recordingPaused);
  return [
    h("button", { type: "button", id: "act-take-call", class: "primary", onclick: actions.takeCall }, t("take_call")),
    h(
      "button",
      { type: "button", id: "act-recording", "aria-pressed": String(paused), onclick: () => actions.pauseRecording(!paused) },
      t(paused ? "resume_recording" : "pause_recording"),
    ),
  ];
}

// Channels answered by calling, never by a written reply: a reply to a call goes to another address.
const CALL_ONLY = new Set(["twilio_voice"]);

// The addresses a written reply may go to besides the conversation's own, and the default one: for a
// call, the customer's first written channel (their SMS number, say); otherwise the conversation itself.
export function replyTargets(conv, identities) {
  const others = (identities || []).filter(
    (i) => !CALL_ONLY.has(i.channel) && !(i.channel === conv.channel && i.account === conv.account && i.external_id === conv.thread_key),
  );
  const callOnly = CALL_ONLY.has(conv.channel);
  return { others, callOnly, fallback: callOnly && others.length ? others[0].id : "" };
}
