/* Switchboard web chat widget: plain JavaScript, no dependencies, no build step.
 * Embed: <script src="<hub>/webchat/widget.js" async></script>, optionally with data-identity,
 * data-signature, data-name, data-email (a signed logged-in customer) and data-title, data-open-label,
 * data-close-label, data-input-label, data-placeholder, data-send-label (texts, e.g. in Hebrew).
 * The frames it exchanges with the hub are described in channels/webchat/README.md. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector('script[src*="/webchat/widget.js"]');
  if (!script || !window.WebSocket || window.__switchboardWebchat) return;
  window.__switchboardWebchat = true;

  var src = new URL(script.src, location.href);
  var wsUrl = (src.protocol === "https:" ? "wss:" : "ws:") + "//" + src.host +
    src.pathname.replace(/widget\.js$/, "ws");
  var data = script.dataset;
  var storeKey = "switchboard-webchat:" + src.host + src.pathname + ":";
  var label = {
    title: data.title || "Chat with us",
    open: data.openLabel || "Chat",
    close: data.closeLabel || "Close chat",
    input: data.inputLabel || "Your message",
    placeholder: data.placeholder || "",
    send: data.sendLabel || "Send",
    offline: data.offlineLabel || "Reconnecting\u2026",
    unavailable: data.unavailableLabel || "The chat is unavailable.",
    tooFast: data.tooFastLabel || "Too many messages. Sending again shortly\u2026",
    failed: data.failedLabel || "Not sent"
  };

  function load(name, fallback) {
    try {
      var value = localStorage.getItem(storeKey + name);
      return value === null ? fallback : JSON.parse(value);
    } catch (e) { return fallback; }
  }
  function save(name, value) {
    try {
      if (value === null) localStorage.removeItem(storeKey + name);
      else localStorage.setItem(storeKey + name, JSON.stringify(value));
    } catch (e) { /* storage blocked: the chat still works for this page */ }
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  var token = load("token", null);
  var pending = load("pending", []);
  var sock = null, ready = false, stopped = false, attempts = 0, lastSeen = 0, lastError = "";
  var maxLength = 4000, unread = 0, toRead = [], shown = {};

  var host = document.createElement("div");
  host.setAttribute("data-switchboard-webchat", "");
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML = "<style>" +
    ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,sans-serif}" +
    ".launch{position:fixed;inset-block-end:20px;inset-inline-end:20px;z-index:2147483000;border:0;" +
    "border-radius:24px;padding:12px 20px;background:#1d4ed8;color:#fff;font-size:15px;font-weight:600;" +
    "cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".badge{display:inline-block;margin-inline-start:8px;min-width:20px;padding:0 6px;border-radius:10px;" +
    "background:#dc2626;font-size:12px;line-height:20px}" +
    ".panel{position:fixed;inset-block-end:80px;inset-inline-end:20px;z-index:2147483000;display:flex;" +
    "flex-direction:column;width:min(360px,calc(100vw - 40px));height:min(520px,calc(100vh - 110px));" +
    "background:#fff;color:#111827;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}" +
    "[hidden]{display:none!important}" +
    "header{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;" +
    "background:#1d4ed8;color:#fff}" +
    "h2{margin:0;font-size:16px}" +
    ".x{border:0;background:none;color:inherit;font-size:24px;line-height:1;cursor:pointer}" +
    "ol{flex:1;margin:0;padding:12px;list-style:none;overflow-y:auto;display:flex;flex-direction:column;gap:8px}" +
    "li{display:flex;flex-direction:column;max-width:85%;align-self:flex-start}" +
    "li.in{align-self:flex-end;align-items:flex-end}" +
    ".bubble{margin:0;padding:8px 12px;border-radius:14px;background:#f1f5f9;white-space:pre-wrap;" +
    "overflow-wrap:anywhere;unicode-bidi:plaintext;font-size:15px;line-height:1.4}" +
    "li.in .bubble{background:#1d4ed8;color:#fff}" +
    "li.pending .bubble{opacity:.6}" +
    "li.failed .bubble{background:#fee2e2;color:#7f1d1d}" +
    ".meta{font-size:11px;color:#4b5563;margin-top:2px}" +
    ".bubble a{color:inherit}" +
    ".status{margin:0;padding:0 14px;min-height:1.3em;font-size:13px;color:#b91c1c}" +
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb}" +
    "textarea{flex:1;resize:none;max-height:120px;padding:8px;border:1px solid #6b7280;border-radius:8px;" +
    "font-size:15px;unicode-bidi:plaintext}" +
    ".send{border:0;border-radius:8px;padding:0 14px;background:#1d4ed8;color:#fff;font-size:15px;cursor:pointer}" +
    "button:focus-visible,textarea:focus-visible,ol:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "</style>" +
    '<button class="launch" type="button" aria-expanded="false" aria-controls="panel">' +
    '<span class="lt"></span><span class="badge" hidden></span></button>' +
    '<section class="panel" id="panel" role="dialog" aria-labelledby="title" hidden>' +
    '<header><h2 id="title"></h2><button class="x" type="button">\u00d7</button></header>' +
    '<ol class="log" role="log" aria-live="polite" tabindex="0" aria-labelledby="title"></ol>' +
    '<p class="status" role="status"></p>' +
    '<form><label class="sr" for="input"></label>' +
    '<textarea id="input" dir="auto" rows="2" autocomplete="off"></textarea>' +
    '<button class="send" type="submit"></button></form></section>';

  function $(selector) { return root.querySelector(selector); }
  var launch = $(".launch"), badge = $(".badge"), panel = $(".panel"), log = $(".log");
  var statusLine = $(".status"), form = $("form"), input = $("textarea");
  $(".lt").textContent = label.open;
  $("h2").textContent = label.title;
  $(".x").setAttribute("aria-label", label.close);
  $("label").textContent = label.input;
  $(".send").textContent = label.send;
  input.placeholder = label.placeholder;

  function setStatus(text) { statusLine.textContent = text; }
  function isOpen() { return !panel.hidden; }
  function showBadge() {
    badge.hidden = unread === 0;
    badge.textContent = unread ? String(unread) : "";
    launch.setAttribute("aria-label", unread ? label.open + " (" + unread + ")" : label.open);
  }

  function render(item) {
    var li = (item.client_id && shown["c:" + item.client_id]) || (item.id && shown["id:" + item.id]);
    if (!li) {
      li = document.createElement("li");
      var bubble = document.createElement("p");
      bubble.className = "bubble";
      bubble.setAttribute("dir", "auto");
      bubble.textContent = item.text || "";
      (item.attachments || []).forEach(function (a) {
        if (!/^https?:/i.test(a.url || "")) return;
        var link = document.createElement("a");
        link.href = a.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.textContent = a.filename || a.url;
        bubble.appendChild(document.createElement("br"));
        bubble.appendChild(link);
      });
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.setAttribute("dir", "auto");
      var when = item.time ? new Date(item.time) : new Date();
      meta.textContent = (item.author_name ? item.author_name + " \u00b7 " : "") +
        when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      li.appendChild(bubble);
      li.appendChild(meta);
      log.appendChild(li);
      log.scrollTop = log.scrollHeight;
    }
    li.className = item.direction === "out" ? "out" : "in";
    if (item.pending) li.classList.add("pending");
    if (item.failed) li.classList.add("failed");
    if (item.client_id) shown["c:" + item.client_id] = li;
    if (item.id) shown["id:" + item.id] = li;
    return li;
  }

  function send(frame) {
    if (sock && ready) sock.send(JSON.stringify(frame));
  }
  function transmit(m) { send({ type: "message", client_id: m.client_id, text: m.text }); }
  function dropPending(clientId) {
    pending = pending.filter(function (m) { return m.client_id !== clientId; });
    save("pending", pending);
  }
  var readTimer = 0;
  function markRead() {
    // Batched a moment: a receipt sent within milliseconds of the reply can beat the hub's own record of it.
    if (readTimer || !isOpen() || document.visibilityState !== "visible" || !toRead.length || !ready) return;
    readTimer = setTimeout(function () {
      readTimer = 0;
      if (ready && isOpen()) send({ type: "read", ids: toRead.splice(0, 100) });
    }, 1500);
  }

  var handlers = {
    welcome: function (f) {
      token = f.token;
      save("token", token);
      ready = true;
      attempts = 0;
      maxLength = f.max_message_length || maxLength;
      input.maxLength = maxLength;
      setStatus("");
      log.textContent = "";
      shown = {};
      toRead = [];
      (f.history || []).forEach(function (item) {
        render(item);
        if (item.direction === "out" && item.status !== "read") toRead.push(item.id);
      });
      pending.forEach(function (m) {
        render({ client_id: m.client_id, text: m.text, time: m.time, direction: "in", pending: true });
        transmit(m);
      });
      markRead();
    },
    ack: function (f) {
      dropPending(f.client_id);
      var li = shown["c:" + f.client_id], stored = shown["id:" + f.id];
      if (li && stored && stored !== li) li.remove();  // a resend of a message the history already shows
      else if (li) { li.classList.remove("pending"); shown["id:" + f.id] = li; }
    },
    message: function (f) {
      render({ id: f.id, client_id: f.client_id, text: f.text, time: f.time, direction: "in" });
    },
    reply: function (f) {
      if (shown["id:" + f.id]) return;
      f.direction = "out";
      render(f);
      toRead.push(f.id);
      if (!isOpen() || document.visibilityState !== "visible") { unread += 1; showBadge(); }
      markRead();
    },
    error: function (f) {
      var m = pending.filter(function (p) { return p.client_id === f.client_id; })[0];
      if (!m) { lastError = f.code; return; }
      if (f.code === "rate_limited" || f.retry) {
        if (f.code === "rate_limited") setStatus(label.tooFast);
        setTimeout(function () { transmit(m); }, 1000 * (f.retry_after || 5));
        return;
      }
      dropPending(m.client_id);
      render({ client_id: m.client_id, direction: "in", failed: true });
      setStatus(label.failed + ": " + f.detail);
    }
  };

  function connect() {
    if (stopped || sock) return;
    lastError = "";
    var s = sock = new WebSocket(wsUrl);
    s.onopen = function () {
      var hello = { type: "hello", token: token, page: location.origin + location.pathname };
      if (data.identity) {
        hello.identity = { id: data.identity, signature: data.signature || "",
          name: data.name || undefined, email: data.email || undefined };
      }
      s.send(JSON.stringify(hello));
    };
    s.onmessage = function (ev) {
      lastSeen = Date.now();
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (handlers[frame.type]) handlers[frame.type](frame);
    };
    s.onclose = function (ev) { if (sock === s) closed(ev.code); };
  }

  function closed(code) {
    sock = null;
    ready = false;
    if (code === 4401 && lastError === "bad_token") {
      token = null;  // the hub no longer knows this token (its secret changed): start as a new visitor
      save("token", null);
    } else if (code === 4400 || code === 4401 || code === 4403) {
      stopped = true;
      setStatus(label.unavailable);
      return;
    }
    attempts += 1;
    if (isOpen()) setStatus(label.offline);
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(attempts, 5)));
    setTimeout(connect, delay * (0.5 + Math.random() / 2));
  }

  // Browsers hide WebSocket pings, so the widget pings too and gives up on a silent socket.
  setInterval(function () {
    if (!sock || !ready) return;
    if (Date.now() - lastSeen > 60000) {
      var s = sock;
      closed(1006);
      s.close();
    } else {
      send({ type: "ping" });
    }
  }, 25000);

  function open() {
    panel.hidden = false;
    launch.setAttribute("aria-expanded", "true");
    unread = 0;
    showBadge();
    input.focus();
    connect();
    markRead();
  }
  function close() {
    panel.hidden = true;
    launch.setAttribute("aria-expanded", "false");
    launch.focus();
  }
  function submit() {
    var text = input.value;
    if (!text.trim()) return;
    var m = { client_id: newId(), text: text, time: new Date().toISOString() };
    pending.push(m);
    save("pending", pending);
    render({ client_id: m.client_id, text: text, time: m.time, direction: "in", pending: true });
    input.value = "";
    connect();
    transmit(m);
  }

  launch.addEventListener("click", function () { if (isOpen()) close(); else open(); });
  $(".x").addEventListener("click", close);
  panel.addEventListener("keydown", function (ev) { if (ev.key === "Escape") close(); });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); submit(); });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
  });
  document.addEventListener("visibilitychange", markRead);

  function start() {
    document.body.appendChild(host);
    showBadge();
    // A returning visitor connects at once, to see replies that came while away; a new one on first open.
    if (token || pending.length) connect();
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
