/**
 * A usable heartbeat timeout, in minutes: one second's worth to one year (issue 13.2). Past a year
 * deadlines leave the range dates can show; under a second a resource is stale before it is seen.
 */
export const minTimeoutMinutes = 1 / 60
export const maxTimeoutMinutes = 365 * 24 * 60

export const isUsableTimeout = (minutes: number): boolean =>
  minutes >= minTimeoutMinutes && minutes <= maxTimeoutMinutes

const numericText = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/

/**
 * A number, or a string that reads as one ("5", " 1.5 "), as the deployed receiver's `int()` and
 * `float()` take them; anything else is undefined.
 */
export const numberFrom = (value: unknown): number | undefined =>
  typeof value === "number" ? value : typeof value === "string" && numericText.test(value) ? Number(value) : undefined
