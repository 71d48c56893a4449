import * as Effect from "effect/Effect"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import { switchFlag } from "./flagHelp.ts"

/** Longest password read: more is refused (scrypt would take it, but nobody types this much). */
const maxPasswordBytes = 4096

/** Reads one line from a terminal with echo off; Ctrl-C or Ctrl-D ends the command. */
const promptHidden = (prompt: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const input = process.stdin
    process.stderr.write(prompt)
    input.setRawMode(true)
    input.resume()
    input.setEncoding("utf8")
    let typed = ""
    const finish = (outcome: () => void) => {
      input.off("data", onData)
      input.setRawMode(false)
      input.pause()
      process.stderr.write("\n")
      outcome()
    }
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n") return finish(() => resolve(typed))
        if (char === "\u0003" || char === "\u0004") return finish(() => reject(new Error("cancelled")))
        if (char === "\u007f" || char === "\b") typed = [...typed].slice(0, -1).join("")
        else if (char >= " ") typed += char
        if (typed.length > maxPasswordBytes) return finish(() => reject(new Error(`a password is at most ${maxPasswordBytes} characters`)))
      }
    }
    input.on("data", onData)
  })

/** Reads stdin to its end and takes the first line (a trailing CR/LF is not part of the password). */
const readPiped = (): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    process.stdin.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > maxPasswordBytes + 2) {
        process.stdin.destroy()
        reject(new Error(`a password is at most ${maxPasswordBytes} bytes`))
      } else chunks.push(chunk)
    })
    process.stdin.on("end", () => resolve((Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0]) ?? ""))
    process.stdin.on("error", reject)
  })

const readPassword = async (user: string): Promise<string> => {
  if (process.stdin.isTTY !== true) return readPiped()
  const first = await promptHidden(`New password for ${user}: `)
  const again = await promptHidden("Again: ")
  if (first !== again) throw new Error("the two passwords differ; nothing printed")
  return first
}

/**
 * `heartbeat-mesh passwd USER`: the password hash line for `users.USER` in receiver.yaml. The
 * password is asked on the terminal with echo off (twice), or read from stdin when that is not a
 * terminal (`... | heartbeat-mesh passwd alice`); it is never an argument, never logged. With
 * --token, a new random API token instead: the digest line to paste on stdout, the token once
 * on stderr.
 */
export const passwdCommand = Command.make(
  "passwd",
  {
    user: Argument.String("USER").pipe(Argument.withDescription("the user's name under users: in receiver.yaml")),
    token: switchFlag("token", "make a new API token for USER instead of a password hash")
  },
  (flags) =>
    Effect.gen(function*() {
      const { hashPassword, newApiToken, tokenDigest } = yield* Effect.promise(() => import("../support/passwordHash.ts"))
      if (flags.token) {
        const token = newApiToken()
        process.stdout.write(`api_tokens: ["${tokenDigest(token)}"]\n`)
        process.stderr.write(
          `the new API token of ${flags.user} (shown once, not stored anywhere; send it as Authorization: Bearer ...):\n${token}\n` +
            `add the digest above to users.${flags.user}.api_tokens in receiver.yaml\n`
        )
        return
      }
      const password = yield* Effect.tryPromise({ try: () => readPassword(flags.user), catch: (error) => new Error((error as Error).message) })
      if (password === "") return yield* Effect.fail(new Error("empty password; nothing printed"))
      const hash = yield* Effect.promise(() => hashPassword(password))
      process.stdout.write(`password: "${hash}"\n`)
      if (process.stdin.isTTY === true) process.stderr.write(`paste it under users.${flags.user} in receiver.yaml\n`)
    })
).pipe(Command.withDescription("Print the password hash line (or, with --token, a new API token's digest) for users: in receiver.yaml"))
