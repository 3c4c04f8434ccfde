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
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const token = csrfToken || csrfFromCookie();
    if (token) headers["X-CSRF-Token"] = token;
  }
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
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

export function listConversations({ status = "", channel = "", limit = 100 } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (status) query.set("status", status);
  if (channel) query.set("channel", channel);
  return request("GET", `/conversations?${query}`);
}

const conv = (id) => `/conversations/${encodeURIComponent(id)}`;

export const getConversation = (id) => request("GET", conv(id));
export const getInteractions = (id) => request("GET", `${conv(id)}/interactions`);
export const postMessage = (id, text, isPrivate) =>
  request("POST", `${conv(id)}/messages`, { text, private: isPrivate });
export const assign = (id, agentId) => request("POST", `${conv(id)}/assign`, { agent_id: agentId });
export const transfer = (id, target) => request("POST", `${conv(id)}/transfer`, target);
export const resolve = (id) => request("POST", `${conv(id)}/resolve`, {});
export const reopen = (id) => request("POST", `${conv(id)}/reopen`, {});
export const getSuggestions = (id) => request("GET", `${conv(id)}/suggestions`);
export const getContact360 = (id) => request("GET", `/contacts/${encodeURIComponent(id)}/360`);
