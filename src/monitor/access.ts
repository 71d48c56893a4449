import { type ClientScope, everyClient, type Role, roles } from "../config/usersConfig.ts"

/**
 * Who may do what through the HTTP API (issue 18.3): pure rules, table-tested
 * (test/rules.access.test.ts). A principal is whoever a request was authenticated as: a user
 * (password session or API token), the shortcut tokens of `http:` (read_token: a viewer of every
 * client; admin_token: an admin), or nobody when reads are open.
 */

/** What a request asks to do; each needs at least one role (`neededRole`). */
export const actions = ["read", "pause", "resume", "silence", "dyndns", "deregister", "manage", "metrics"] as const
export type Action = (typeof actions)[number]

/**
 * viewer reads; operator also pauses, resumes, silences and forces a DNS re-registration; owner also deregisters and manages
 * the client's resources; admin does everything, including what is not about one client
 * (/metrics, which counts every client).
 */
export const neededRole: Readonly<Record<Action, Role>> = {
  read: "viewer",
  pause: "operator",
  resume: "operator",
  silence: "operator",
  /** Force a dynamic DNS re-registration (hbd's managers could). */
  dyndns: "operator",
  deregister: "owner",
  manage: "owner",
  metrics: "viewer"
}

export interface Principal {
  /** The user's name; `read_token`, `admin_token` or `anonymous` for the others. */
  readonly name: string
  readonly role: Role
  readonly scope: ClientScope
  /** How the request proved it: a dashboard session cookie, a Bearer token, or nothing (open reads). */
  readonly via: "session" | "token" | "open"
}

export const openReader: Principal = { name: "anonymous", role: "viewer", scope: everyClient, via: "open" }
export const readTokenHolder: Principal = { name: "read_token", role: "viewer", scope: everyClient, via: "token" }
export const adminTokenHolder: Principal = { name: "admin_token", role: "admin", scope: everyClient, via: "token" }

const rank = (role: Role) => roles.indexOf(role)

export const roleAllows = (role: Role, action: Action): boolean => rank(role) >= rank(neededRole[action])

/**
 * The answer to "may `principal` do `action` on `client`": `allowed`; `hidden` when the client is
 * outside its scope (answered as if the resource did not exist); `forbidden` when its role is too
 * low. Without a client, a read is of lists (the caller narrows them to the scope: `covers`);
 * anything else (metrics) needs a principal covering every client.
 */
export const decide = (principal: Principal, action: Action, client?: string): "allowed" | "hidden" | "forbidden" => {
  const inScope = client !== undefined ? principal.scope.covers(client) : action === "read" || principal.scope.all
  if (!inScope) return client === undefined ? "forbidden" : "hidden"
  return roleAllows(principal.role, action) ? "allowed" : "forbidden"
}
