// The open conversation: header with actions, the timeline, and the composer (channel picker, files,
// canned responses).

import { formatTime, h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { renderCannedPicker } from "./composer.js";
import { callActions, entryExtras, replyTargets } from "./channel_views.js";

function assigneeText(conv, me) {
  if (!conv.assignee_id) return t("unassigned");
  return conv.assignee_id === me?.agent_id ? t("assigned_you") : t("assigned_other");
}

function header(conv, state, actions) {
  const closed = conv.status === "resolved" || conv.status === "closed";
  return h(
    "header",
    { class: "conv-header" },
    h("button", { class: "back", type: "button", onclick: actions.back, "aria-label": t("back") }, "‹ ", t("back")),
    h(
      "div",
      { class: "conv-title" },
      h("h2", { dir: "auto" }, conv.contact_name || t("unknown_contact")),
      h(
        "div",
        { class: "conv-meta" },
        h("span", { class: `badge channel channel-${conv.channel}` }, conv.channel),
        h("span", { class: `badge status status-${conv.status}`, id: "conv-status" }, t(`status_${conv.status}`)),
        h("span", { class: "assignee", id: "conv-assignee" }, assigneeText(conv, state.me)),
      ),
    ),
    h(
      "div",
      { class: "actions" },
      callActions(conv, actions, state),
      h("button", { type: "button", id: "act-assign", onclick: actions.assignMe, title: "a" }, t("assign_me")),
      h("button", { type: "button", id: "act-transfer", onclick: actions.transfer, title: "t" }, t("transfer")),
      closed
        ? h("button", { type: "button", id: "act-reopen", onclick: actions.reopen, title: "o" }, t("reopen"))
        : h("button", { type: "button", id: "act-resolve", class: "primary", onclick: actions.resolve, title: "e" }, t("resolve")),
    ),
  );
}

function kindLabel(item) {
  if (item.private || item.kind === "note") return t("kind_note");
  if (item.kind !== "message") return t(`kind_${item.kind}`);
  return t(`dir_${item.direction}`);
}

const SAFE_LINK = /^(\/api\/v1\/media\/|https?:\/\/)/;

/** One attachment in the timeline: stored images inline, other stored files as links. */
function attachmentView(attachment, item) {
  const name = attachment.filename || attachment.content_type || t("attachment");
  // Our own replies' files may be links the provider fetches; a customer's file is shown once stored.
  const link = attachment.stored_url || (item.direction === "out" ? attachment.url : null);
  if (link && SAFE_LINK.test(link)) {
    if ((attachment.content_type || "").startsWith("image/")) {
      return h("a", { class: "attachment image", href: link, target: "_blank", rel: "noopener" }, h("img", { src: link, alt: name, loading: "lazy" }));
    }
    return h("a", { class: "attachment file", href: link, target: "_blank", rel: "noopener", dir: "auto" }, name);
  }
  const why = attachment.store_error ? t("attachment_not_stored", { detail: attachment.store_error }) : t("attachment_pending");
  return h("span", { class: "attachment missing", dir: "auto", title: why }, name, " — ", why);
}

function attachmentsView(item) {
  const items = item.attachments || [];
  return items.length ? h("div", { class: "attachments" }, items.map((a) => attachmentView(a, item))) : null;
}

function entry(item) {
  const isPrivate = item.private || item.kind === "note";
  const status = item.pendingStatus || item.delivery_status;
  const classes = ["entry", `dir-${item.direction}`, `kind-${item.kind}`];
  if (isPrivate) classes.push("private");
  if (item.pendingStatus) classes.push("pending");
  if (status === "failed" || item.pendingStatus === "failed") classes.push("failed");
  const delivery =
    item.direction === "out" && !isPrivate && status
      ? h("span", { class: `delivery delivery-${status}` }, t(`delivery_${status}`))
      : null;
  return h(
    "li",
    { class: classes.join(" "), "data-id": item.id || "", "data-kind": item.kind },
    h(
      "div",
      { class: "entry-meta" },
      h("span", { class: "who" }, kindLabel(item)),
      h("span", { class: `badge channel channel-${item.channel}` }, item.channel),
      isPrivate ? h("span", { class: "badge private-badge" }, t("private_badge")) : null,
      h("time", { datetime: item.occurred_at }, formatTime(item.occurred_at)),
      delivery,
    ),
    entryExtras(item),
    item.text || !(item.attachments || []).length ? h("p", { class: "text", dir: "auto" }, item.text ?? "") : null,
    attachmentsView(item),
    item.delivery_error || item.pendingError
      ? h("p", { class: "error", dir: "auto" }, t("send_failed", { detail: item.pendingError || item.delivery_error }))
      : null,
  );
}

// ---- composer --------------------------------------------------------------------------------------

function identityPicker(state, actions) {
  const conv = state.conversation;
  const { others, callOnly, fallback } = replyTargets(conv, state.contact?.identities);
  if (state.mode === "note") return null;
  if (callOnly && !others.length) return h("p", { class: "muted reply-on", id: "composer-call-only" }, t("call_only"));
  if (!others.length) return null;
  const chosen = state.identityId || fallback;
  return h(
    "label",
    { class: "reply-on" },
    t("reply_on"),
    h(
      "select",
      { id: "composer-identity", onchange: (event) => actions.identity(event.target.value) },
      // A call has no written reply of its own: only the customer's other addresses are offered.
      callOnly ? null : h("option", { value: "", selected: !chosen }, t("this_conversation", { channel: conv.channel })),
      others.map((i) => h("option", { value: i.id, selected: chosen === i.id, dir: "auto" }, `${i.channel} · ${i.external_id}`)),
    ),
  );
}

function attachmentChips(state, actions) {
  if (!state.attachments.length) return null;
  return h(
    "ul",
    { class: "attachment-chips", id: "composer-attachments" },
    state.attachments.map((a) =>
      h(
        "li",
        { class: `chip ${a.status}`, "data-status": a.status },
        h("span", { dir: "auto" }, a.name),
        a.status === "uploading" ? h("span", { class: "muted" }, ` ${t("uploading")}`) : null,
        a.status === "failed" ? h("span", { class: "error", dir: "auto" }, ` ${t("upload_failed", { detail: a.error })}`) : null,
        h("button", { type: "button", class: "chip-remove", "aria-label": t("attachment_remove", { name: a.name }), onclick: () => actions.detach(a.key) }, "×"),
      ),
    ),
  );
}

function composerKeys(event, state, actions) {
  if (state.canned.open) {
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) { event.preventDefault(); actions.cannedMove(moves[event.key]); return; }
    if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); actions.cannedChoose(null); return; }
    if (event.key === "Escape") { event.preventDefault(); actions.cannedClose(); return; }
  }
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    actions.send();
  } else if (event.key === "Escape") {
    event.target.blur();
  }
}

function composer(state, actions) {
  const isNote = state.mode === "note";
  const text = h("textarea", {
    id: "composer-text",
    dir: "auto",
    rows: 3,
    placeholder: t(isNote ? "placeholder_note" : "placeholder_reply"),
    value: state.draft,
    "aria-controls": "canned-picker",
    oninput: (event) => actions.draft(event.target.value, event.target.selectionStart),
    onkeydown: (event) => composerKeys(event, state, actions),
    onblur: () => actions.cannedClose(),
  });
  const toggle = (mode, label) =>
    h(
      "button",
      {
        type: "button",
        class: `mode${state.mode === mode ? " active" : ""}`,
        id: `mode-${mode}`,
        "aria-pressed": String(state.mode === mode),
        onclick: () => actions.mode(mode),
      },
      label,
    );
  const files = h("input", {
    type: "file",
    id: "composer-file",
    multiple: true,
    class: "visually-hidden",
    onchange: (event) => { actions.attach([...event.target.files]); event.target.value = ""; },
  });
  const uploading = state.attachments.some((a) => a.status === "uploading");
  return h(
    "form",
    {
      class: `composer${isNote ? " note-mode" : ""}`,
      onsubmit: (event) => {
        event.preventDefault();
        actions.send();
      },
    },
    h(
      "div",
      { class: "composer-top" },
      h("div", { class: "modes", role: "group" }, toggle("reply", t("mode_reply")), toggle("note", t("mode_note"))),
      identityPicker(state, actions),
    ),
    h("div", { id: "canned-picker", class: "canned-picker", hidden: true }),
    text,
    isNote ? null : attachmentChips(state, actions),
    h("div", { class: "composer-bar" },
      isNote ? null : h("label", { class: "button attach", for: "composer-file" }, t("attach"), files),
      isNote ? null : h("button", { type: "button", id: "canned-open", title: "/", onmousedown: (event) => event.preventDefault(), onclick: () => actions.cannedOpen() }, t("canned")),
      h("div", { class: "spacer" }),
      state.actionError ? h("span", { class: "error", dir: "auto" }, state.actionError) : null,
      h("button", { type: "submit", class: "primary", id: "composer-send", disabled: uploading }, t(isNote ? "add_note" : "send")),
    ),
  );
}

export function renderConversation(el, state, actions) {
  const conv = state.conversation;
  if (!conv) {
    replace(el, h("p", { class: "muted empty" }, state.selectedId ? t("loading") : t("pick_conversation")));
    return;
  }
  const timeline = h("ol", { class: "timeline", id: "timeline" }, [...state.interactions, ...state.pending].map(entry));
  const before = document.activeElement;
  const caret = before?.id === "composer-text" ? [before.selectionStart, before.selectionEnd] : null;
  replace(el, header(conv, state, actions), timeline, composer(state, actions));
  timeline.scrollTop = timeline.scrollHeight;
  if (caret) {
    // A live update redraws the pane: the agent keeps typing where they were.
    const text = document.getElementById("composer-text");
    text?.focus();
    text?.setSelectionRange(...caret);
  }
  renderCannedPicker(state, actions);
}
