/**
 * The message journal's lines (issue 18.2), pure: one JSON object per received message, with the
 * frame's token masked. Kept apart from the writer so it is table-tested.
 */

/** What replaces a token in the journal. */
export const maskedToken = "***"

const isSpace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09

/** The index just past the JSON string starting at `start` (a `"`), or -1. */
const stringEnd = (text: string, start: number): number => {
  for (let index = start + 1; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code === 0x5c) index++
    else if (code === 0x22) return index + 1
  }
  return -1
}

/** The index just past the JSON value starting at `start`, or -1. */
const valueEnd = (text: string, start: number): number => {
  const first = text.charCodeAt(start)
  if (first === 0x22) return stringEnd(text, start)
  if (first === 0x7b || first === 0x5b) {
    let depth = 0
    for (let index = start; index < text.length; index++) {
      const code = text.charCodeAt(index)
      if (code === 0x22) {
        index = stringEnd(text, index) - 1
        if (index < 0) return -1
      } else if (code === 0x7b || code === 0x5b) depth++
      else if (code === 0x7d || code === 0x5d) {
        depth--
        if (depth === 0) return index + 1
      }
    }
    return -1
  }
  let index = start
  while (index < text.length) {
    const code = text.charCodeAt(index)
    if (code === 0x2c || code === 0x7d || isSpace(code)) break
    index++
  }
  return index === start ? -1 : index
}

/** A key as JSON reads it (`"\u0074oken"` is `token`). */
const keyOf = (raw: string): string | undefined => {
  if (!raw.includes("\\")) return raw.slice(1, -1)
  try {
    return JSON.parse(raw) as string
  } catch {
    return undefined
  }
}

/**
 * The text of a JSON object with the value of every top-level member named `token` (however its
 * name is escaped) replaced by `"***"`, the rest byte for byte as sent. Undefined when the text is
 * not a JSON object this scanner can follow: the caller then leaves the frame out of the journal
 * rather than risk writing a token.
 */
export const maskTopLevelToken = (text: string): string | undefined => {
  let index = 0
  while (index < text.length && isSpace(text.charCodeAt(index))) index++
  if (text.charCodeAt(index) !== 0x7b) return undefined
  index++
  const kept: Array<string> = []
  let copiedTo = 0
  for (;;) {
    while (index < text.length && isSpace(text.charCodeAt(index))) index++
    if (text.charCodeAt(index) === 0x7d) break
    if (text.charCodeAt(index) !== 0x22) return undefined
    const keyEnd = stringEnd(text, index)
    if (keyEnd < 0) return undefined
    const key = keyOf(text.slice(index, keyEnd))
    if (key === undefined) return undefined
    index = keyEnd
    while (index < text.length && isSpace(text.charCodeAt(index))) index++
    if (text.charCodeAt(index) !== 0x3a) return undefined
    index++
    while (index < text.length && isSpace(text.charCodeAt(index))) index++
    const end = valueEnd(text, index)
    if (end < 0) return undefined
    if (key === "token") {
      kept.push(text.slice(copiedTo, index), `"${maskedToken}"`)
      copiedTo = end
    }
    index = end
    while (index < text.length && isSpace(text.charCodeAt(index))) index++
    const separator = text.charCodeAt(index)
    if (separator === 0x2c) {
      index++
      continue
    }
    if (separator === 0x7d) break
    return undefined
  }
  if (copiedTo === 0) return text
  kept.push(text.slice(copiedTo))
  return kept.join("")
}

/** What became of a received message, as the journal says it. */
export type JournalResult = "accepted" | "deregistered" | "rejected"

export interface JournalEntry {
  /** Wall-clock milliseconds. */
  readonly atMs: number
  readonly transport: string
  /** `address:port` where the transport knows it (UDP, HTTP); null for ZeroMQ and CURVE. */
  readonly source: string | null
  readonly result: JournalResult
  /** Why it was rejected (a reject reason, or the transport's own: rate_limited). */
  readonly reason: string | undefined
  readonly bytes: number
  /**
   * The frame as JSON text, already masked, or undefined when it is left out (not a JSON object:
   * no way to be sure where a token would be).
   */
  readonly frame: string | undefined
}

const lineBreaks = /[\r\n\u2028\u2029]/g
const hasLineBreak = /[\r\n\u2028\u2029]/
const unbroken = (character: string) =>
  character === "\u2028" ? "\\u2028" : character === "\u2029" ? "\\u2029" : " "

/**
 * A frame's JSON text on one line: a raw CR or LF in valid JSON can only be whitespace between
 * tokens (a space does as well); U+2028/2029, which some line readers split on, can only be inside
 * strings, where their escapes mean the same.
 */
export const onOneLine = (json: string): string => (hasLineBreak.test(json) ? json.replace(lineBreaks, unbroken) : json)

/** One journal line (with its newline). `time` is ISO 8601 (the caller may reuse it for equal milliseconds). */
export const journalLine = (entry: JournalEntry, time: string): string =>
  `{"time":"${time}","transport":${JSON.stringify(entry.transport)},"source":${entry.source === null ? "null" : JSON.stringify(entry.source)},` +
  `"result":"${entry.result}"${entry.reason === undefined ? "" : `,"reason":${JSON.stringify(entry.reason)}`},"bytes":${entry.bytes}` +
  `${entry.frame === undefined ? "" : `,"frame":${entry.frame}`}}\n`

/**
 * A growable byte buffer the journal's lines are made in, reused from one batch to the next: no
 * string per line, no join, one write per batch.
 */
export class LineBuffer {
  bytes: Buffer
  length = 0

  constructor(initialBytes = 64 * 1024) {
    this.bytes = Buffer.allocUnsafe(initialBytes)
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return
    let size = this.bytes.length * 2
    while (size < this.length + extra) size *= 2
    const grown = Buffer.allocUnsafe(size)
    this.bytes.copy(grown, 0, 0, this.length)
    this.bytes = grown
  }

  text(value: string): void {
    this.reserve(value.length * 3)
    this.length += this.bytes.write(value, this.length, "utf8")
  }

  copy(source: Uint8Array, start: number, end: number): void {
    this.reserve(end - start)
    if (Buffer.isBuffer(source)) source.copy(this.bytes, this.length, start, end)
    else this.bytes.set(source.subarray(start, end), this.length)
    this.length += end - start
  }

  /** One line's end: `}` and a newline. */
  endLine(): void {
    this.reserve(2)
    this.bytes[this.length++] = 0x7d
    this.bytes[this.length++] = 0x0a
  }

  /** The lines made so far; valid until the next call. */
  taken(): Buffer {
    return this.bytes.subarray(0, this.length)
  }

  /** Empties it for the next batch; a buffer grown past `keepBytes` is let go. */
  reset(keepBytes = 4 * 1024 * 1024): void {
    this.length = 0
    if (this.bytes.length > keepBytes) this.bytes = Buffer.allocUnsafe(64 * 1024)
  }
}

const isByteSpace = (code: number | undefined) => code === 0x20 || code === 0x09

/** The byte path's scanners read `frame` from a start up to `limit` (the frame's end). */
const skipByteSpace = (frame: Uint8Array, start: number, limit: number): number => {
  let index = start
  while (index < limit && isByteSpace(frame[index])) index++
  return index
}

/** Past the string at `start` (a `"`); -1 at a byte the fast path leaves to the text path (non-ASCII, control). */
const byteStringEnd = (frame: Uint8Array, start: number, limit: number): number => {
  for (let index = start + 1; index < limit; index++) {
    const code = frame[index]!
    if (code === 0x5c) index++
    else if (code === 0x22) return index + 1
    else if (code >= 0x80 || code < 0x20) return -1
  }
  return -1
}

const byteValueEnd = (frame: Uint8Array, start: number, limit: number): number => {
  if (start >= limit) return -1
  const first = frame[start]
  if (first === 0x22) return byteStringEnd(frame, start, limit)
  if (first === 0x7b || first === 0x5b) {
    let depth = 0
    for (let index = start; index < limit; index++) {
      const code = frame[index]!
      if (code === 0x22) {
        index = byteStringEnd(frame, index, limit) - 1
        if (index < 0) return -1
      } else if (code === 0x7b || code === 0x5b) depth++
      else if (code === 0x7d || code === 0x5d) {
        depth--
        if (depth === 0) return index + 1
      } else if (code >= 0x80 || code === 0x0a || code === 0x0d) return -1
    }
    return -1
  }
  let index = start
  while (index < limit) {
    const code = frame[index]!
    if (code === 0x2c || code === 0x7d || code === 0x5d || isByteSpace(code)) break
    if (code >= 0x80 || code < 0x20) return -1
    index++
  }
  return index === start ? -1 : index
}

/** `"token"` as a key, however escaped. */
const isTokenKey = (frame: Uint8Array, start: number, end: number): boolean => {
  if (end - start === 7) {
    return frame[start + 1] === 0x74 && frame[start + 2] === 0x6f && frame[start + 3] === 0x6b && frame[start + 4] === 0x65 &&
      frame[start + 5] === 0x6e
  }
  let escaped = false
  for (let index = start + 1; index < end - 1 && !escaped; index++) escaped = frame[index] === 0x5c
  if (!escaped) return false
  try {
    return JSON.parse(Buffer.from(frame.buffer, frame.byteOffset + start, end - start).toString("latin1")) === "token"
  } catch {
    return false
  }
}

/**
 * The byte version of `maskTopLevelToken` for the common frame (ASCII, on one line), over
 * `frame[start, end)`: fills `spans` with the start and end of the value of every top-level
 * `token`, and answers true; false sends the frame to the text path (non-ASCII, a line break,
 * anything this scanner does not follow).
 */
export const tokenValueSpans = (frame: Uint8Array, spans: Array<number>, start = 0, end = frame.length): boolean => {
  spans.length = 0
  let index = skipByteSpace(frame, start, end)
  if (index >= end || frame[index] !== 0x7b) return false
  index++
  for (;;) {
    index = skipByteSpace(frame, index, end)
    if (index >= end) return false
    if (frame[index] === 0x7d) break
    if (frame[index] !== 0x22) return false
    const keyEnd = byteStringEnd(frame, index, end)
    if (keyEnd < 0) return false
    const isToken = isTokenKey(frame, index, keyEnd)
    index = skipByteSpace(frame, keyEnd, end)
    if (index >= end || frame[index] !== 0x3a) return false
    index = skipByteSpace(frame, index + 1, end)
    const valueEnd = byteValueEnd(frame, index, end)
    if (valueEnd < 0) return false
    if (isToken) spans.push(index, valueEnd)
    index = skipByteSpace(frame, valueEnd, end)
    if (index >= end) return false
    const separator = frame[index]
    if (separator === 0x2c) {
      index++
      continue
    }
    if (separator === 0x7d) break
    return false
  }
  return skipByteSpace(frame, index + 1, end) === end
}

const maskedBytes = Buffer.from(`"${maskedToken}"`)

/** Copies `frame[start, end)` into `out` with the value spans replaced by the mask. */
export const copyMasked = (out: LineBuffer, frame: Uint8Array, spans: ReadonlyArray<number>, start = 0, end = frame.length): void => {
  let from = start
  for (let index = 0; index < spans.length; index += 2) {
    out.copy(frame, from, spans[index]!)
    out.copy(maskedBytes, 0, maskedBytes.length)
    from = spans[index + 1]!
  }
  out.copy(frame, from, end)
}

const quotedCache = new Map<string, string>()
/** JSON text of a short string of a small vocabulary (transports, reasons), made once. */
const quoted = (value: string): string => {
  let text = quotedCache.get(value)
  if (text === undefined) {
    text = JSON.stringify(value)
    if (quotedCache.size < 64) quotedCache.set(value, text)
  }
  return text
}

/**
 * The same line as `journalLine`, made into `out`. `frame` is the frame's bytes to mask (the fast
 * path: `frame[start, end)` with the token spans found by `tokenValueSpans`), or its JSON text
 * already masked, or undefined (left out).
 */
export const appendJournalLine = (
  out: LineBuffer,
  entry: Omit<JournalEntry, "frame" | "atMs">,
  time: string,
  frame: Uint8Array | string | undefined,
  spans: ReadonlyArray<number>,
  start = 0,
  end = frame === undefined ? 0 : frame.length
): void => {
  const head = `{"time":"${time}","transport":${quoted(entry.transport)},"source":${entry.source === null ? "null" : JSON.stringify(entry.source)},` +
    `"result":"${entry.result}"${entry.reason === undefined ? "" : `,"reason":${quoted(entry.reason)}`},"bytes":${entry.bytes}`
  if (frame === undefined) {
    out.text(head + "}\n")
    return
  }
  if (typeof frame === "string") {
    out.text(head + `,"frame":${frame}}\n`)
    return
  }
  out.text(head + `,"frame":`)
  copyMasked(out, frame, spans, start, end)
  out.endLine()
}
