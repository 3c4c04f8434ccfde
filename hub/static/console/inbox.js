// The inbox list: every channel, newest activity first.

import { formatTime, h, replace } from "./dom.js";
import { t } from "./i18n.js";

export const STATUSES = ["", "open", "pending", "resolved", "closed"];

export function sortByActivity(items) {
  return [...items].sort((a, b) => (b.last_message_at || "").localeCompare(a.last_message_at || ""));
}

function sentimentLabel(score) {
  if (score === null || score === undefined) return null;
  if (score <= -0.3) return "negative";
  if (score >= 0.3) return "positive";
  return "neutral";
}

function markers(conv) {
  const out = [];
  if (conv.flagged_at) {
    out.push(h("span", { class: "marker flag", title: conv.flag_reason || t("flagged") }, t("flagged")));
  }
  const mood = sentimentLabel(conv.sentiment_last ?? conv.sentiment);
  if (mood && mood !== "neutral") {
    out.push(h("span", { class: `marker mood mood-${mood}`, title: t(`sentiment_${mood}`) }, t(`sentiment_${mood}`)));
  }
  return out;
}

function row(conv, state, onSelect) {
  const selected = conv.id === state.selectedId;
  return h(
    "li",
    {
      class: `inbox-item status-${conv.status}${selected ? " selected" : ""}${conv.flagged_at ? " flagged" : ""}`,
      "data-id": conv.id,
      "aria-selected": String(selected),
      role: "option",
      tabIndex: -1,
      onclick: () => onSelect(conv.id),
    },
    h(
      "div",
      { class: "item-top" },
      h("span", { class: "contact", dir: "auto" }, conv.contact_name || t("unknown_contact")),
      h("time", { class: "when", datetime: conv.last_message_at }, formatTime(conv.last_message_at)),
    ),
    h(
      "div",
      { class: "item-bottom" },
      h("span", { class: `badge channel channel-${conv.channel}` }, conv.channel),
      h("span", { class: `badge status status-${conv.status}` }, t(`status_${conv.status}`)),
      conv.subject ? h("span", { class: "subject", dir: "auto" }, conv.subject) : null,
      markers(conv),
    ),
  );
}

export function renderInbox(el, state, onSelect) {
  if (state.conversations === null) {
    replace(el, h("p", { class: "muted" }, t("loading")));
    return;
  }
  const items = sortByActivity(state.conversations);
  if (items.length === 0) {
    replace(el, h("p", { class: "muted empty" }, t("no_conversations")));
    return;
  }
  replace(el, h("ul", { class: "inbox-list", role: "listbox", "aria-label": t("inbox") }, items.map((c) => row(c, state, onSelect))));
}

export function statusFilter(state, onChange) {
  return h(
    "label",
    { class: "filter" },
    h("span", {}, t("filter_status")),
    h(
      "select",
      { id: "status-filter", onchange: (event) => onChange(event.target.value) },
      STATUSES.map((status) =>
        h("option", { value: status, selected: status === state.filter.status }, status ? t(`status_${status}`) : t("all")),
      ),
    ),
  );
}
