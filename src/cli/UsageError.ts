import * as Data from "effect/Data"

/**
 * Bad usage found by a command itself (a value out of range, a missing companion flag): one line on
 * stderr with a hint to --help, exit status 2, like a flag the parser refused.
 */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
  /** The command, for the hint: `heartbeat-mesh sender`. */
  readonly command: string
}> {}

/** `heartbeat-mesh: <what is wrong> (see 'heartbeat-mesh sender --help')`: always one line. */
export const usageLine = (message: string, command: string) => {
  // A bad value from the environment names the variable rather than the flag.
  const fromEnv = /Invalid value for flag (--[\w-]+).*SchemaError\((.*)\s+at \["(HEARTBEAT_MESH_\w+)"\]/s.exec(message)
  const what = fromEnv !== null
    ? `${fromEnv[3]} (for ${fromEnv[1]}): ${fromEnv[2]!.trim().replace(/^Expected/, "expected")}`
    : message.replace(/\s*\n\s*/g, " ").trim()
  return `heartbeat-mesh: ${what} (see '${command} --help')`
}
