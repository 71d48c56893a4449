import { readFileSync } from "node:fs"

/**
 * Where a secret given to a command comes from. Tokens on the command line are visible to every
 * user through `ps` and /proc: a file (`--token-file`) or the environment (`HEARTBEAT_MESH_TOKEN`)
 * is preferred, and the command line still works for the deployed `--deregister ... TOKEN` form.
 */
export type TokenSource =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "value"; readonly value: string; readonly fromArgv: boolean }

export const argvWarning =
  "a token on the command line is visible to every user of this host (ps, /proc); use --token-file FILE or HEARTBEAT_MESH_TOKEN instead"

/** Reads a token file: its first line, surrounding blanks trimmed; undefined text explains a failure. */
export const readTokenFile = (path: string): { token: string } | { problem: string } => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (error) {
    return { problem: `cannot read the token file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }
  }
  const token = (text.split("\n")[0] ?? "").trim()
  return token === "" ? { problem: `the token file ${path} is empty` } : { token }
}

/** True when the flag was typed on this command line (as opposed to coming from the environment). */
export const givenOnCommandLine = (flag: string, argv: ReadonlyArray<string> = process.argv) =>
  argv.some((arg) => arg === `--${flag}` || arg.startsWith(`--${flag}=`))
