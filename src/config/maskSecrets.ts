// What `check-config` may print of a loaded configuration: every secret masked. Pure.

export const masked = "<masked>"
/** Stands in for a secret inside a URL until it is serialized (URL encodes `<` and `>`). */
const placeholder = "hbm0masked0"

/** Keys whose value is a secret wherever they appear (camelCase as loaded, snake_case as written). */
const secretKey = /token|password|passphrase|secret|api_?key|private/i
/** ...unless the key names where a secret is read from (`secret_key_file`, `password_env`). */
const placeKey = /(file|env|path)$/i
/** Query parameters of a URL that carry a secret (a webhook's `?token=`, a signed URL's `sig`). */
const secretParameter = /token|key|secret|sig|auth|pass|code/i

/**
 * A URL with its secrets masked: the password of its user part, every secret-looking query
 * parameter, and, when `wholePath`, its path (webhook URLs like Slack's carry the secret there).
 * A string that is not an absolute URL is returned as it is.
 */
export const maskUrl = (text: string, wholePath = false): string => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return text
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || url.host === "") return text
  if (wholePath) return `${url.protocol}//${url.host}/${masked}`
  let changed = false
  if (url.password !== "") {
    url.password = placeholder
    changed = true
  }
  for (const name of [...url.searchParams.keys()]) {
    if (secretParameter.test(name)) {
      url.searchParams.set(name, placeholder)
      changed = true
    }
  }
  return changed ? url.toString().replaceAll(placeholder, masked) : text
}

/** A secret as notificationConfig.ts loads it: written inline, or where to read it from. */
const isInlineSecret = (value: object): value is { from: "inline"; value: string } =>
  "from" in value && value.from === "inline" && "value" in value && typeof value.value === "string" &&
  Object.keys(value).length === 2

/**
 * The configuration with every secret masked: values under a secret-naming key, every secret
 * written inline (a URL keeps its scheme and host), passwords and secret query parameters in any
 * URL. A secret read from a file or the environment shows where from (path, variable name).
 */
export const maskSecrets = (value: unknown, key = ""): unknown => {
  if (value === undefined || value === null) return value
  if (typeof value === "object" && !Array.isArray(value)) {
    if (isInlineSecret(value)) {
      const url = maskUrl(value.value, true)
      return { from: "inline", value: url === value.value ? masked : url }
    }
    if ("from" in value && (value.from === "file" || value.from === "env")) return value
  }
  if (secretKey.test(key) && !placeKey.test(key)) return masked
  // A Map (a client's resources by name) shown as an object; its keys are names, not settings.
  if (value instanceof Map) return Object.fromEntries([...value].map(([name, item]) => [String(name), maskSecrets(item)]))
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, key))
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]))
  return typeof value === "string" ? maskUrl(value) : value
}
