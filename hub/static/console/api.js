// The REST API, reached with the session cookie; state changes carry the CSRF token.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.detail = detail || code || `HTTP ${status}`;
  }
}

function csrfFromCookie() {
  const entry = document.cookie.split("; ").find((part) => part.startsWith("sb_csrf="));
  return entry ? decodeURIComponent(entry.slice("sb_csrf=".length)) : null;
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const isForm = body instanceof FormData;
  // A FormData body sets its own multipart Content-Type (with the boundary).
  if (body !== undefined && !isForm) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const token = csrfToken || csrfFromCookie();
    if (token) headers["X-CSRF-Token"] = token;
  }
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined || isForm ? body : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data?.error, data?.detail);
  return data;
}

export async function signIn(email, password) {
  const data = await request("POST", "/session", { email, password });
  csrfToken = data.csrf_token;
  return data;
}

export async function signOut() {
  try {
    await request("DELETE", "/session");
  } finally {
    csrfToken = null;
  }
}

export const whoAmI = () => request("GET", "/session");

/** The inbox's first page: ``filters`` are query parameters (status, channel, assignee, team, tag, unread). */
export function listConversations(filters = {}, limit = 50) {
  return request("GET", `/conversations?${new URLSearchParams({ ...filters, limit: String(limit) })}`);
}

/** The page after another: ``next`` is the cursor query string that page answered with. */
export const nextConversations = (next) => request("GET", `/conversations?${next}`);
export const conversationCounts = () => request("GET", "/conversations/counts");
export const listTags = () => request("GET", "/tags");
export const listTeams = () => request("GET", "/teams");
export const listAgents = () => request("GET", "/agents");

const conv = (id) => `/conversations/${encodeURIComponent(id)}`;

export const getConversation = (id) => request("GET", conv(id));
export const getInteractions = (id) => request("GET", `${conv(id)}/interactions`);
export const markRead = (id) => request("POST", `${conv(id)}/read`, {});
/** A reply or private note; ``extra`` may name ``identity_id`` (another channel) and ``attachments``. */
export const postMessage = (id, text, isPrivate, extra = {}) =>
  request("POST", `${conv(id)}/messages`, { text, private: isPrivate, ...extra });
export const assign = (id, agentId) => request("POST", `${conv(id)}/assign`, { agent_id: agentId });
export const transfer = (id, target) => request("POST", `${conv(id)}/transfer`, target);
export const resolve = (id) => request("POST", `${conv(id)}/resolve`, {});
export const reopen = (id) => request("POST", `${conv(id)}/reopen`, {});
export const getSuggestions = (id) => request("GET", `${conv(id)}/suggestions`);
export const getContact360 = (id) => request("GET", `/contacts/${encodeURIComponent(id)}/360`);

const contact = (id) => `/contacts/${encodeURIComponent(id)}`;

export const updateContact = (id, changes) => request("PATCH", contact(id), changes);
export const mergeContact = (survivorId, mergedId) => request("POST", `${contact(survivorId)}/merge`, { merge_id: mergedId });
export function searchContacts(q, limit = 10) {
  return request("GET", `/contacts?${new URLSearchParams({ q, limit: String(limit) })}`);
}

/** Keep a file to attach to a reply; answers ``{id, url, content_type, filename, size}``. */
export function uploadMedia(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return request("POST", "/media", form);
}

export const listCannedResponses = () => request("GET", "/canned-responses");

// Availability and snooze (round-robin gives conversations to online agents only).
export const setAvailability = (availability) => request("PUT", "/session/availability", { availability });
export const snooze = (id, until) => request("POST", `${conv(id)}/snooze`, { until });

// The phone: act on a conversation's live call; call a contact from your own phone.
export const callAction = (id, action, params = {}) =>
  request("POST", `${conv(id)}/call-actions`, { action, params });
export const callContact = (contactId, to) =>
  request("POST", `/contacts/${encodeURIComponent(contactId)}/calls`, to ? { to } : {});
