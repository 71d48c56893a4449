/** The receiver's clock settings (SPEC 3), all in milliseconds. */
export interface MonitorTiming {
  /** How often activity is checked and a stale resource's timeout is repeated. */
  readonly checkIntervalMs: number
  /** Slack added to every timeout before a resource counts as stale. */
  readonly jitterMs: number
  /** After start: no activity, new or comeback events, no timeouts. */
  readonly graceMs: number
  /** How often ok / registered / not_registered / config_* are re-asserted. */
  readonly rareCheckIntervalMs: number
  /**
   * How long the resources of a client removed from the configuration are kept (no alerts, status
   * `client_removed`) so that adding the client back restores them; then they are forgotten.
   */
  readonly removedClientRetentionMs: number
}

export const minuteMs = 60_000
export const dayMs = 86_400_000

/**
 * The deployed version's defaults: check 60 s, jitter 60 s, grace 70 s, rare checks 30 min; and
 * ours: a removed client's resources are kept 7 days.
 */
export const defaultTiming: MonitorTiming = {
  checkIntervalMs: 60_000,
  jitterMs: 60_000,
  graceMs: 70_000,
  rareCheckIntervalMs: 1_800_000,
  removedClientRetentionMs: 7 * dayMs
}
