import { Schema } from "effect"

/** Alerta's severity names: what notify_devilry and alerta accept. */
export const severities = [
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

export const Severity = Schema.Literals(severities)
export type Severity = typeof Severity.Type

/** Used for timeouts and not_registered when neither the resource nor its client names one. */
export const defaultAlertSeverity: Severity = "critical"
