import type { SenderTarget } from "../config/SenderConfig.ts"

// JSON.rawJSON (Node 21+, not in the ES2024 lib types): puts a number's digits into JSON.stringify
// as written, beyond what a float holds (12345678901234567890).
const rawJson = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON

/**
 * The wire heartbeat (SPEC 1) for one receiver, field for field what the deployed sender sends:
 * `token`, `resource`, `timeout` in minutes when configured, `payload` with `uptime` (whole
 * seconds) unless disabled, one string per payload command, and with plugins (issue 20)
 * `metrics` (per plugin) and `checks` (`{level, value, text}` per check): the deployed receiver
 * takes any payload object, so these travel as ordinary payload entries.
 */
export const buildHeartbeat = (
  target: SenderTarget,
  hostName: string,
  uptimeSeconds: number | undefined,
  commandValues: ReadonlyMap<string, string>,
  plugins?: { readonly metrics: Record<string, unknown>; readonly checks: Record<string, unknown> }
): Record<string, unknown> => {
  const payload: Record<string, unknown> = {}
  if (target.uptimePayload && uptimeSeconds !== undefined) payload["uptime"] = uptimeSeconds
  for (const command of target.payload) payload[command.name] = commandValues.get(command.name)
  if (plugins !== undefined) {
    payload["metrics"] = plugins.metrics
    payload["checks"] = plugins.checks
  }
  return {
    // An unquoted all-digit YAML token goes out as a JSON number, as the deployed sender sends it
    // (the deployed receiver compares it as a number).
    token: target.tokenNumber === undefined ? target.token : rawJson(target.tokenNumber),
    resource: target.resource ?? hostName,
    ...(target.timeoutMinutes === undefined ? {} : { timeout: target.timeoutMinutes }),
    payload
  }
}

export const buildDeregistration = (resource: string, token: string): Record<string, unknown> => ({
  token,
  resource,
  deregister: true
})
