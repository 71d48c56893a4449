// compat's first pythonJson, pythonString and pythonNumber (issue 14.4: arrays joined, every string
// through the escape regex, every non-integer through pythonFloatRepr), kept as the reference the
// faster ones in src/files/pythonJson.ts are held to (test/files.pythonJson.test.ts). Not used by the app.
import { pythonFloatRepr } from "../../src/files/pythonJson.ts"

const shortEscapes: Readonly<Record<string, string>> = {
  "\"": "\\\"",
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f"
}

export const referencePythonString = (text: string): string =>
  `"${
    text.replace(/["\\]|[^\x20-\x7e]/g, (character) =>
      shortEscapes[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`)
  }"`

export const referencePythonNumber = (value: number): string => {
  if (Number.isSafeInteger(value)) return String(value)
  if (Number.isNaN(value)) return "NaN"
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity"
  return pythonFloatRepr(value)
}

export const referencePythonJson = (value: unknown): string => {
  if (value === null || value === undefined) return "null"
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false"
    case "number":
      return referencePythonNumber(value)
    case "string":
      return referencePythonString(value)
    case "object": {
      if (Array.isArray(value)) return value.length === 0 ? "[]" : `[${value.map(referencePythonJson).join(", ")}]`
      const parts: Array<string> = []
      for (const key in value) parts.push(`${referencePythonString(key)}: ${referencePythonJson((value as Record<string, unknown>)[key])}`)
      return parts.length === 0 ? "{}" : `{${parts.join(", ")}}`
    }
    default:
      throw new TypeError(`cannot write a ${typeof value} as JSON`)
  }
}
