// Administration (admin role): agents, teams, skills, channel accounts, canned responses, kept-aside traffic.

import { request } from "./api.js";
import { formatTime, h, replace } from "./dom.js";
import { t } from "./i18n.js";

const SECTIONS = ["agents", "teams", "skills", "accounts", "canned", "kept"];
const ROLES = ["agent", "supervisor", "admin"];
const id = encodeURIComponent;

const admin = { section: "agents", data: {}, error: "", el: null };

/** Render the administration page into `el` (loads what the open section needs). */
export async function renderAdmin(el) {
  admin.el = el;
  await load();
}

async function load() {
  admin.error = "";
  try {
    const [agents, teams, skills] = await Promise.all([
      request("GET", "/agents"), request("GET", "/teams"), request("GET", "/skills"),
    ]);
    Object.assign(admin.data, { agents: agents.items, teams: teams.items, skills: skills.items });
    if (admin.section === "accounts") admin.data.accounts = (await request("GET", "/channel-accounts")).items;
    if (admin.section === "canned") admin.data.canned = (await request("GET", "/canned-responses")).items;
    if (admin.section === "kept") admin.data.kept = (await request("GET", "/kept-aside?limit=200")).items;
  } catch (err) {
    admin.error = t("action_failed", { detail: err.detail || String(err) });
  }
  draw();
}

async function act(call) {
  try {
    await call();
  } catch (err) {
    admin.error = t("action_failed", { detail: err.detail || String(err) });
    draw();
    return false;
  }
  await load();
  return true;
}

function draw() {
  if (!admin.el) return;
  const tabs = h(
    "nav",
    { class: "admin-tabs", role: "tablist" },
    SECTIONS.map((name) =>
      h("button", {
        type: "button", role: "tab", id: `admin-tab-${name}`, "aria-selected": String(admin.section === name),
        class: admin.section === name ? "active" : "",
        onclick: () => { admin.section = name; load(); },
      }, t(`admin_${name}`)),
    ),
  );
  const body = { agents, teams: () => named("team"), skills: () => named("skill"), accounts, canned, kept }[admin.section]();
  replace(
    admin.el,
    h("h2", {}, t("admin_title")),
    tabs,
    admin.error ? h("p", { class: "error", role: "alert", dir: "auto" }, admin.error) : null,
    h("section", { class: "admin-section", id: `admin-${admin.section}`, role: "tabpanel" }, body),
  );
}

// ---- small builders ------------------------------------------------------------------------------

const field = (label, input) => h("label", {}, label, input);
const input = (name, attrs = {}) => h("input", { name, dir: "auto", ...attrs });
const table = (heads, rows) =>
  h("table", { class: "admin-table" }, h("thead", {}, h("tr", {}, heads.map((x) => h("th", {}, x)))), h("tbody", {}, rows));

function dialog(title, content, onSubmit) {
  const box = h("dialog", { class: "dialog", id: "admin-dialog" });
  const close = () => { box.close(); box.remove(); };
  const form = h(
    "form",
    {
      method: "dialog",
      onsubmit: async (event) => {
        event.preventDefault();
        if (await onSubmit(event.target)) close();
      },
    },
    h("h2", {}, title),
    content,
    h("div", { class: "dialog-bar" },
      h("button", { type: "button", onclick: close }, t("cancel")),
      h("button", { type: "submit", class: "primary", id: "admin-save" }, t("admin_save"))),
  );
  box.append(form);
  document.body.append(box);
  box.showModal();
}

const teamName = (teamId) => admin.data.teams.find((x) => x.id === teamId)?.name || "";

// ---- agents --------------------------------------------------------------------------------------

function agents() {
  const rows = admin.data.agents.map((a) =>
    h("tr", { "data-id": a.id, class: a.active ? "" : "inactive" },
      h("td", { dir: "auto" }, a.name), h("td", {}, a.email), h("td", {}, t(`admin_role_${a.role}`)),
      h("td", { dir: "auto" }, a.teams.map((x) => x.name).join(", ")),
      h("td", { dir: "auto" }, a.skills.map((s) => `${s.name} ${s.level}`).join(", ")),
      h("td", {}, `${a.open_count} / ${a.max_open}`),
      h("td", {}, h("span", { class: `availability-dot ${a.availability}` }), t(`availability_${a.availability}`)),
      h("td", {}, a.active ? t("admin_yes") : t("admin_no")),
      h("td", {}, h("button", { type: "button", class: "edit-agent", onclick: () => agentDialog(a) }, t("admin_edit")))),
  );
  return [
    h("div", { class: "admin-bar" }, h("button", { type: "button", class: "primary", id: "new-agent", onclick: () => agentDialog(null) }, t("admin_new_agent"))),
    table([t("admin_name"), t("email"), t("admin_role"), t("admin_teams"), t("admin_skills"), t("admin_open_limit"), t("availability"), t("admin_active"), ""], rows),
  ];
}

function agentDialog(agent) {
  const levels = new Map((agent?.skills || []).map((s) => [s.id, s.level]));
  const teams = new Set((agent?.teams || []).map((x) => x.id));
  const content = [
    field(t("admin_name"), input("name", { id: "agent-name", required: true, value: agent?.name || "" })),
    agent ? null : field(t("email"), input("email", { id: "agent-email", type: "email", required: true })),
    field(agent ? t("admin_new_password") : t("password"),
      input("password", { id: "agent-password", type: "password", minLength: 8, required: !agent, autocomplete: "new-password" })),
    field(t("admin_role"), h("select", { name: "role", id: "agent-role" }, ROLES.map((r) => h("option", { value: r, selected: (agent?.role || "agent") === r }, t(`admin_role_${r}`))))),
    field(t("admin_max_open"), input("max_open", { id: "agent-max-open", type: "number", min: 0, max: 1000, value: agent?.max_open ?? 8 })),
    field(t("admin_phone"), input("phone", { id: "agent-phone", value: agent?.phone || "" })),
    agent ? h("label", { class: "check" }, h("input", { type: "checkbox", name: "active", checked: agent.active }), t("admin_active")) : null,
    h("fieldset", {}, h("legend", {}, t("admin_teams")),
      admin.data.teams.map((x) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "team", value: x.id, checked: teams.has(x.id) }), x.name))),
    h("fieldset", {}, h("legend", {}, t("admin_skills")),
      admin.data.skills.map((s) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "skill", value: s.id, checked: levels.has(s.id) }), s.name,
        h("select", { name: `level-${s.id}`, "aria-label": t("admin_level") }, [1, 2, 3, 4, 5].map((n) => h("option", { value: n, selected: (levels.get(s.id) || 1) === n }, String(n))))))),
  ];
  dialog(agent ? t("admin_edit_agent") : t("admin_new_agent"), content, (form) => {
    const body = {
      name: form.name.value.trim(),
      role: form.role.value,
      max_open: Number(form.max_open.value),
      phone: form.phone.value.trim() || null,
      teams: [...form.querySelectorAll("input[name=team]:checked")].map((x) => x.value),
      skills: [...form.querySelectorAll("input[name=skill]:checked")].map((x) => ({ id: x.value, level: Number(form[`level-${x.value}`].value) })),
    };
    if (form.password.value) body.password = form.password.value;
    if (agent) body.active = form.active.checked;
    else body.email = form.email.value.trim();
    return act(() => (agent ? request("PUT", `/agents/${id(agent.id)}`, body) : request("POST", "/agents", body)));
  });
}

// ---- teams and skills ----------------------------------------------------------------------------

function named(kind) {
  const path = kind === "team" ? "/teams" : "/skills";
  const items = admin.data[`${kind}s`];
  const rows = items.map((item) => {
    const name = input("name", { value: item.name, required: true, "aria-label": t("admin_name") });
    return h("tr", { "data-id": item.id },
      h("td", {}, name),
      h("td", { class: "row-actions" },
        h("button", { type: "button", onclick: () => act(() => request("PUT", `${path}/${id(item.id)}`, { name: name.value.trim() })) }, t("admin_save")),
        h("button", { type: "button", class: "danger", onclick: () => act(() => request("DELETE", `${path}/${id(item.id)}`)) }, t("admin_delete"))));
  });
  const form = h(
    "form",
    { class: "admin-bar", id: `new-${kind}`, onsubmit: (event) => { event.preventDefault(); act(() => request("POST", path, { name: event.target.name.value.trim() })); } },
    field(t(`admin_new_${kind}`), input("name", { required: true, id: `new-${kind}-name` })),
    h("button", { type: "submit", class: "primary" }, t("admin_add")),
  );
  return [form, table([t("admin_name"), ""], rows)];
}

// ---- channel accounts ----------------------------------------------------------------------------

function teamSelect(name, selected, onchange) {
  return h("select", { name, onchange },
    h("option", { value: "", selected: !selected }, t("admin_no_team")),
    admin.data.teams.map((x) => h("option", { value: x.id, selected: x.id === selected }, x.name)));
}

function accounts() {
  const rows = (admin.data.accounts || []).map((a) =>
    h("tr", { "data-id": a.id },
      h("td", {}, a.channel), h("td", { dir: "auto" }, a.account),
      h("td", {}, input("display_name", { value: a.display_name || "", "aria-label": t("admin_display_name"),
        onchange: (event) => act(() => request("PUT", `/channel-accounts/${id(a.id)}`, { display_name: event.target.value.trim() || null })) })),
      h("td", {}, teamSelect("default_team_id", a.default_team_id,
        (event) => act(() => request("PUT", `/channel-accounts/${id(a.id)}`, { default_team_id: event.target.value || null }))))),
  );
  const form = h(
    "form",
    {
      class: "admin-bar", id: "new-account",
      onsubmit: (event) => {
        event.preventDefault();
        const f = event.target;
        act(() => request("POST", "/channel-accounts", {
          channel: f.channel.value.trim(), account: f.account.value.trim(),
          display_name: f.display_name.value.trim() || null, default_team_id: f.default_team_id.value || null,
        }));
      },
    },
    field(t("filter_channel"), input("channel", { required: true })),
    field(t("admin_account"), input("account", { required: true })),
    field(t("admin_display_name"), input("display_name")),
    field(t("admin_default_team"), teamSelect("default_team_id", null)),
    h("button", { type: "submit", class: "primary" }, t("admin_add")),
  );
  return [form, h("p", { class: "muted" }, t("admin_accounts_help")),
    table([t("filter_channel"), t("admin_account"), t("admin_display_name"), t("admin_default_team")], rows)];
}

// ---- canned responses ----------------------------------------------------------------------------

function canned() {
  const rows = (admin.data.canned || []).map((c) =>
    h("tr", { "data-id": c.id },
      h("td", {}, h("code", {}, c.shortcut)), h("td", { dir: "auto" }, c.title),
      h("td", { class: "canned-text", dir: "auto" }, c.text), h("td", {}, c.language || ""),
      h("td", { class: "row-actions" },
        h("button", { type: "button", onclick: () => cannedDialog(c) }, t("admin_edit")),
        h("button", { type: "button", class: "danger", onclick: () => act(() => request("DELETE", `/canned-responses/${id(c.id)}`)) }, t("admin_delete")))),
  );
  return [
    h("div", { class: "admin-bar" }, h("button", { type: "button", class: "primary", id: "new-canned", onclick: () => cannedDialog(null) }, t("admin_new_canned"))),
    h("p", { class: "muted" }, t("admin_placeholders")),
    table([t("admin_shortcut"), t("admin_canned_title"), t("admin_text"), t("language"), ""], rows),
  ];
}

function cannedDialog(item) {
  const content = [
    field(t("admin_shortcut"), input("shortcut", { id: "canned-shortcut", required: true, value: item?.shortcut || "" })),
    field(t("admin_canned_title"), input("title", { id: "canned-title", required: true, value: item?.title || "" })),
    field(t("admin_text"), h("textarea", { name: "text", id: "canned-text", required: true, rows: 5, dir: "auto", value: item?.text || "" })),
    field(t("language"), input("language", { id: "canned-language", value: item?.language || "" })),
  ];
  dialog(item ? t("admin_edit_canned") : t("admin_new_canned"), content, (form) => {
    const body = { shortcut: form.shortcut.value.trim(), title: form.title.value.trim(), text: form.text.value, language: form.language.value.trim() || null };
    return act(() => (item ? request("PUT", `/canned-responses/${id(item.id)}`, body) : request("POST", "/canned-responses", body)));
  });
}

// ---- kept-aside traffic --------------------------------------------------------------------------

function kept() {
  const rows = (admin.data.kept || []).map((k) =>
    h("tr", { "data-id": k.id },
      h("td", {}, h("time", { datetime: k.received_at }, formatTime(k.received_at))),
      h("td", {}, k.channel), h("td", { dir: "auto" }, k.account), h("td", {}, k.provider_id || ""),
      h("td", { dir: "auto" }, k.reason),
      h("td", {}, h("a", { href: `/api/v1/kept-aside/${id(k.id)}/body`, download: `kept-aside-${k.id}`, class: "download" }, t("admin_download")))),
  );
  return [h("p", { class: "muted" }, t("admin_kept_help")),
    rows.length ? table([t("admin_received"), t("filter_channel"), t("admin_account"), t("admin_provider_id"), t("admin_reason"), ""], rows)
      : h("p", { class: "muted" }, t("none"))];
}
