import { isUtf8 } from "node:buffer"
import { type HeartbeatRepair, interpretHeartbeat, type WireHeartbeat } from "../domain/Heartbeat.ts"

/** Why a frame was dropped: each is counted separately (`heartbeats_rejected_total{reason}`). */
export const rejectReasons = [
  "multipart",
  "oversized",
  "invalid_utf8",
  "not_json",
  "not_object",
  "invalid_field",
  "lone_surrogate",
  "forbidden_character",
  "payload_too_deep",
  "payload_too_large",
  "unknown_token",
  // A valid token, but a new resource past its client's limits (routing/NewResourceLimit.ts).
  "new_resource_limit"
] as const
export type RejectReason = (typeof rejectReasons)[number]

export { type HeartbeatRepair, heartbeatRepairs } from "../domain/Heartbeat.ts"

export interface Rejection {
  readonly reason: RejectReason
  /** Safe to log: never contains the frame's token or raw bytes. */
  readonly detail: string
  /** The frame asked for an answer (`"ack": true`, UDP): set when it was a JSON object. */
  readonly ack?: boolean
}

export type Decoded =
  | {
    readonly ok: true
    readonly heartbeat: WireHeartbeat
    /** What could not be used as sent (an unusable timeout, an unclear deregister): counted once accepted. */
    readonly repairs: ReadonlyArray<HeartbeatRepair>
    /** The frame asked for an answer (`"ack": true`, UDP senders); other transports ignore it. */
    readonly ack: boolean
  }
  | { readonly ok: false; readonly rejection: Rejection }

/** Frames above this are dropped unread; heartbeats are ~150 bytes, payloads a few KiB. */
export const defaultMaxFrameBytes = 64 * 1024

const reject = (reason: RejectReason, detail: string): Decoded => ({ ok: false, rejection: { reason, detail } })

/**
 * Turns one ZeroMQ message (its frames) into a heartbeat read as the deployed receiver reads it,
 * or says why not. Pure: no I/O, no clock; the caller authenticates the token.
 */
export const decodeFrames = (frames: ReadonlyArray<Uint8Array>, maxFrameBytes = defaultMaxFrameBytes): Decoded => {
  if (frames.length !== 1) return reject("multipart", `message has ${frames.length} frames, expected 1`)
  const frame = frames[0]!
  if (frame.byteLength > maxFrameBytes) {
    return reject("oversized", `frame of ${frame.byteLength} bytes exceeds ${maxFrameBytes}`)
  }
  const bytes = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
  // Decoding would turn invalid bytes into U+FFFD, merging distinct names: refuse them instead.
  if (!isUtf8(bytes)) return reject("invalid_utf8", `frame of ${frame.byteLength} bytes is not valid UTF-8`)
  const text = bytes.toString("utf8")
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return reject("not_json", `frame of ${frame.byteLength} bytes is not JSON`)
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return reject("not_object", `frame is JSON ${parsed === null ? "null" : Array.isArray(parsed) ? "array" : typeof parsed}, expected an object`)
  }
  // `ack` (UDP senders that want an answer) is not part of the heartbeat; other transports ignore it.
  const ack = (parsed as { ack?: unknown }).ack === true
  const interpreted = interpretHeartbeat(parsed as Record<string, unknown>, text)
  if (!interpreted.ok) return { ok: false, rejection: { reason: interpreted.problem, detail: interpreted.detail, ack } }
  return { ok: true, heartbeat: interpreted.heartbeat, repairs: interpreted.repairs, ack }
}
