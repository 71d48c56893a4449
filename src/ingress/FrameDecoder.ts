import { Result } from "effect"
import { validateHeartbeat, type WireHeartbeat } from "../domain/Heartbeat.ts"

/** Why a frame was dropped: each is counted separately. */
export const rejectReasons = [
  "multipart",
  "oversized",
  "not_json",
  "not_object",
  "invalid_field",
  "unknown_token"
] as const
export type RejectReason = (typeof rejectReasons)[number]

export interface Rejection {
  readonly reason: RejectReason
  /** Safe to log: never contains the frame's token or raw bytes. */
  readonly detail: string
  /** The frame asked for an answer (`"ack": true`, UDP): set when it was a JSON object. */
  readonly ack?: boolean
}

export type Decoded =
  | { readonly ok: true; readonly heartbeat: WireHeartbeat; readonly ack: boolean }
  | { readonly ok: false; readonly rejection: Rejection }

/** Frames above this are dropped unread; heartbeats are ~150 bytes, payloads a few KiB. */
export const defaultMaxFrameBytes = 64 * 1024

const reject = (reason: RejectReason, detail: string): Decoded => ({ ok: false, rejection: { reason, detail } })

/**
 * Turns one ZeroMQ message (its frames) into a validated heartbeat, or says why not.
 * Pure: no I/O, no clock; the caller authenticates the token.
 */
export const decodeFrames = (frames: ReadonlyArray<Uint8Array>, maxFrameBytes = defaultMaxFrameBytes): Decoded => {
  if (frames.length !== 1) return reject("multipart", `message has ${frames.length} frames, expected 1`)
  const frame = frames[0]!
  if (frame.byteLength > maxFrameBytes) {
    return reject("oversized", `frame of ${frame.byteLength} bytes exceeds ${maxFrameBytes}`)
  }
  let parsed: unknown
  try {
    const text = Buffer.isBuffer(frame)
      ? frame.toString("utf8")
      : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString("utf8")
    parsed = JSON.parse(text)
  } catch {
    return reject("not_json", `frame of ${frame.byteLength} bytes is not JSON`)
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return reject("not_object", `frame is JSON ${parsed === null ? "null" : Array.isArray(parsed) ? "array" : typeof parsed}, expected an object`)
  }
  // `ack` (UDP senders that want an answer) is not part of the heartbeat; other transports ignore it.
  const ack = (parsed as { ack?: unknown }).ack === true
  const validated = validateHeartbeat(parsed)
  if (Result.isFailure(validated)) return { ok: false, rejection: { reason: "invalid_field", detail: validated.failure, ack } }
  return { ok: true, heartbeat: validated.success, ack }
}
