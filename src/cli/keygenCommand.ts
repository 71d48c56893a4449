import * as Effect from "effect/Effect"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import { switchFlag } from "./flagHelp.ts"

/**
 * `heartbeat-mesh keygen PATH`: a fresh CURVE key pair in `PATH.key` (both keys, mode 0600: the
 * receiver's `curve.secret_key_file`, a sender's `curve_key_file`) and `PATH.pub` (the public key
 * alone, to hand out: senders' `curve_server_key`, receivers' `clients.<name>.curve_public_key`).
 * Prints the public key. Existing files are kept unless --force.
 */
export const keygenCommand = Command.make(
  "keygen",
  {
    path: Argument.String("PATH").pipe(
      Argument.withDescription("where to write: PATH.key (secret, mode 0600) and PATH.pub (public), e.g. /etc/heartbeat-mesh/curve")
    ),
    force: switchFlag("force", "overwrite existing key files")
  },
  (flags) =>
    Effect.gen(function*() {
      const { writeKeyPair } = yield* Effect.promise(() => import("../support/curveKeys.ts"))
      const written = yield* Effect.tryPromise({
        try: () => writeKeyPair(flags.path, flags.force),
        catch: (error) => new Error((error as Error).message)
      })
      process.stdout.write(`${written.publicKey}\n`)
      process.stderr.write(`wrote ${written.secretFile} (keep it secret) and ${written.publicFile}\n`)
    })
).pipe(Command.withDescription("Write a CURVE key pair for the encrypted ZeroMQ transport (PATH.key, PATH.pub)"))
