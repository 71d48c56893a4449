import { Result } from "effect"
import { describeNameProblem, nameProblem, printableName } from "../domain/Names.ts"
import { parseScryptHash, type ScryptHash, tokenDigestPattern } from "../support/passwordHash.ts"

/**
 * The `users:` section of receiver.yaml (issue 18.3): people and scripts that read and act through
 * the HTTP API and the dashboard, each with a role and the clients it covers.
 *
 *   users:
 *     alice:
 *       role: operator                    # viewer | operator | owner | admin
 *       clients: [Client1, "team-*"]      # default: every client
 *       password: "$scrypt$ln=15,r=8,p=1$...$..."   # from `heartbeat-mesh passwd alice`
 *       api_tokens: ["sha256:..."]        # from `heartbeat-mesh passwd alice --token`
 *       email: alice@example.com          # with subscribe: the named routes' e-mail channels
 *       subscribe: [db-pages]             #   also deliver to her, for her clients only
 *
 * Passwords and tokens are held only as hashes; a message never echoes one.
 */

/** Each role may do what the ones before it may, and more (src/monitor/access.ts). */
export const roles = ["viewer", "operator", "owner", "admin"] as const
export type Role = (typeof roles)[number]

/** Which clients a user covers: names, or `*` globs (`team-*`); `*` alone is every client. */
export interface ClientScope {
  readonly patterns: ReadonlyArray<string>
  /** True when one pattern is `*`: every client, present and future. */
  readonly all: boolean
  readonly covers: (client: string) => boolean
}

export interface UserConfig {
  readonly name: string
  readonly role: Role
  readonly scope: ClientScope
  /** Undefined: this user cannot log in with a password (API tokens only). */
  readonly passwordHash: ScryptHash | undefined
  /** `sha256:<hex>` of each of the user's API tokens. */
  readonly tokenDigests: ReadonlyArray<string>
  /** Where the routes the user subscribes to deliver (their e-mail channels). */
  readonly email: string | undefined
  /** Names of routes (`routes[].name`) whose e-mail channels also deliver to `email`; checked against `routes:` (routeSubscriptions.ts). */
  readonly subscribe: ReadonlyArray<string>
}

const globPattern = (glob: string) => new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s")

export const clientScope = (patterns: ReadonlyArray<string>): ClientScope => {
  const all = patterns.includes("*")
  const exact = new Set(patterns.filter((pattern) => !pattern.includes("*")))
  const globs = patterns.filter((pattern) => pattern.includes("*")).map(globPattern)
  return {
    patterns,
    all,
    covers: all ? () => true : (client) => exact.has(client) || globs.some((glob) => glob.test(client))
  }
}

export const everyClient = clientScope(["*"])

/** Most users one receiver.yaml may list; each is checked on every login and token lookup is O(1). */
export const maxUsers = 10_000
const userKeys = ["role", "clients", "password", "api_tokens", "email", "subscribe"]

/** An address as SMTP takes it: one `local@domain`, no spaces, no display name, at most 254 characters. */
const emailPattern = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

/** Reads `users:` (absent or null: none); every problem is named by its path, secrets never echoed. */
export const parseUsersConfig = (
  raw: unknown
): Result.Result<{ readonly users: ReadonlyArray<UserConfig>; readonly warnings: ReadonlyArray<string> }, ReadonlyArray<string>> => {
  const section = isMapping(raw) ? raw["users"] : undefined
  if (section === undefined || section === null) return Result.succeed({ users: [], warnings: [] })
  if (!isMapping(section)) return Result.fail(["users: expected a mapping of user names"])
  const problems: Array<string> = []
  const warnings: Array<string> = []
  const users: Array<UserConfig> = []
  const tokenOwners = new Map<string, string>()
  const names = Object.keys(section)
  if (names.length > maxUsers) return Result.fail([`users: at most ${maxUsers} users, got ${names.length}`])
  for (const [name, entry] of Object.entries(section)) {
    const where = `users.${printableName(name)}`
    const nameIssue = nameProblem(name, 128)
    if (nameIssue !== undefined) {
      problems.push(`${where}: the name ${describeNameProblem(nameIssue, 128)}`)
      continue
    }
    if (!isMapping(entry)) {
      problems.push(`${where}: expected a mapping with role, clients, password or api_tokens`)
      continue
    }
    for (const key of Object.keys(entry)) if (!userKeys.includes(key)) warnings.push(`${where}.${key}: unknown setting, ignored`)
    const role = entry["role"]
    if (typeof role !== "string" || !(roles as ReadonlyArray<string>).includes(role)) {
      problems.push(`${where}.role: expected one of ${roles.join(", ")}`)
    }
    const given = entry["clients"] ?? ["*"]
    const patterns = typeof given === "string" ? [given] : given
    if (!Array.isArray(patterns) || patterns.length === 0 || patterns.some((pattern) => typeof pattern !== "string" || pattern === "")) {
      problems.push(`${where}.clients: expected a list of client names or "*" globs, e.g. [Client1, "team-*"]`)
    }
    let passwordHash: ScryptHash | undefined
    const password = entry["password"]
    if (password !== undefined && password !== null) {
      const parsed = typeof password === "string" ? parseScryptHash(password) : { problem: "expected the hash line of `heartbeat-mesh passwd`" }
      if ("problem" in parsed) problems.push(`${where}.password: ${parsed.problem}`)
      else passwordHash = parsed
    }
    const tokens = entry["api_tokens"] ?? []
    const tokenDigests: Array<string> = []
    if (!Array.isArray(tokens)) problems.push(`${where}.api_tokens: expected a list of sha256:<hex> digests (heartbeat-mesh passwd ${name} --token)`)
    else {
      tokens.forEach((token, index) => {
        if (typeof token !== "string" || !tokenDigestPattern.test(token)) {
          problems.push(`${where}.api_tokens.${index}: expected sha256:<64 hex digits> (heartbeat-mesh passwd ${name} --token); a token itself is never written here`)
          return
        }
        const owner = tokenOwners.get(token)
        if (owner !== undefined) problems.push(`${where}.api_tokens.${index}: the same token as user ${owner}; every token belongs to one user`)
        tokenOwners.set(token, name)
        tokenDigests.push(token)
      })
    }
    const email = entry["email"]
    if (email !== undefined && email !== null && (typeof email !== "string" || email.length > 254 || !emailPattern.test(email))) {
      problems.push(`${where}.email: expected one e-mail address, e.g. alice@example.com`)
    }
    const subscribed = entry["subscribe"] ?? []
    const subscribe = typeof subscribed === "string" ? [subscribed] : subscribed
    if (!Array.isArray(subscribe) || subscribe.some((route) => typeof route !== "string" || route === "")) {
      problems.push(`${where}.subscribe: expected a list of route names (routes[].name)`)
    } else if (subscribe.length > 0 && (email === undefined || email === null)) {
      problems.push(`${where}.subscribe: needs ${where}.email, the address the routes deliver to`)
    }
    // A user only for e-mail subscriptions signs in nowhere: no password or token needed then.
    const subscriber = Array.isArray(subscribe) && subscribe.length > 0
    if ((password === undefined || password === null) && Array.isArray(tokens) && tokens.length === 0 && !subscriber) {
      problems.push(`${where}: needs a password or api_tokens (heartbeat-mesh passwd ${name}), or an email and subscribe`)
    }
    if (problems.length === 0) {
      users.push({
        name,
        role: role as Role,
        scope: clientScope(patterns as ReadonlyArray<string>),
        passwordHash,
        tokenDigests,
        email: typeof email === "string" ? email : undefined,
        subscribe: subscribe as ReadonlyArray<string>
      })
    }
  }
  return problems.length > 0 ? Result.fail(problems) : Result.succeed({ users, warnings })
}
