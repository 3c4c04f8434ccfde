// The agent console: state, wiring, sign-in, shortcuts. Rendering lives in the other modules.

import * as api from "./api.js";
import { h, replace } from "./dom.js";
import { LANGUAGES, applyLang, lang, setLang, t } from "./i18n.js";
import { renderConversation } from "./conversation.js";
import { renderInbox, sortByActivity, statusFilter } from "./inbox.js";
import { renderContact, renderSuggestions } from "./panel.js";
import { LiveFeed } from "./live.js";

const root = document.getElementById("app");

const state = {
  me: null,
  conversations: null,
  filter: { status: "open" },
  selectedId: null,
  conversation: null,
  interactions: [],
  pending: [],
  contact: null,
  suggestions: undefined,
  mode: "reply",
  draft: "",
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
  const panes = h(
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
      statusFilter(state, (status) => { state.filter.status = status; refreshInbox(); }),
      languageSwitch(),
      h("button", { type: "button", id: "help-button", onclick: toggleHelp }, "? ", t("help_button")),
      h("span", { class: "me", dir: "auto" }, state.me?.name || ""),
      h("button", { type: "button", id: "sign-out", onclick: doSignOut }, t("sign_out")),
    ),
    panes,
  );
  renderAll();
}

function renderAll() {
  const inbox = document.getElementById("inbox");
  if (!inbox) return;
  document.querySelector(".panes")?.classList.toggle("has-selection", Boolean(state.selectedId));
  renderInbox(inbox, state, select);
  renderConversation(document.getElementById("conversation"), state, convActions);
  renderContact(document.getElementById("contact360"), state.contact);
  renderSuggestions(document.getElementById("suggestions"), state.suggestions, useReply);
}

function render() {
  applyLang();
  if (state.view === "signin") renderSignIn();
  else renderShell();
}

// ---- session -------------------------------------------------------------------------------------

async function submitSignIn(event) {
  event.preventDefault();
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
  // GET /session names the session token ("session:<email>"), not the agent; prefer the sign-in answer.
  state.me = { ...me, name: agent?.name || me.name.replace(/^session:/, "") };
  state.view = "console";
  render();
  feed.start();
  await refreshInbox();
}

async function doSignOut() {
  feed.stop();
  await api.signOut().catch(() => {});
  Object.assign(state, { me: null, conversations: null, selectedId: null, conversation: null, contact: null, view: "signin" });
  render();
}

// ---- data ----------------------------------------------------------------------------------------

async function refreshInbox() {
  try {
    const page = await api.listConversations({ status: state.filter.status });
    state.conversations = page.items;
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
}

async function loadSide(conv) {
  try {
    state.contact = await api.getContact360(conv.contact_id);
  } catch {
    state.contact = null;
  }
  renderAll();
  try {
    state.suggestions = await api.getSuggestions(conv.id);
  } catch {
    state.suggestions = null; // 503 knowledge_unavailable (a hub without models) or any other failure
  }
  renderAll();
}

async function select(id) {
  if (state.selectedId !== id) {
    Object.assign(state, { selectedId: id, conversation: null, interactions: [], pending: [], contact: null, suggestions: undefined, draft: "", actionError: "" });
  }
  renderAll();
  await refreshConversation();
  if (state.conversation) await loadSide(state.conversation);
}

let inboxTimer = null;
function onEvents(events) {
  clearTimeout(inboxTimer);
  inboxTimer = setTimeout(refreshInbox, 100);
  const touched = events.length === 0 || events.some((e) => e.payload?.conversation_id === state.selectedId);
  if (state.selectedId && touched) refreshConversation().catch(() => {});
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

async function send() {
  const text = state.draft.trim();
  if (!text || !state.selectedId) return;
  const isPrivate = state.mode === "note";
  const pending = {
    tempId: `pending-${++pendingCounter}`,
    id: null,
    conversation_id: state.selectedId,
    direction: isPrivate ? "internal" : "out",
    kind: isPrivate ? "note" : "message",
    private: isPrivate,
    text,
    channel: state.conversation?.channel || "",
    occurred_at: new Date().toISOString(),
    pendingStatus: "sending",
  };
  state.pending.push(pending);
  state.draft = "";
  renderAll();
  try {
    const result = await api.postMessage(state.selectedId, text, isPrivate);
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

function openTransfer() {
  if (!state.selectedId) return;
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
          const target = { note: form.note.value };
          target[form.kind.value === "team" ? "team_id" : "agent_id"] = form.target.value.trim();
          dialog.close();
          dialog.remove();
          runAction((id) => api.transfer(id, target));
        },
      },
      h("h2", {}, t("transfer_title")),
      h(
        "label",
        {},
        t("transfer_to"),
        h("select", { name: "kind", id: "transfer-kind" }, h("option", { value: "agent" }, t("agent")), h("option", { value: "team" }, t("team"))),
      ),
      h("label", {}, t("target_id"), h("input", { name: "target", id: "transfer-target", required: true, dir: "auto" })),
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

const convActions = {
  back: () => { state.selectedId = null; state.conversation = null; state.contact = null; state.suggestions = undefined; renderAll(); },
  assignMe: () => runAction((id) => api.assign(id, "me")),
  resolve: () => runAction((id) => api.resolve(id)),
  reopen: () => runAction((id) => api.reopen(id)),
  transfer: openTransfer,
  mode: (mode) => focusComposer(mode),
  draft: (text) => { state.draft = text; },
  send,
};

// ---- keyboard ------------------------------------------------------------------------------------

const SHORTCUTS = [
  ["j", "key_j"], ["k", "key_k"], ["r", "key_r"], ["n", "key_n"], ["a", "key_a"],
  ["e", "key_e"], ["o", "key_o"], ["t", "key_t"], ["?", "key_help"], ["Ctrl+Enter", "key_send"], ["Esc", "key_escape"],
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

function move(step) {
  const items = sortByActivity(state.conversations || []);
  if (!items.length) return;
  const at = items.findIndex((c) => c.id === state.selectedId);
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
