import * as SchemaIssue from "effect/SchemaIssue"
import type { SchemaError } from "effect/Schema"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

// Keys whose values are secrets: a message may say what is wrong with them, never what they are.
const secretKeys = new Set(["token", "admin_token", "read_token"])

const valueAt = (root: unknown, path: ReadonlyArray<PropertyKey>): { found: boolean; value: unknown } => {
  let current: unknown = root
  for (const key of path) {
    if (current === null || typeof current !== "object" || !(key in current)) return { found: false, value: undefined }
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return { found: true, value: current }
}

const article = (kind: string) => `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}`

const describeValue = (value: unknown): string => {
  if (value === null || value === undefined) return "nothing"
  if (typeof value === "number" && !Number.isFinite(value)) return String(value)
  const json = JSON.stringify(value)
  if (json === undefined) return String(value)
  return json.length > 60 ? `${json.slice(0, 57)}...` : json
}

/**
 * Turns a schema failure into one line per problem: `path.to.key: expected ..., got ...`.
 * The offending value is shown unless it sits under a secret key.
 */
export const describeSchemaIssues = (error: SchemaError, input: unknown): Array<string> =>
  formatter(error.issue).issues.map((issue) => {
    const path = (issue.path ?? []).map((segment) => typeof segment === "object" ? segment.key : segment)
    const where = path.length === 0 ? "(top level)" : path.map(String).join(".")
    const message = issue.message.charAt(0).toLowerCase() + issue.message.slice(1)
    const lastKey = path[path.length - 1]
    const actual = valueAt(input, path)
    if (!actual.found) return `${where}: ${message === "missing key" ? "is required" : message}`
    const got = typeof lastKey === "string" && secretKeys.has(lastKey)
      ? `${article(actual.value === null ? "null" : typeof actual.value)}`
      : describeValue(actual.value)
    return `${where}: ${message}, got ${got}`
  })
