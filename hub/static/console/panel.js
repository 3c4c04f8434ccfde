// The side panel: the customer 360 (with editing and merging the contact) and, when the hub has models,
// suggestions.

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

// Click to call, beside every number the contact has (a WhatsApp identity is a number too).
const NUMBER = /^(?:whatsapp:)?(\+\d{6,15})$/;

function callButton(address, actions) {
  const match = NUMBER.exec(address || "");
  if (!match || !actions.call) return null;
  const number = match[1];
  return h(
    "button",
    { type: "button", class: "call-button", "data-number": number, title: `${t("call_contact")} ${number}`, onclick: () => actions.call(number) },
    t("call_contact"),
  );
}

function contactDetails(contact) {
  const parts = [contact?.email, contact?.phone].filter(Boolean);
  return parts.length ? h("p", { class: "muted contact-details", dir: "auto" }, parts.join(" · ")) : null;
}

export function renderContact(el, data, actions) {
  if (!data) {
    replace(el);
    return;
  }
  replace(
    el,
    h(
      "div",
      { class: "panel-head" },
      h("h2", { class: "panel-title", dir: "auto" }, data.contact?.display_name || t("unknown_contact")),
      h("button", { type: "button", id: "contact-edit", onclick: actions.edit }, t("edit_contact")),
      h("button", { type: "button", id: "contact-merge", onclick: actions.merge }, t("merge_contact")),
    ),
    contactDetails(data.contact),
    data.organisation_name ? h("p", { class: "muted", dir: "auto" }, data.organisation_name) : null,
    section(t("identities"), "identities", data.identities || [], (i) => [
      h("span", { class: `badge channel channel-${i.channel}` }, i.channel),
      " ",
      h("span", { dir: "auto" }, i.external_id),
      callButton(i.external_id, actions),
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

// ---- dialogs: edit the contact, merge another into it ------------------------------------------------

function dialog(id, title, ...body) {
  document.getElementById(id)?.remove();
  const box = h("dialog", { id, class: "dialog" }, h("h2", {}, title), ...body);
  box.addEventListener("close", () => box.remove());
  document.body.append(box);
  box.showModal();
  return box;
}

const EDITABLE = [
  ["display_name", "contact_name", "text", "name"],
  ["email", "email", "email", "email"],
  ["phone", "phone", "tel", "tel"],
  ["language", "contact_language", "text", "off"],
];

/** The contact's name, email, phone and language in a form; saved through ``actions.save(changes)``. */
export function openContactEdit(contact, actions) {
  const error = h("p", { class: "error", role: "alert", dir: "auto", hidden: true });
  const fields = EDITABLE.map(([name, label, type, autocomplete]) =>
    h("label", {}, t(label), h("input", { name, type, id: `edit-${name}`, value: contact[name] || "", dir: "auto", autocomplete })),
  );
  const form = h(
    "form",
    {
      noValidate: true, // the hub's answer names what is wrong with a field
      onsubmit: async (event) => {
        event.preventDefault();
        const changes = {};
        for (const [name] of EDITABLE) {
          const value = form.elements[name].value.trim();
          if (value !== (contact[name] || "")) changes[name] = value || null;
        }
        try {
          if (Object.keys(changes).length) await actions.save(changes);
          box.close();
        } catch (err) {
          error.hidden = false;
          error.textContent = t("save_failed", { detail: err.detail || String(err) });
        }
      },
    },
    fields,
    error,
    h(
      "div",
      { class: "dialog-bar" },
      h("button", { type: "button", onclick: () => box.close() }, t("cancel")),
      h("button", { type: "submit", class: "primary", id: "edit-save" }, t("save")),
    ),
  );
  const box = dialog("contact-dialog", t("edit_contact_title"), form);
  form.elements.display_name.focus();
}

function candidate(other, onPick) {
  const details = [other.email, other.phone].filter(Boolean).join(" · ");
  return h(
    "li",
    {},
    h(
      "button",
      { type: "button", class: "merge-candidate", "data-id": other.id, onclick: () => onPick(other) },
      h("strong", { dir: "auto" }, other.display_name || t("unknown_contact")),
      details ? h("span", { class: "muted", dir: "auto" }, ` ${details}`) : null,
    ),
  );
}

/** Search for the contact that is the same person, confirm, and merge it into this one. */
export function openMerge(contact, actions) {
  const results = h("ul", { class: "merge-results", id: "merge-results" });
  const confirmBox = h("div", { class: "merge-confirm", id: "merge-confirm-box", hidden: true });
  const error = h("p", { class: "error", role: "alert", dir: "auto", hidden: true });
  const survivor = contact.display_name || t("unknown_contact");

  const pick = (other) => {
    const name = other.display_name || t("unknown_contact");
    replace(
      confirmBox,
      h("p", { dir: "auto" }, t("merge_confirm_text", { other: name, contact: survivor })),
      h("button", {
        type: "button",
        class: "primary danger",
        id: "merge-confirm",
        onclick: async () => {
          try {
            await actions.mergeInto(other.id);
            box.close();
          } catch (err) {
            error.hidden = false;
            error.textContent = t("merge_failed", { detail: err.detail || String(err) });
          }
        },
      }, t("merge_confirm")),
    );
    confirmBox.hidden = false;
  };

  let searchTimer = null;
  const search = async (q) => {
    confirmBox.hidden = true;
    if (!q.trim()) { replace(results); return; }
    try {
      const found = (await actions.search(q.trim())).filter((c) => c.id !== contact.id);
      replace(results, found.length ? found.map((c) => candidate(c, pick)) : h("li", { class: "muted" }, t("merge_none_found")));
    } catch (err) {
      replace(results, h("li", { class: "error", dir: "auto" }, err.detail || String(err)));
    }
  };
  const input = h("input", {
    type: "search",
    id: "merge-search",
    dir: "auto",
    placeholder: t("merge_search"),
    "aria-label": t("merge_search"),
    oninput: (event) => { clearTimeout(searchTimer); searchTimer = setTimeout(() => search(event.target.value), 200); },
  });
  const box = dialog(
    "merge-dialog",
    t("merge_title", { contact: survivor }),
    h("p", { class: "muted" }, t("merge_help")),
    input,
    results,
    confirmBox,
    error,
    h("div", { class: "dialog-bar" }, h("button", { type: "button", onclick: () => box.close() }, t("cancel"))),
  );
  input.focus();
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
