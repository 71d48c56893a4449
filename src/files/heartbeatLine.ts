import type { Payload } from "../domain/Heartbeat.ts"
import { utcStamp } from "./fileNames.ts"
import { pythonJson, pythonNumber, pythonString } from "./pythonJson.ts"

/**
 * One heartbeat as the deployed receiver wrote it to its files, byte for byte as Python's
 * `json.dumps` makes it, minus the token: `{"utc": "YYYY-MM-DD HH:MM:SS", "resource": ...,
 * "payload": ..., "timeout": ...}` in that order. `payload` is null when the heartbeat had none (or
 * null); `timeout` is the heartbeat's own timeout in minutes as the receiver uses it, null when the
 * client's default applies. The current file holds one such line without a newline, the history
 * file one per heartbeat, each followed by a newline (as json.dump and write("\n") left them).
 */
export const heartbeatLine = (
  resource: string,
  receivedMs: number,
  payload: Payload | null | undefined,
  timeoutMinutes: number | null | undefined
): string =>
  `{"utc": "${utcStamp(receivedMs)}", "resource": ${pythonString(resource)}, "payload": ${
    payload === undefined || payload === null ? "null" : pythonJson(payload)
  }, "timeout": ${timeoutMinutes === undefined || timeoutMinutes === null ? "null" : pythonNumber(timeoutMinutes)}}`
