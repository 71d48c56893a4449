import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { defaultReceiverConfigPath } from "./receiverCommand.ts"

/**
 * `heartbeat-mesh notify-test --channel NAME [--config FILE]`: sends one test notification through
 * one channel of receiver.yaml (with its time limit and retries) and says how it went. Status 1
 * when it was not delivered. Its code is loaded only when this command runs.
 */
export const notifyTestCommand = Command.make(
  "notify-test",
  {
    config: Flag.String("config").pipe(
      Flag.withDefault(defaultReceiverConfigPath),
      Flag.withDescription("receiver.yaml whose channels to use")
    ),
    channel: Flag.String("channel").pipe(
      Flag.optional,
      Flag.withDescription("the channel to test (a name under channels:; without channels: notify_devilry or stdout)")
    ),
    forceSend: Flag.Boolean("force-send").pipe(
      Flag.withDefault(false),
      Flag.withDescription("pass --force-send to notify_devilry")
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const { sendTestNotification } = yield* Effect.promise(() => import("../notify/notifyTest.ts"))
      const report = yield* sendTestNotification({
        configPath: flags.config,
        channel: Option.getOrUndefined(flags.channel),
        forceSend: flags.forceSend
      })
      process.stderr.write(`${report}\n`)
    })
).pipe(Command.withDescription("Send one test notification through a channel of receiver.yaml"))
