import type { SenderTarget } from "../config/SenderConfig.ts"

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
    token: target.token,
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
