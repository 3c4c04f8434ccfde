// The open conversation: header with actions, the timeline, and the composer.

import { formatTime, h, replace } from "./dom.js";
import { t } from "./i18n.js";

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
    h("p", { class: "text", dir: "auto" }, item.text ?? ""),
    item.delivery_error || item.pendingError
      ? h("p", { class: "error", dir: "auto" }, t("send_failed", { detail: item.pendingError || item.delivery_error }))
      : null,
  );
}

function composer(state, actions) {
  const isNote = state.mode === "note";
  const text = h("textarea", {
    id: "composer-text",
    dir: "auto",
    rows: 3,
    placeholder: t(isNote ? "placeholder_note" : "placeholder_reply"),
    value: state.draft,
    oninput: (event) => actions.draft(event.target.value),
    onkeydown: (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        actions.send();
      } else if (event.key === "Escape") {
        event.target.blur();
      }
    },
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
  return h(
    "form",
    {
      class: `composer${isNote ? " note-mode" : ""}`,
      onsubmit: (event) => {
        event.preventDefault();
        actions.send();
      },
    },
    h("div", { class: "modes", role: "group" }, toggle("reply", t("mode_reply")), toggle("note", t("mode_note"))),
    text,
    h("div", { class: "composer-bar" },
      state.actionError ? h("span", { class: "error", dir: "auto" }, state.actionError) : null,
      h("button", { type: "submit", class: "primary", id: "composer-send" }, t(isNote ? "add_note" : "send")),
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
  const hadFocus = document.activeElement?.id === "composer-text";
  replace(el, header(conv, state, actions), timeline, composer(state, actions));
  timeline.scrollTop = timeline.scrollHeight;
  if (hadFocus) document.getElementById("composer-text")?.focus();
}
