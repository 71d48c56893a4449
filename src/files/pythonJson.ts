/**
 * JSON text exactly as Python's `json.dumps` writes it with its defaults, which is how the deployed
 * receiver wrote heartbeat files: `", "` and `": "` separators, every character outside printable
 * ASCII escaped as `\uXXXX` (ensure_ascii), Python's float repr, NaN and Infinity spelled out.
 * The value must be JSON data (as JSON.parse makes it) within the payload bounds; anything else
 * throws (a bigint, a cycle), and the writer counts that resource's files as failed.
 */
export const pythonJson = (value: unknown): string => {
  if (value === null || value === undefined) return "null"
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false"
    case "number":
      return pythonNumber(value)
    case "string":
      return pythonString(value)
    case "object": {
      // Built by concatenation (V8 ropes), not arrays joined: this runs for every heartbeat written.
      if (Array.isArray(value)) {
        if (value.length === 0) return "[]"
        let text = `[${pythonJson(value[0])}`
        for (let index = 1; index < value.length; index++) text += `, ${pythonJson(value[index])}`
        return `${text}]`
      }
      let text = ""
      for (const key in value) {
        text += `${text === "" ? "{" : ", "}${pythonString(key)}: ${pythonJson((value as Record<string, unknown>)[key])}`
      }
      return text === "" ? "{}" : `${text}}`
    }
    default:
      // A bigint, function or symbol never comes out of JSON.parse: refuse it as JSON.stringify does.
      throw new TypeError(`cannot write a ${typeof value} as JSON`)
  }
}

const shortEscapes: Readonly<Record<string, string>> = {
  "\"": "\\\"",
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f"
}

// Python's ESCAPE_ASCII: a quote, a backslash, or anything outside space..tilde. JavaScript strings
// are UTF-16, so a character beyond U+FFFF comes out as its surrogate pair, as Python writes it.
const needsEscape = /["\\]|[^\x20-\x7e]/g
const hasEscape = /["\\]|[^\x20-\x7e]/

const escaped = (character: string) =>
  shortEscapes[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`

/** A string as `json.dumps` writes it with ensure_ascii (lower-case hex, as Python does). */
export const pythonString = (text: string): string =>
  // Most names and values need no escape: one test, and the text as it is.
  hasEscape.test(text) ? `"${text.replace(needsEscape, escaped)}"` : `"${text}"`

/**
 * A number as `json.dumps` writes it. A JSON number arrives here as a float without a note of how
 * it was written; whole numbers up to 2^53 are written as Python writes an int (`12345`), every
 * other number as Python's float repr: the same shortest digits as JavaScript, but exponents from
 * 1e16 and below 1e-4 (`1e+16`, `1e-05`), and `.0` on whole floats (`1e+16`, `9007199254740993.0`).
 */
export const pythonNumber = (value: number): string => {
  if (Number.isSafeInteger(value)) return String(value)
  if (Number.isNaN(value)) return "NaN"
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity"
  // A fraction from 1e-4 up: JavaScript writes the same shortest digits in the same fixed notation
  // (it turns to exponents only below 1e-6 and from 1e21); whole floats and the rest need the repr.
  const magnitude = Math.abs(value)
  if (magnitude >= 1e-4 && magnitude < 1e16 && !Number.isInteger(value)) return String(value)
  return pythonFloatRepr(value)
}

/** Python's `repr(float)`. */
export const pythonFloatRepr = (value: number): string => {
  if (Number.isNaN(value)) return "nan"
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf"
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0"
  const sign = value < 0 ? "-" : ""
  // toExponential() without an argument gives the shortest digits that read back as the same
  // float, which is also what Python's repr chooses.
  const [mantissa, exponentText] = Math.abs(value).toExponential().split("e") as [string, string]
  const digits = mantissa.replace(".", "")
  const exponent = Number(exponentText)
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : ""
    const magnitude = String(Math.abs(exponent)).padStart(2, "0")
    return `${sign}${digits[0]}${fraction}e${exponent < 0 ? "-" : "+"}${magnitude}`
  }
  const point = exponent + 1
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`
}
