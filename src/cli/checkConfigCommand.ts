import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { readFileSync } from "node:fs"
import { maskSecrets } from "../config/maskSecrets.ts"
import { envVar, fromEnv, help } from "./flagHelp.ts"

const kinds = ["receiver", "sender"] as const
type Kind = typeof kinds[number]

/** receiver.yaml has `clients:`, sender.yaml has `receivers:`; otherwise the file name decides. */
const guessKind = (path: string, text: string): Kind =>
  /^clients\s*:/m.test(text) ? "receiver" : /^receivers\s*:/m.test(text) ? "sender" : /sender/i.test(path) ? "sender" : "receiver"

/**
 * `heartbeat-mesh check-config FILE`: validates a receiver.yaml or sender.yaml with the loaders the
 * receiver and sender use, and prints the effective configuration (defaults applied, secrets masked)
 * as JSON on stdout. Exit status 0 when valid, 1 with every problem listed when not.
 */
export const checkConfigCommand = Command.make(
  "check-config",
  {
    file: Argument.String("FILE").pipe(Argument.withDescription("the receiver.yaml or sender.yaml to check")),
    kind: Flag.Literals("kind", kinds).pipe(
      fromEnv(Config.Literals(kinds, envVar("kind"))),
      Flag.optional,
      help("kind", "which file it is", "from its keys: clients (receiver) or receivers (sender)")
    )
  },
  (flags) =>
    Effect.gen(function*() {
      let text: string
      try {
        text = readFileSync(flags.file, "utf8")
      } catch (error) {
        return yield* Effect.fail(new Error(`${flags.file}: cannot read the file: ${(error as Error).message}`))
      }
      const kind = Option.getOrElse(flags.kind, () => guessKind(flags.file, text))
      const config: object = kind === "receiver"
        ? yield* Effect.flatMap(
          Effect.promise(() => import("../config/ReceiverConfig.ts")),
          ({ loadReceiverConfig }) => loadReceiverConfig(flags.file)
        )
        : yield* Effect.flatMap(
          Effect.promise(() => import("../config/SenderConfig.ts")),
          ({ loadSenderConfig }) => loadSenderConfig(flags.file)
        )
      process.stdout.write(`${JSON.stringify({ file: flags.file, kind, valid: true, config: maskSecrets(config) }, null, 2)}\n`)
    }).pipe(
      Effect.catchTag("ConfigFileError", (error) =>
        Effect.sync(() => {
          process.stderr.write(`${error.message.replace(/, (the receiver will not start|nothing was sent):/, ":")}\n`)
          process.exitCode = 1
        }))
    )
).pipe(Command.withDescription("Validate a receiver.yaml or sender.yaml and print the effective configuration (secrets masked)"))
