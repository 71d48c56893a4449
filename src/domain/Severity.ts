import { Schema } from "effect"

/** Alerta's severity names: the ones alerta and notify_devilry know. Others are passed on with a warning. */
export const knownSeverities = [
  "security",
  "critical",
  "major",
  "minor",
  "warning",
  "indeterminate",
  "informational",
  "normal",
  "ok",
  "cleared",
  "debug",
  "trace",
  "unknown"
] as const

/**
 * A severity as configured: any non-empty string. The deployed receiver passes whatever the
 * configuration says to alerta, which decides what it knows (SPEC 6); so do we.
 */
export const Severity = Schema.String.check(Schema.isMinLength(1))
export type Severity = string

export const isKnownSeverity = (severity: string): boolean => (knownSeverities as ReadonlyArray<string>).includes(severity)

/** Used for timeouts and not_registered when neither the resource nor its client names one. */
export const defaultAlertSeverity: Severity = "critical"
