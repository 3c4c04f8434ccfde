// The side panel: the customer 360 and, when the hub has models, suggestions.

import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

const DAY_MS = 86_400_000;
export const RENEWAL_WINDOW_DAYS = 30;

/** Days from today until an ISO date (negative once past). */
export function daysUntil(isoDate, today = new Date()) {
  const [y, m, d] = isoDate.split("-").map(Number);
  const end = Date.UTC(y, m - 1, d);
  const start = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  return Math.round((end - start) / DAY_MS);
}

function section(title, id, items, render) {
  return h(
    "section",
    { class: "panel-section", id },
    h("h3", {}, title),
    items.length ? h("ul", {}, items.map((item) => h("li", {}, render(item)))) : h("p", { class: "muted" }, t("none")),
  );
}

function agreement(a) {
  const days = a.ends_on ? daysUntil(a.ends_on) : null;
  let renewal = null;
  if (days !== null && days < 0) renewal = h("span", { class: "marker expired" }, t("expired"));
  else if (days !== null && days <= RENEWAL_WINDOW_DAYS) {
    renewal = h("span", { class: "marker renewal" }, t("renewal_due", { days }));
  }
  const field = (label, value, cls) => h("div", { class: `field ${cls}` }, h("dt", {}, label), h("dd", { dir: "auto" }, value));
  return h(
    "div",
    { class: "agreement" },
    h("strong", { class: "product", dir: "auto" }, a.product),
    renewal,
    h(
      "dl",
      {},
      field(t("sla_tier"), a.sla_tier, "sla-tier"),
      field(t("ends_on"), a.ends_on || t("no_end"), "ends-on"),
      "payment_plan" in a ? field(t("payment_plan"), a.payment_plan, "payment-plan") : null,
      "payment_status" in a ? field(t("payment_status"), a.payment_status, "payment-status") : null,
    ),
  );
}

function contactDetails(contact) {
  const parts = [contact?.email, contact?.phone].filter(Boolean);
  return parts.length ? h("p", { class: "muted contact-details", dir: "auto" }, parts.join(" · ")) : null;
}

export function renderContact(el, data) {
  if (!data) {
    replace(el);
    return;
  }
  replace(
    el,
    h("h2", { class: "panel-title", dir: "auto" }, data.contact?.display_name || t("unknown_contact")),
    contactDetails(data.contact),
    data.organisation_name ? h("p", { class: "muted", dir: "auto" }, data.organisation_name) : null,
    section(t("identities"), "identities", data.identities || [], (i) => [
      h("span", { class: `badge channel channel-${i.channel}` }, i.channel),
      " ",
      h("span", { dir: "auto" }, i.external_id),
    ]),
    section(t("agreements"), "agreements", data.agreements || [], agreement),
    section(t("open_cases"), "open-cases", data.open_cases || [], (c) => [
      h("span", { dir: "auto" }, c.title),
      " ",
      h("span", { class: "badge" }, c.status),
    ]),
    h(
      "section",
      { class: "panel-section", id: "tags" },
      h("h3", {}, t("tags")),
      (data.tags || []).length
        ? h("p", {}, data.tags.map((tag) => h("span", { class: "badge tag", dir: "auto" }, tag)))
        : h("p", { class: "muted" }, t("none")),
    ),
  );
}

export function renderSuggestions(el, suggestions, onUseReply) {
  if (suggestions === undefined) {
    replace(el);
    return;
  }
  if (suggestions === null) {
    replace(el, h("h3", {}, t("suggestions")), h("p", { class: "muted", id: "suggestions-unavailable" }, t("suggestions_unavailable")));
    return;
  }
  const reply = suggestions.reply;
  replace(
    el,
    h("h3", {}, t("suggestions")),
    reply?.text
      ? h(
          "div",
          { class: "suggested-reply" },
          h("h4", {}, t("suggested_reply")),
          h("p", { dir: "auto" }, reply.text),
          h("button", { type: "button", onclick: () => onUseReply(reply.text) }, t("use_reply")),
        )
      : null,
    (suggestions.articles || []).length
      ? h(
          "div",
          { class: "articles" },
          h("h4", {}, t("articles")),
          h(
            "ul",
            {},
            suggestions.articles.map((a) =>
              h("li", {}, h("strong", { dir: "auto" }, a.title || a.slug || ""), h("p", { dir: "auto" }, a.passage || "")),
            ),
          ),
        )
      : null,
  );
}
