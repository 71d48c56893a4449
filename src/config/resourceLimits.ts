import * as Schema from "effect/Schema"
import { expected } from "./configValues.ts"

/**
 * How many resources one client (one token) may bring (issue 13): a leaked token or a broken
 * sender naming each heartbeat differently must not grow the receiver's memory, state.db and
 * notifications without end.
 */
export interface ResourceLimits {
  /** New resources per client per minute, a burst of this many at once (a fleet's first start). */
  readonly newPerMinute: number
  /** Resources per client in all (heard, configured or kept); past it new names are refused. */
  readonly maxPerClient: number
}

/**
 * Sized for the fleets the receiver is built for (a million resources; 100,000 for one client in
 * the dashboard's test and the reads benchmark): a fleet's first start passes at once, while a
 * flood of invented names is held to 100,000 a minute and one client to a million resources.
 */
export const defaultResourceLimits: ResourceLimits = { newPerMinute: 100_000, maxPerClient: 1_000_000 }

const wholeNumber = (maximum: number) => {
  const message = `expected a whole number from 1 to ${maximum}`
  return Schema.Number.annotate(expected(message)).check(
    Schema.makeFilter((value: number) => Number.isInteger(value) && value >= 1 && value <= maximum ? undefined : message)
  )
}

/** The receiver.yaml keys, top level: `new_resources_per_minute`, `max_resources_per_client`. */
export const resourceLimitFields = {
  new_resources_per_minute: Schema.optionalKey(wholeNumber(100_000_000)),
  max_resources_per_client: Schema.optionalKey(wholeNumber(100_000_000))
}

export const resourceLimitsFrom = (yaml: {
  readonly new_resources_per_minute?: number
  readonly max_resources_per_client?: number
}): ResourceLimits => ({
  newPerMinute: yaml.new_resources_per_minute ?? defaultResourceLimits.newPerMinute,
  maxPerClient: yaml.max_resources_per_client ?? defaultResourceLimits.maxPerClient
})
