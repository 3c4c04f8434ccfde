// The composer's own work: files uploaded while the agent writes, and the canned-response picker (type "/"
// in the composer, or press "c"), whose placeholders are filled from the 360 view and the session.

import * as api from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

/** What the placeholders of canned responses stand for in this conversation (from the 360 and the session). */
export function placeholderValues(view, me, today = new Date().toISOString().slice(0, 10)) {
  const contact = view?.contact || {};
  const agreements = view?.agreements || [];
  // The agreement in force (the newest first), else the newest one.
  const agreement = agreements.find((a) => !a.ends_on || a.ends_on >= today) || agreements[0] || {};
  return {
    "contact.name": contact.display_name,
    "contact.email": contact.email,
    "contact.phone": contact.phone,
    "agent.name": me?.name,
    "agreement.product": agreement.product,
    "agreement.end_date": agreement.ends_on,
    "sla.tier": agreement.sla_tier,
  };
}

/** ``{{name}}`` replaced by its value; unknown names, and known ones without a value, stay visible. */
export function fillPlaceholders(text, values) {
  return text.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, name) => {
    const value = values[name];
    return value === undefined || value === null || value === "" ? whole : String(value);
  });
}

/** The canned responses whose shortcut or title contains ``query``, shortcut matches first. */
export function matchCanned(items, query) {
  const q = query.toLowerCase();
  const hits = (items || []).filter((c) => `${c.shortcut} ${c.title}`.toLowerCase().includes(q));
  return hits.sort((a, b) => Number(!a.shortcut.toLowerCase().startsWith(q)) - Number(!b.shortcut.toLowerCase().startsWith(q)));
}

/** The ``/query`` being typed just before the caret, or null. */
export function slashQuery(text, caret) {
  const found = /(^|\s)\/([^\s/]*)$/.exec(text.slice(0, caret));
  return found ? { query: found[2], start: caret - found[2].length - 1 } : null;
}

/** Draw (or redraw in place, keeping the composer's focus) the canned-response picker. */
export function renderCannedPicker(state, actions) {
  const el = document.getElementById("canned-picker");
  if (!el) return;
  const picker = state.canned;
  el.hidden = !picker.open;
  if (!picker.open) {
    replace(el);
    return;
  }
  const matches = matchCanned(picker.items, picker.query);
  let body;
  if (picker.items === null) body = h("p", { class: "muted" }, t("loading"));
  else if (picker.error) body = h("p", { class: "error", dir: "auto" }, t("canned_unavailable", { detail: picker.error }));
  else if (!matches.length) body = h("p", { class: "muted" }, t("canned_none"));
  else {
    const index = Math.min(picker.index, matches.length - 1);
    body = h(
      "ul",
      { role: "listbox", id: "canned-list", "aria-label": t("canned") },
      matches.map((c, i) =>
        h(
          "li",
          {
            role: "option",
            class: `canned-item${i === index ? " active" : ""}`,
            "aria-selected": String(i === index),
            "data-shortcut": c.shortcut,
            // mousedown, not click: the composer keeps its focus and caret.
            onmousedown: (event) => { event.preventDefault(); actions.cannedChoose(c); },
          },
          h("kbd", { dir: "auto" }, `/${c.shortcut}`),
          h("strong", { dir: "auto" }, c.title),
          h("span", { class: "canned-preview muted", dir: "auto" }, c.text),
        ),
      ),
    );
  }
  replace(el, h("div", { class: "canned-head" }, t("canned"), h("span", { class: "muted" }, t("canned_hint"))), body);
  el.querySelector(".canned-item.active")?.scrollIntoView({ block: "nearest" });
}

/** The composer's actions on the console's ``state``; ``rerender`` redraws, ``reply`` switches to replying. */
export function composerActions(state, { rerender, reply }) {
  let attachmentCounter = 0;

  function attach(files) {
    for (const file of files) {
      const item = { key: `file-${++attachmentCounter}`, name: file.name, status: "uploading", upload: null, error: "" };
      const conversationId = state.selectedId;
      state.attachments.push(item);
      api.uploadMedia(file).then(
        (upload) => { item.upload = upload; item.status = "ready"; },
        (err) => { item.status = "failed"; item.error = err.detail || String(err); },
      ).finally(() => { if (state.selectedId === conversationId) rerender(); });
    }
    rerender();
  }

  function detach(key) {
    state.attachments = state.attachments.filter((a) => a.key !== key);
    rerender();
  }

  let cannedLoad = null;

  function loadCanned() {
    // Fetched once a session; a picker opened meanwhile shows "Loading…" and redraws when they come.
    cannedLoad ??= api.listCannedResponses().then(
      (page) => { state.canned.items = page.items; state.canned.error = ""; },
      (err) => { state.canned.items = []; state.canned.error = err.detail || String(err); cannedLoad = null; },
    ).finally(() => renderCannedPicker(state, actions));
    return cannedLoad;
  }

  function openCanned(query = "", slash = null) {
    Object.assign(state.canned, { open: true, query, slash, index: state.canned.open && state.canned.query === query ? state.canned.index : 0 });
    if (state.canned.items === null || state.canned.error) loadCanned();
    renderCannedPicker(state, actions);
  }

  function closeCanned() {
    if (!state.canned.open) return;
    state.canned.open = false;
    renderCannedPicker(state, actions);
  }

  function typed(text, caret) {
    state.draft = text;
    const slash = slashQuery(text, caret ?? text.length);
    if (slash) openCanned(slash.query, slash.start);
    else if (state.canned.slash !== null) closeCanned();
  }

  function chooseCanned(item) {
    const picked = item || matchCanned(state.canned.items, state.canned.query)[Math.max(0, state.canned.index)];
    if (!picked) return;
    const filled = fillPlaceholders(picked.text, placeholderValues(state.contact, state.me));
    const box = document.getElementById("composer-text");
    const caret = box ? box.selectionStart : state.draft.length;
    const start = state.canned.slash ?? caret;
    state.draft = state.draft.slice(0, start) + filled + state.draft.slice(caret);
    state.canned.open = false;
    if (box) {
      box.value = state.draft;
      box.focus();
      box.setSelectionRange(start + filled.length, start + filled.length);
    }
    renderCannedPicker(state, actions);
  }

  function moveCanned(step) {
    const count = matchCanned(state.canned.items, state.canned.query).length;
    if (!count) return;
    state.canned.index = (Math.min(state.canned.index, count - 1) + step + count) % count;
    renderCannedPicker(state, actions);
  }

  function cannedFromButton() {
    if (state.mode !== "reply") reply();
    document.getElementById("composer-text")?.focus();
    openCanned("", null);
  }

  const actions = {
    draft: typed,
    attach,
    detach,
    cannedOpen: cannedFromButton,
    cannedClose: closeCanned,
    cannedChoose: chooseCanned,
    cannedMove: moveCanned,
  };
  return actions;
}
