// The agent console: state, wiring, sign-in, shortcuts. Rendering lives in the other modules.

import * as api from "./api.js";
import { h, replace } from "./dom.js";
import { LANGUAGES, applyLang, lang, setLang, t } from "./i18n.js";
import { composerActions } from "./composer.js";
import { renderConversation } from "./conversation.js";
import { DEFAULT_FILTER, loadFilterOptions, loadInbox, loadMore, markRead, renderCounts, renderInbox, sortByActivity } from "./inbox.js";
import { openContactEdit, openMerge, renderContact, renderSuggestions } from "./panel.js";
import { LiveFeed } from "./live.js";
import { replyTargets } from "./channel_views.js";
import { renderAdmin } from "./admin.js";

const root = document.getElementById("app");

const state = {
  me: null,
  conversations: null,
  filter: { ...DEFAULT_FILTER },
  inboxNext: null,
  counts: null,
  teams: [],
  tags: [],
  selectedId: null,
  conversation: null,
  interactions: [],
  pending: [],
  contact: null,
  suggestions: undefined,
  mode: "reply",
  draft: "",
  identityId: "",
  attachments: [],
  canned: { open: false, items: null, error: "", query: "", index: 0, slash: null },
  actionError: "",
  live: false,
  view: "signin",
};

const feed = new LiveFeed(onEvents, (up) => {
  state.live = up;
  const dot = document.getElementById("live");
  if (dot) {
    dot.className = up ? "live up" : "live down";
    dot.textContent = up ? t("live") : t("offline");
  }
});

// ---- rendering -----------------------------------------------------------------------------------

function languageSwitch() {
  return h(
    "label",
    { class: "filter" },
    h("span", {}, t("language")),
    h(
      "select",
      { id: "lang-switch", onchange: (event) => { setLang(event.target.value); render(); } },
      Object.entries(LANGUAGES).map(([code, name]) => h("option", { value: code, selected: code === lang(), lang: code }, name)),
    ),
  );
}

function renderSignIn(error = "") {
  const form = h(
    "form",
    { class: "signin", id: "signin", onsubmit: submitSignIn },
    h("h1", {}, t("sign_in_title")),
    h("label", {}, t("email"), h("input", { type: "email", name: "email", id: "email", required: true, autocomplete: "username", dir: "auto" })),
    h("label", {}, t("password"), h("input", { type: "password", name: "password", id: "password", required: true, autocomplete: "current-password", dir: "auto" })),
    error ? h("p", { class: "error", role: "alert" }, t("sign_in_failed", { detail: error })) : null,
    h("button", { type: "submit", class: "primary" }, t("sign_in")),
    languageSwitch(),
  );
  replace(root, h("main", { class: "signin-page" }, form));
}

function renderShell() {
  const panes = state.view === "admin" ? h("main", { class: "admin", id: "admin" }) : h(
    "div",
    { class: `panes${state.selectedId ? " has-selection" : ""}` },
    h("section", { class: "pane inbox", id: "inbox", "aria-label": t("inbox") }),
    h("section", { class: "pane conversation", id: "conversation" }),
    h("aside", { class: "pane side", id: "side" }, h("div", { id: "contact360" }), h("div", { id: "suggestions" })),
  );
  replace(
    root,
    h(
      "header",
      { class: "topbar" },
      h("h1", {}, t("app_title")),
      h("span", { class: state.live ? "live up" : "live down", id: "live" }, state.live ? t("live") : t("offline")),
      h("div", { class: "spacer" }),
      h("div", { class: "counts", id: "inbox-counts", role: "group", "aria-label": t("counts") }),
      languageSwitch(),
      h("button", { type: "button", id: "help-button", onclick: toggleHelp }, "? ", t("help_button")),
      adminNav(),
      availabilitySwitch(),
      h("span", { class: "me", dir: "auto" }, state.me?.name || ""),
      h("button", { type: "button", id: "sign-out", onclick: doSignOut }, t("sign_out")),
    ),
    panes,
  );
  if (state.view === "admin") renderAdmin(document.getElementById("admin"));
  renderAll();
}

function renderAll() {
  const inbox = document.getElementById("inbox");
  if (!inbox) return;
  document.querySelector(".panes")?.classList.toggle("has-selection", Boolean(state.selectedId));
  renderInbox(inbox, state, select, inboxActions);
  renderCounts(document.getElementById("inbox-counts"), state, inboxActions.setFilter);
  renderConversation(document.getElementById("conversation"), state, convActions);
  renderContact(document.getElementById("contact360"), state.contact, panelActions);
  renderSuggestions(document.getElementById("suggestions"), state.suggestions, useReply);
  addSnoozeButton();
}

function render() {
  applyLang();
  if (state.view === "signin") renderSignIn();
  else renderShell();
}

// ---- session -------------------------------------------------------------------------------------

async function submitSignIn(event) {
  event.preventDefault();
  // Speed agents feel, read back by the browser tests: sign-in to a usable inbox.
  performance.mark("sb:sign-in");
  const form = event.target;
  try {
    const session = await api.signIn(form.email.value, form.password.value);
    await startConsole(session.agent);
  } catch (err) {
    renderSignIn(err.detail || String(err));
  }
}

async function startConsole(agent = null) {
  const me = await api.whoAmI();
  // GET /session names the agent; a token of no agent has only the token's own name.
  state.me = { ...me, name: me.agent?.name || agent?.name || me.name.replace(/^session:/, "") };
  state.view = "console";
  render();
  feed.start();
  await refreshInbox();
  measureSince("sb:sign-in", "sign-in to usable inbox");
  loadFilterOptions(state, api).then(renderAll);
}

/** A performance measure from ``startMark`` to now, once (the mark is used up). */
function measureSince(startMark, name) {
  if (!performance.getEntriesByName(startMark, "mark").length) return;
  performance.measure(name, startMark);
  performance.clearMarks(startMark);
}

async function doSignOut() {
  feed.stop();
  await api.signOut().catch(() => {});
  Object.assign(state, { me: null, conversations: null, selectedId: null, conversation: null, contact: null, view: "signin" });
  // The next agent to sign in here starts from a clean inbox: no filters, counts or reads of this one.
  Object.assign(state, { filter: { ...DEFAULT_FILTER }, inboxNext: null, counts: null, reads: {} });
  render();
}

// ---- data ----------------------------------------------------------------------------------------

async function refreshInbox() {
  try {
    await loadInbox(state, api);
  } catch (err) {
    if (err.status === 401) return doSignOut();
    state.conversations = state.conversations || [];
  }
  renderAll();
}

async function refreshConversation() {
  const id = state.selectedId;
  if (!id) return;
  const [conv, page] = await Promise.all([api.getConversation(id), api.getInteractions(id)]);
  if (state.selectedId !== id) return;
  state.conversation = conv;
  state.interactions = page.items;
  const stored = new Set(page.items.map((item) => item.id));
  state.pending = state.pending.filter((p) => p.conversation_id === id && !(p.id && stored.has(p.id)));
  renderAll();
  measureSince("sb:open", "open conversation");
}

async function loadSide(conv) {
  try {
    state.contact = await api.getContact360(conv.contact_id);
  } catch {
    state.contact = null;
  }
  renderAll();
  measureSince("sb:open-side", "open conversation with customer panel");
  try {
    state.suggestions = await api.getSuggestions(conv.id);
  } catch {
    state.suggestions = null; // 503 knowledge_unavailable (a hub without models) or any other failure
  }
  renderAll();
}

async function select(id) {
  if (state.selectedId !== id) {
    performance.mark("sb:open");
    performance.mark("sb:open-side");
    Object.assign(state, { selectedId: id, conversation: null, interactions: [], pending: [], contact: null, suggestions: undefined, draft: "", actionError: "", identityId: "", attachments: [], recordingPaused: false });
    state.canned.open = false;
  }
  renderAll();
  markRead(state, api, id).then(renderAll);
  await refreshConversation();
  if (state.conversation) await loadSide(state.conversation);
}

// The inbox's filters and paging (inbox.js renders them).
const inboxActions = {
  setFilter: (change) => {
    Object.assign(state.filter, change);
    Object.assign(state, { conversations: null, inboxNext: null });
    renderAll();
    refreshInbox();
  },
  loadMore: async () => {
    const loading = loadMore(state, api).catch(() => {});
    renderAll();
    await loading;
    renderAll();
  },
};

let inboxTimer = null;
function onEvents(events) {
  clearTimeout(inboxTimer);
  inboxTimer = setTimeout(refreshInbox, 100);
  const touched = events.length === 0 || events.some((e) => e.payload?.conversation_id === state.selectedId);
  if (state.selectedId && touched) refreshConversation().catch(() => {});
  // The customer wrote in the conversation on screen: the agent is reading it.
  const id = state.selectedId;
  if (id && events.some((e) => e.name === "interaction.created" && e.payload?.conversation_id === id)) markRead(state, api, id).then(renderAll);
}

// ---- actions -------------------------------------------------------------------------------------

async function runAction(call) {
  if (!state.selectedId) return;
  state.actionError = "";
  try {
    await call(state.selectedId);
  } catch (err) {
    state.actionError = t("action_failed", { detail: err.detail || String(err) });
  }
  await refreshConversation().catch(() => {});
  refreshInbox();
}

let pendingCounter = 0;

function channelOf(identityId) {
  const identity = (state.contact?.identities || []).find((i) => i.id === identityId);
  return identity?.channel || state.conversation?.channel || "";
}

async function send() {
  const text = state.draft.trim();
  const isPrivate = state.mode === "note";
  const files = isPrivate ? [] : state.attachments.filter((a) => a.status === "ready");
  if ((!text && !files.length) || !state.selectedId) return;
  if (state.attachments.some((a) => a.status === "uploading")) return;
  const identityId = isPrivate ? "" : state.identityId || replyTargets(state.conversation, state.contact?.identities).fallback;
  const pending = {
    tempId: `pending-${++pendingCounter}`,
    id: null,
    conversation_id: state.selectedId,
    direction: isPrivate ? "internal" : "out",
    kind: isPrivate ? "note" : "message",
    private: isPrivate,
    text,
    attachments: files.map((a) => ({ filename: a.name, content_type: a.upload.content_type, stored_url: a.upload.url })),
    channel: channelOf(identityId),
    occurred_at: new Date().toISOString(),
    pendingStatus: "sending",
  };
  state.pending.push(pending);
  state.draft = "";
  if (!isPrivate) state.attachments = [];
  renderAll();
  const extra = {};
  if (identityId) extra.identity_id = identityId;
  if (files.length) extra.attachments = files.map((a) => ({ stored_id: a.upload.id }));
  try {
    const result = await api.postMessage(state.selectedId, text || null, isPrivate, extra);
    pending.id = result.interaction_id;
    pending.pendingStatus = isPrivate ? null : "queued";
  } catch (err) {
    pending.pendingStatus = "failed";
    pending.pendingError = err.detail || String(err);
    renderAll();
    return;
  }
  await refreshConversation().catch(() => {});
}

async function openTransfer() {
  if (!state.selectedId) return;
  // Pickers, not ids: every agent (with their availability) and every team.
  const [agents, teams] = await Promise.all([
    api.listAgents().then((r) => r.items).catch(() => []),
    api.listTeams().then((r) => r.items).catch(() => []),
  ]);
  const agentOptions = () =>
    agents
      .filter((a) => a.id !== state.me?.agent?.id)
      .map((a) => h("option", { value: a.id }, `${a.name} · ${t(`availability_${a.availability || "offline"}`)}`));
  const teamOptions = () => teams.map((team) => h("option", { value: team.id }, team.name));
  const target = h("select", { name: "target", id: "transfer-target", required: true, dir: "auto" }, agentOptions());
  const dialog = h(
    "dialog",
    { id: "transfer-dialog", class: "dialog" },
    h(
      "form",
      {
        method: "dialog",
        onsubmit: (event) => {
          event.preventDefault();
          const form = event.target;
          const chosen = { note: form.note.value };
          chosen[form.kind.value === "team" ? "team_id" : "agent_id"] = form.target.value;
          dialog.close();
          dialog.remove();
          runAction((id) => api.transfer(id, chosen));
        },
      },
      h("h2", {}, t("transfer_title")),
      h(
        "label",
        {},
        t("transfer_to"),
        h(
          "select",
          { name: "kind", id: "transfer-kind", onchange: (event) => replace(target, event.target.value === "team" ? teamOptions() : agentOptions()) },
          h("option", { value: "agent" }, t("agent")),
          h("option", { value: "team" }, t("team")),
        ),
      ),
      h("label", {}, t("target_id"), target),
      h("label", {}, t("note"), h("textarea", { name: "note", id: "transfer-note", required: true, rows: 3, dir: "auto" })),
      h(
        "div",
        { class: "dialog-bar" },
        h("button", { type: "button", onclick: () => { dialog.close(); dialog.remove(); } }, t("cancel")),
        h("button", { type: "submit", class: "primary", id: "transfer-confirm" }, t("confirm")),
      ),
    ),
  );
  document.body.append(dialog);
  dialog.showModal();
}

function useReply(text) {
  state.mode = "reply";
  state.draft = text;
  renderAll();
  document.getElementById("composer-text")?.focus();
}

function focusComposer(mode) {
  state.mode = mode;
  renderAll();
  document.getElementById("composer-text")?.focus();
}

// ---- customer panel: edit and merge ----------------------------------------------------------------

async function reloadAfterContactChange(contactId) {
  state.contact = await api.getContact360(contactId).catch(() => state.contact);
  await refreshConversation().catch(() => {});
  refreshInbox();
}

const panelActions = {
  call: async (number) => {
    if (!state.contact) return;
    try {
      await api.callContact(state.contact.contact.id, number);
      state.actionError = t("call_placed", { number });
    } catch (err) {
      state.actionError = t("action_failed", { detail: err.detail || String(err) });
    }
    renderAll();
  },
  edit: () => state.contact && openContactEdit(state.contact.contact, panelActions),
  save: async (changes) => {
    const id = state.contact.contact.id;
    await api.updateContact(id, changes);
    await reloadAfterContactChange(id);
  },
  merge: () => state.contact && openMerge(state.contact.contact, panelActions),
  search: async (q) => (await api.searchContacts(q)).items,
  mergeInto: async (otherId) => {
    const id = state.contact.contact.id;
    await api.mergeContact(id, otherId);
    await reloadAfterContactChange(id);
  },
};

// Files and canned responses (composer.js): typing "/" or pressing "c" opens the picker.
const composing = composerActions(state, { rerender: () => renderAll(), reply: () => focusComposer("reply") });

const convActions = {
  back: () => { state.selectedId = null; state.conversation = null; state.contact = null; state.suggestions = undefined; renderAll(); },
  assignMe: () => runAction((id) => api.assign(id, "me")),
  resolve: () => runAction((id) => api.resolve(id)),
  reopen: () => runAction((id) => api.reopen(id)),
  transfer: openTransfer,
  mode: (mode) => focusComposer(mode),
  identity: (id) => { state.identityId = id; },
  // The phone (channel_views.js): take the queued call on your own phone, pause recording for card details.
  takeCall: () => runAction((id) => api.callAction(id, "connect")),
  pauseRecording: (paused) =>
    runAction(async (id) => {
      await api.callAction(id, "recording", { paused });
      state.recordingPaused = paused;
    }),
  ...composing,
  send,
};

// ---- availability, snooze, administration ------------------------------------------------------

const AVAILABILITY = ["online", "away", "offline"];

function availabilitySwitch() {
  const current = state.me?.agent?.availability;
  if (!current) return null; // a token of no agent
  return h(
    "label",
    { class: "filter availability" },
    h("span", { class: `availability-dot ${current}`, id: "availability-dot" }),
    h("span", { class: "visually-hidden" }, t("availability")),
    h(
      "select",
      { id: "availability", title: `${t("availability")} (v)`, onchange: (event) => setAvailability(event.target.value) },
      AVAILABILITY.map((value) => h("option", { value, selected: value === current }, t(`availability_${value}`))),
    ),
  );
}

async function setAvailability(value) {
  const select = document.getElementById("availability");
  try {
    await api.setAvailability(value);
    state.me.agent.availability = value;
  } catch (err) {
    state.actionError = t("action_failed", { detail: err.detail || String(err) });
  }
  const now = state.me?.agent?.availability;
  if (select) select.value = now;
  const dot = document.getElementById("availability-dot");
  if (dot) dot.className = `availability-dot ${now}`;
}

/** The shortcut: online and away take turns; from offline it goes online. */
function toggleAvailability() {
  const current = state.me?.agent?.availability;
  if (current) setAvailability(current === "online" ? "away" : "online");
}

function adminNav() {
  if (state.me?.role !== "admin") return null;
  const inAdmin = state.view === "admin";
  return h(
    "button",
    {
      type: "button",
      id: inAdmin ? "nav-inbox" : "nav-admin",
      onclick: () => { state.view = inAdmin ? "console" : "admin"; render(); if (inAdmin) refreshInbox(); },
    },
    t(inAdmin ? "nav_inbox" : "nav_admin"),
  );
}

/** When "1 hour", "tomorrow 9:00" and "next week" (Monday 9:00) are, in the agent's own time zone. */
function snoozeTimes(now = new Date()) {
  const hour = new Date(now.getTime() + 3600 * 1000);
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  tomorrow.setHours(9, 0, 0, 0);
  const week = new Date(now);
  week.setDate(now.getDate() + ((8 - now.getDay()) % 7 || 7));
  week.setHours(9, 0, 0, 0);
  return { hour, tomorrow, week };
}

function openSnooze() {
  if (!state.selectedId || document.getElementById("snooze-dialog")) return;
  const dialog = h("dialog", { id: "snooze-dialog", class: "dialog" });
  const close = () => { dialog.close(); dialog.remove(); };
  const choice = (key, when) =>
    h(
      "button",
      { type: "button", id: `snooze-${key}`, class: "snooze-choice", onclick: () => { close(); runAction((id) => api.snooze(id, when.toISOString())); } },
      h("span", {}, t(`snooze_${key}`)),
      h("time", { datetime: when.toISOString(), class: "muted" }, when.toLocaleString(lang(), { weekday: "short", hour: "2-digit", minute: "2-digit" })),
    );
  const times = snoozeTimes();
  dialog.append(
    h("h2", {}, t("snooze_title")),
    h("div", { class: "snooze-choices" }, choice("hour", times.hour), choice("tomorrow", times.tomorrow), choice("week", times.week)),
    h("div", { class: "dialog-bar" }, h("button", { type: "button", onclick: close }, t("cancel"))),
  );
  dialog.addEventListener("cancel", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

/** The conversation view's actions get a snooze button while the conversation is open. */
function addSnoozeButton() {
  const bar = document.querySelector("#conversation .conv-header .actions");
  if (!bar || state.conversation?.status !== "open" || bar.querySelector("#act-snooze")) return;
  bar.append(h("button", { type: "button", id: "act-snooze", onclick: openSnooze, title: "z" }, t("snooze")));
}

// ---- keyboard ------------------------------------------------------------------------------------

const SHORTCUTS = [
  ["j", "key_j"], ["k", "key_k"], ["r", "key_r"], ["n", "key_n"], ["a", "key_a"],
  ["e", "key_e"], ["o", "key_o"], ["t", "key_t"], ["u", "key_u"], ["f", "key_f"], ["c", "key_c"], ["/", "key_slash"], ["z", "key_z"], ["v", "key_v"], ["?", "key_help"],
  ["Ctrl+Enter", "key_send"], ["Esc", "key_escape"],
];

function toggleHelp() {
  const open = document.getElementById("help");
  if (open) { open.remove(); return; }
  const overlay = h(
    "div",
    { id: "help", class: "overlay", role: "dialog", "aria-label": t("help"), onclick: (e) => { if (e.target === overlay) overlay.remove(); } },
    h(
      "div",
      { class: "overlay-card" },
      h("h2", {}, t("help")),
      h("dl", { class: "shortcuts" }, SHORTCUTS.map(([key, label]) => [h("dt", {}, h("kbd", {}, key)), h("dd", {}, t(label))])),
      h("button", { type: "button", onclick: () => overlay.remove() }, t("close")),
    ),
  );
  document.body.append(overlay);
}

async function move(step) {
  let items = sortByActivity(state.conversations || []);
  if (!items.length) return;
  let at = items.findIndex((c) => c.id === state.selectedId);
  if (step > 0 && at === items.length - 1 && state.inboxNext) {
    // Past the last loaded row: the next page.
    await inboxActions.loadMore();
    items = sortByActivity(state.conversations || []);
    at = items.findIndex((c) => c.id === state.selectedId);
  }
  const next = items[Math.max(0, Math.min(items.length - 1, at === -1 ? 0 : at + step))];
  select(next.id);
  document.querySelector(`.inbox-item[data-id="${next.id}"]`)?.scrollIntoView({ block: "nearest" });
}

function onKey(event) {
  if (state.view !== "console" || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape") { document.getElementById("help")?.remove(); return; }
  const tag = event.target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || document.querySelector("dialog[open]")) return;
  const keys = {
    j: () => move(1), k: () => move(-1), r: () => focusComposer("reply"), n: () => focusComposer("note"),
    a: convActions.assignMe, e: convActions.resolve, o: convActions.reopen, t: openTransfer, "?": toggleHelp,
    c: () => state.selectedId && composing.cannedOpen(),
    z: openSnooze, v: toggleAvailability,
    u: () => inboxActions.setFilter({ unread: !state.filter.unread }),
    f: () => document.querySelector(".status-tab.active")?.focus(),
  };
  const action = keys[event.key];
  if (action) { event.preventDefault(); action(); }
}

document.addEventListener("keydown", onKey);

// ---- start ---------------------------------------------------------------------------------------

async function boot() {
  applyLang();
  try {
    await startConsole();
  } catch {
    state.view = "signin";
    render();
  }
}

boot();
