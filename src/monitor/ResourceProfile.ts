import type { ClientConfig, ResourceConfig } from "../config/ReceiverConfig.ts"
import { defaultAlertSeverity, type Severity } from "../domain/Severity.ts"

/**
 * What the configuration says about one resource, resolved once per configuration load so the
 * per-heartbeat path reads plain fields. A resource discovered from heartbeats gets its client's
 * defaults and `configured: false`.
 */
export interface ResourceProfile {
  readonly client: string
  readonly resource: string
  readonly configured: boolean
  readonly clientTimeoutMinutes: number
  /** Resource's severity, else the client's, else critical. */
  readonly severity: Severity
  readonly service: string
  readonly environment: string | undefined
  readonly location: string | undefined
  /** Longest a started run may take before it counts as a timeout (`max_runtime`); undefined: no limit. */
  readonly maxRuntimeMinutes?: number | undefined
  /**
   * Set when the resource's client was removed from the configuration, to that moment (receiver's
   * timeline): the resource is kept without alerts (`client_removed`) until the retention is over.
   */
  readonly clientRemovedAtMs?: number | undefined
}

export const defaultService = "heartbeat"

/** One string per resource, for maps keyed by resource across clients. */
export const resourceKey = (client: string, resource: string): string => `${client}\u0000${resource}`

export const profileFor = (
  client: ClientConfig,
  resource: string,
  settings: ResourceConfig | undefined = client.resources.get(resource)
): ResourceProfile => ({
  client: client.name,
  resource,
  configured: settings !== undefined,
  clientTimeoutMinutes: client.timeoutMinutes,
  severity: settings?.severity ?? client.severity ?? defaultAlertSeverity,
  service: settings?.service ?? defaultService,
  environment: settings?.environment,
  location: settings?.location,
  maxRuntimeMinutes: settings?.maxRuntimeMinutes ?? client.maxRuntimeMinutes
})

/** The profile of a resource whose client the configuration removed at `atMs` (kept as it was, alerts off). */
export const clientRemoved = (profile: ResourceProfile, atMs: number): ResourceProfile =>
  profile.clientRemovedAtMs === undefined ? { ...profile, clientRemovedAtMs: atMs } : profile

/**
 * A resource an earlier run stored whose client is no longer configured: known by its names only
 * (kept as `client_removed` until the retention is over).
 */
export const formerClientProfile = (client: string, resource: string): ResourceProfile => ({
  client,
  resource,
  configured: false,
  clientTimeoutMinutes: 0,
  severity: defaultAlertSeverity,
  service: defaultService,
  environment: undefined,
  location: undefined
})

export const sameProfile = (a: ResourceProfile, b: ResourceProfile): boolean =>
  a.client === b.client && a.resource === b.resource && a.configured === b.configured &&
  a.clientTimeoutMinutes === b.clientTimeoutMinutes && a.severity === b.severity && a.service === b.service &&
  a.environment === b.environment && a.location === b.location && a.maxRuntimeMinutes === b.maxRuntimeMinutes &&
  a.clientRemovedAtMs === b.clientRemovedAtMs
