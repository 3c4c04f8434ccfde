// The inbox: every channel, newest activity first; filters, unread state, counts and paging.
//
// The server filters (GET /conversations): a live refresh asks it again with the same filters, so a
// conversation that does not match never shows, and the pages already loaded stay loaded.

import { formatTime, h, replace } from "./dom.js";
import { lang, t } from "./i18n.js";

export const STATUSES = ["", "open", "pending", "resolved", "closed"];
export const CHANNELS = ["api", "email", "telegram", "twilio_sms", "twilio_voice", "webchat", "whatsapp_cloud"];
export const PAGE_SIZE = 50;
const MOST = 500; // the API's largest page: a live refresh reloads at most this many rows

export const DEFAULT_FILTER = { status: "open", channel: "", assignee: "", team: "", tag: "", unread: false };

export function sortByActivity(items) {
  return [...items].sort((a, b) => (b.last_message_at || "").localeCompare(a.last_message_at || ""));
}

// ---- data ----------------------------------------------------------------------------------------

function filterQuery(filter) {
  const query = {};
  for (const name of ["status", "channel", "assignee", "team", "tag"]) {
    if (filter[name]) query[name] = filter[name];
  }
  if (filter.unread) query.unread = "true";
  return query;
}

// Answers can overtake each other: only counts asked later than those shown replace them.
let countsAsked = 0;
let countsShown = 0;

async function refreshCounts(state, api) {
  const asked = ++countsAsked;
  try {
    const counts = await api.conversationCounts();
    if (asked > countsShown) {
      countsShown = asked;
      state.counts = counts;
    }
  } catch {
    // the header keeps the counts it has
  }
}

/** A list answer asked before a read was recorded still says unread: what this agent read stays read. */
function withReads(state, items) {
  const reads = state.reads || {};
  for (const conv of items) {
    if (conv.unread && reads[conv.id] === conv.last_message_at) conv.unread = false;
  }
  return items;
}

/** Reload the inbox with the current filters: as many rows as are loaded (a page at least), and the counts. */
export async function loadInbox(state, api) {
  const wanted = Math.min(MOST, Math.max(PAGE_SIZE, state.conversations?.length || 0));
  const asked = JSON.stringify(state.filter);
  const [page] = await Promise.all([api.listConversations(filterQuery(state.filter), wanted), refreshCounts(state, api)]);
  if (JSON.stringify(state.filter) !== asked) return; // the filters changed meanwhile: that load wins
  state.conversations = withReads(state, page.items);
  state.inboxNext = page.next;
}

/** The next page after the loaded rows (the server's `next` cursor keeps the filters). */
export async function loadMore(state, api) {
  if (!state.inboxNext || state.loadingMore) return;
  state.loadingMore = true;
  try {
    const asked = state.inboxNext;
    const page = await api.nextConversations(asked);
    if (state.inboxNext !== asked) return;
    const known = new Set(state.conversations.map((c) => c.id));
    state.conversations = state.conversations.concat(withReads(state, page.items.filter((c) => !known.has(c.id))));
    state.inboxNext = page.next;
  } finally {
    state.loadingMore = false;
  }
}

/** Teams and tags for the filter pickers (once a session); a failure leaves them empty. */
export async function loadFilterOptions(state, api) {
  const [teams, tags] = await Promise.all([
    api.listTeams().then((page) => page.items, () => []),
    api.listTags().then((page) => page.items, () => []),
  ]);
  Object.assign(state, { teams, tags });
}

/** The agent opened a conversation: read until the customer writes again. */
export async function markRead(state, api, id) {
  let mark;
  try {
    mark = await api.markRead(id);
  } catch {
    return; // a token without an agent reads nothing; the list says so on its next load
  }
  state.reads = { ...state.reads, [id]: mark.read_through };
  withReads(state, state.conversations || []);
  await refreshCounts(state, api);
}

// ---- the list ------------------------------------------------------------------------------------

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
  const classes = ["inbox-item", `status-${conv.status}`];
  if (selected) classes.push("selected");
  if (conv.flagged_at) classes.push("flagged");
  if (conv.unread) classes.push("unread");
  return h(
    "li",
    {
      class: classes.join(" "),
      "data-id": conv.id,
      "aria-selected": String(selected),
      role: "option",
      tabIndex: -1,
      onclick: () => onSelect(conv.id),
    },
    h(
      "div",
      { class: "item-top" },
      conv.unread ? h("span", { class: "unread-dot", title: t("unread"), "aria-label": t("unread") }) : null,
      h("span", { class: "contact", dir: "auto" }, conv.contact_name || t("unknown_contact")),
      h("time", { class: "when", datetime: conv.last_message_at }, formatTime(conv.last_message_at)),
    ),
    h(
      "div",
      { class: "item-bottom" },
      h("span", { class: `badge channel channel-${conv.channel}` }, conv.channel),
      h("span", { class: `badge status status-${conv.status}` }, t(`status_${conv.status}`)),
      (conv.tags || []).map((tag) => h("span", { class: "badge tag", dir: "auto" }, tag)),
      conv.subject ? h("span", { class: "subject", dir: "auto" }, conv.subject) : null,
      markers(conv),
    ),
  );
}

function listOf(state, onSelect, actions) {
  if (state.conversations === null) return h("p", { class: "muted" }, t("loading"));
  const items = sortByActivity(state.conversations);
  if (items.length === 0) return h("p", { class: "muted empty" }, t("no_conversations"));
  return [
    h("ul", { class: "inbox-list", role: "listbox", "aria-label": t("inbox") }, items.map((c) => row(c, state, onSelect))),
    state.inboxNext
      ? h(
          "button",
          { type: "button", id: "load-more", class: "load-more", disabled: Boolean(state.loadingMore), onclick: actions.loadMore },
          state.loadingMore ? t("loading") : t("load_more"),
        )
      : null,
  ];
}

// ---- the filter bar ------------------------------------------------------------------------------

function picker(id, label, value, options, onChange) {
  return h(
    "label",
    { class: "filter" },
    h("span", {}, label),
    h(
      "select",
      { id, onchange: (event) => onChange(event.target.value) },
      options.map(([key, text]) => h("option", { value: key, selected: key === value, dir: "auto" }, text)),
    ),
  );
}

/** Left and right arrows move between the status tabs (mirrored in right-to-left pages), as in any tablist. */
function arrowBetweenTabs(event) {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  const tabs = [...event.currentTarget.querySelectorAll("[role=tab]")];
  const forward = (event.key === "ArrowRight") === (document.documentElement.dir !== "rtl");
  const at = tabs.indexOf(document.activeElement);
  const next = tabs[(at + (forward ? 1 : -1) + tabs.length) % tabs.length];
  event.preventDefault();
  next.focus();
  next.click();
}

function statusTabs(state, counts, setFilter) {
  const figure = (status) => (counts && status in counts ? counts[status] : null);
  return h(
    "div",
    { class: "status-tabs", role: "tablist", "aria-label": t("filter_status"), onkeydown: arrowBetweenTabs },
    STATUSES.map((status) => {
      const active = state.filter.status === status;
      const count = figure(status);
      return h(
        "button",
        {
          type: "button",
          role: "tab",
          id: `status-tab-${status || "all"}`,
          class: `status-tab${active ? " active" : ""}`,
          "aria-selected": String(active),
          onclick: () => setFilter({ status }),
        },
        status ? t(`status_${status}`) : t("all"),
        count === null ? null : h("span", { class: "tab-count" }, String(count)),
      );
    }),
  );
}

function filterBar(state, setFilter) {
  const f = state.filter;
  const teams = state.teams || [];
  const tags = state.tags || [];
  return [
    statusTabs(state, state.counts, setFilter),
    h(
      "div",
      { class: "filter-grid" },
      picker("filter-channel", t("filter_channel"), f.channel, [["", t("any")], ...CHANNELS.map((c) => [c, c])], (channel) => setFilter({ channel })),
      picker(
        "filter-assignee",
        t("filter_assignee"),
        f.assignee,
        [["", t("anyone")], ["me", t("assignee_me")], ["none", t("unassigned")]],
        (assignee) => setFilter({ assignee }),
      ),
      picker(
        "filter-team",
        t("filter_team"),
        f.team,
        [["", t("any")], ["none", t("no_team")], ...teams.map((team) => [team.id, team.name])],
        (team) => setFilter({ team }),
      ),
      picker("filter-tag", t("filter_tag"), f.tag, [["", t("any")], ...tags.map((tag) => [tag.name, tag.name])], (tag) => setFilter({ tag })),
      h(
        "label",
        { class: "filter unread-only" },
        h("input", { type: "checkbox", id: "filter-unread", checked: f.unread, onchange: (event) => setFilter({ unread: event.target.checked }) }),
        h("span", {}, t("unread_only")),
      ),
    ),
  ];
}

function filterKey(state) {
  return JSON.stringify([state.filter, state.teams, state.tags, state.counts, lang()]);
}

/**
 * The inbox pane: the filter bar (rebuilt only when what it shows changed, so a focused control keeps
 * its focus through live updates) and the list with "load more".
 */
export function renderInbox(el, state, onSelect, actions) {
  let bar = el.querySelector(":scope > .inbox-filters");
  let body = el.querySelector(":scope > .inbox-body");
  if (!bar || !body) {
    bar = h("div", { class: "inbox-filters" });
    body = h("div", { class: "inbox-body" });
    el.replaceChildren(bar, body);
  }
  const key = filterKey(state);
  if (bar.dataset.key !== key && actions) {
    const focused = bar.contains(document.activeElement) ? document.activeElement.id : "";
    replace(bar, filterBar(state, actions.setFilter));
    bar.dataset.key = key;
    if (focused) document.getElementById(focused)?.focus();
  }
  replace(body, listOf(state, onSelect, actions || {}));
}

// ---- the header's counts -------------------------------------------------------------------------

const COUNT_FILTERS = {
  open: { status: "open" },
  unread: { status: "open", unread: true },
  mine: { status: "open", assignee: "me" },
  unassigned: { status: "open", assignee: "none" },
};

/** Open, unread, mine, unassigned in the top bar; each one a button that shows those conversations. */
export function renderCounts(el, state, setFilter) {
  if (!el) return;
  const counts = state.counts;
  if (!counts) {
    replace(el);
    return;
  }
  replace(
    el,
    Object.entries(COUNT_FILTERS).map(([name, filter]) =>
      h(
        "button",
        {
          type: "button",
          id: `count-${name}`,
          class: `count count-${name}${name === "unread" && counts.unread ? " has-unread" : ""}`,
          onclick: () => setFilter({ ...DEFAULT_FILTER, ...filter }),
        },
        h("span", { class: "count-label" }, t(`count_${name}`)),
        h("span", { class: "count-value" }, String(counts[name] ?? 0)),
      ),
    ),
  );
  document.title = counts.unread ? `(${counts.unread}) ${t("app_title")}` : t("app_title");
}
