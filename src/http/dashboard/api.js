// Everything the page asks the receiver goes through here, and this is the one place that knows
// about tokens: a read token from the address (#token=...), kept for the tab in sessionStorage;
// the admin token, asked for once (the dialog) when an action needs it, kept the same way. With
// a sign-in (users and roles, login.js) the browser sends the session cookie by itself and an
// action carries the session's CSRF token (X-CSRF-Token) instead of a token.

const readKey = "heartbeat-mesh.readToken"
const adminKey = "heartbeat-mesh.adminToken"

const fromAddress = new URLSearchParams(location.hash.slice(1)).get("token")
if (fromAddress) {
  sessionStorage.setItem(readKey, fromAddress)
  // Out of the address bar (and out of the history) once kept.
  history.replaceState(null, "", location.pathname + location.search)
}

/** What a request carries: the admin token when we have one (it can read too), else the read token. */
export const credentials = {
  read: () => sessionStorage.getItem(adminKey) ?? sessionStorage.getItem(readKey),
  admin: () => sessionStorage.getItem(adminKey),
  setAdmin: (token) => (token ? sessionStorage.setItem(adminKey, token) : sessionStorage.removeItem(adminKey))
}

const headersFor = (token) => (token ? { Authorization: `Bearer ${token}` } : {})

/** Who this tab is to the receiver (GET /api/session); `csrf` is set for a signed-in session. */
let current = { user: null, role: null, clients: [], via: null, csrf: null, login: false }
export const session = {
  load: async () => {
    const response = await fetch("/api/session", { headers: headersFor(credentials.read()) })
    if (response.ok) current = await response.json()
    return current
  },
  current: () => current
}

export const signOut = () => fetch("/api/logout", { method: "POST", headers: { "X-CSRF-Token": current.csrf ?? "" } })

export class ApiError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

const failure = async (path, response) => {
  const body = await response.json().catch(() => ({}))
  return new ApiError(response.status, `${path}: ${response.status} ${body.error ?? response.statusText}`)
}

/** GET a JSON answer; the browser revalidates with the ETag, so an unchanged answer costs a 304. */
export async function getJson(path, { signal } = {}) {
  const response = await fetch(path, { headers: headersFor(credentials.read()), signal })
  if (!response.ok) throw await failure(path, response)
  return { body: await response.json(), headers: response.headers }
}

/**
 * The SSE feed as a fetch response (EventSource cannot send an Authorization header). Without
 * `heartbeats`, routine heartbeats are left out (status changes still come): for big fleets.
 */
export const openFeed = (heartbeats) =>
  fetch(heartbeats ? "/api/feed" : "/api/feed?heartbeats=0", { headers: headersFor(credentials.read()) })

let askToken // set by the page: () => Promise<string | undefined>, the dialog
export const onTokenNeeded = (ask) => (askToken = ask)

/**
 * An admin action: POST by default, `body` sent as JSON (a silence), DELETE to lift one. Without an
 * admin token, or when the receiver refuses it, asks for one (once per refusal) and tries again;
 * undefined when the person cancels.
 */
export async function act(path, { method = "POST", body } = {}) {
  const request = (headers) => ({
    method,
    headers: body === undefined ? headers : { ...headers, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  if (current.csrf && !credentials.admin()) {
    // Signed in: the session's role decides; a refusal is shown, not retried with a token.
    const response = await fetch(path, request({ "X-CSRF-Token": current.csrf }))
    if (!response.ok) throw await failure(path, response)
    return response.json()
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    let token = credentials.admin()
    if (!token) {
      token = await askToken?.(attempt > 0)
      if (!token) return undefined
      credentials.setAdmin(token)
    }
    const response = await fetch(path, request(headersFor(token)))
    if (response.status === 401) {
      credentials.setAdmin(undefined)
      continue
    }
    if (!response.ok) throw await failure(path, response)
    return response.json()
  }
  return undefined
}

/** Path of one resource (names may hold anything: always encoded). */
export const resourcePath = (client, resource) => `/api/resources/${encodeURIComponent(client)}/${encodeURIComponent(resource)}`
