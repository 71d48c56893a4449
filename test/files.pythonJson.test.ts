import { describe, expect, it } from "vitest"
import { pythonJson, pythonNumber, pythonString } from "../src/files/pythonJson.ts"
import { referencePythonJson, referencePythonNumber, referencePythonString } from "./support/pythonJsonReference.ts"

// The heartbeat files' encoder is on the writing path of every heartbeat, so pythonJson takes
// shortcuts (concatenation, a fraction written by JavaScript, a string with nothing to escape as
// it is). Each must write exactly what compat's first version wrote (its own tests, which pin that
// to Python's output, run unchanged in test/compat.files.test.ts). Deterministic tables, no randomness.

/** A small deterministic generator (xorshift32), so a failure names a case that comes again. */
const generator = (seed: number) => {
  let state = seed
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

/** Doubles of every kind: from their bits (all exponents), and around every boundary the shortcuts use. */
const doubles = (): Array<number> => {
  const next = generator(16)
  const view = new DataView(new ArrayBuffer(8))
  const values: Array<number> = [0, -0, NaN, Infinity, -Infinity, 5e-324, -5e-324, Number.MAX_VALUE, Number.MIN_VALUE, 0.1 + 0.2]
  for (const edge of [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1, 1e15, 1e16, 1e17, 1e21, 1e22, 2 ** 53, 2 ** 53 + 2, 2 ** 60]) {
    for (const near of [edge, edge * (1 - Number.EPSILON), edge * (1 + Number.EPSILON), edge * 0.9999, edge * 1.0001, edge / 3, edge * 7 / 3]) {
      values.push(near, -near)
    }
  }
  for (let i = 0; i < 20_000; i++) {
    view.setUint32(0, Math.floor(next() * 2 ** 32))
    view.setUint32(4, Math.floor(next() * 2 ** 32))
    values.push(view.getFloat64(0))
  }
  for (let i = 0; i < 20_000; i++) {
    // Numbers senders send: fractions with a few digits over several magnitudes.
    const digits = Math.floor(next() * 1e6) / 10 ** Math.floor(next() * 12)
    values.push(digits * 10 ** (Math.floor(next() * 24) - 8))
  }
  return values
}

const characters = ["a", "Z", "0", " ", "~", "/", "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\u0000", "\u001f", "\u007f", "\u0080", "é", "\u2028", "\u2603", "😀", "\ud800", "\udfff", "\uffff"]
const strings = (): Array<string> => {
  const next = generator(14)
  const values = ["", "host1.example.com", "web 1.example.com", ...characters, characters.join("")]
  for (let i = 0; i < 5_000; i++) {
    let text = ""
    const length = Math.floor(next() * 12)
    for (let c = 0; c < length; c++) text += next() < 0.6 ? "abcxyz.-_ 09"[Math.floor(next() * 12)] : characters[Math.floor(next() * characters.length)]
    values.push(text)
  }
  return values
}

describe("pythonJson's shortcuts write what compat's first version wrote", () => {
  it("every number: from its bits, near 1e-4, 1e16, 2^53 and JavaScript's own switches (1e-7, 1e21)", () => {
    const differing = doubles().filter((value) => pythonNumber(value) !== referencePythonNumber(value))
    expect(differing).toEqual([])
  })

  it("every string: quotes, backslashes, controls, DEL, non-ASCII, surrogate pairs and lone surrogates", () => {
    const differing = strings().filter((text) => pythonString(text) !== referencePythonString(text))
    expect(differing).toEqual([])
  })

  it("objects and lists nested, empty and not, keys that need escapes, whole-number keys first", () => {
    const next = generator(3)
    const numbers = doubles()
    const texts = strings()
    const value = (depth: number): unknown => {
      const pick = next()
      if (depth > 4 || pick < 0.3) return numbers[Math.floor(next() * numbers.length)]
      if (pick < 0.5) return texts[Math.floor(next() * texts.length)]
      if (pick < 0.55) return [null, true, false][Math.floor(next() * 3)]
      if (pick < 0.75) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1))
      const object: Record<string, unknown> = {}
      for (let i = Math.floor(next() * 4); i > 0; i--) object[next() < 0.2 ? String(Math.floor(next() * 10)) : texts[Math.floor(next() * texts.length)]!] = value(depth + 1)
      return object
    }
    const values = Array.from({ length: 2_000 }, () => value(0))
    const differing = values.filter((v) => pythonJson(v) !== referencePythonJson(v))
    expect(differing).toEqual([])
    // The table reached what it is meant to: nesting, empty containers, escapes.
    const written = values.map((v) => pythonJson(v)).join("")
    for (const piece of ["[]", "{}", "[[", "{\"", "\\u", "e-", "e+", ".0"]) expect(written).toContain(piece)
  })

  it("refuses what JSON.stringify refuses", () => {
    expect(() => pythonJson({ a: 1n })).toThrow("cannot write a bigint as JSON")
  })
})
