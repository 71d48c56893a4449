import { Clock, Effect, Layer } from "effect"
import { loadReceiverConfig } from "../config/ReceiverConfig.ts"
import { Events } from "../domain/Notification.ts"
import { receiverNotification } from "../monitor/notifications.ts"
import { NotifierError } from "./Channel.ts"
import { Channels } from "./Channel.ts"
import { layerChannels } from "./channels.ts"
import { layerNotifyDevilry, layerStdout } from "./Notifier.ts"
import { retrySchedule } from "./Outbox.ts"
import { layerChannelRuntime } from "./platform.ts"

export interface NotifyTestOptions {
  readonly configPath: string
  /** Required when several channels are configured. */
  readonly channel: string | undefined
  readonly forceSend: boolean
}

/**
 * Sends one test notification through one channel, with that channel's time limit and retries.
 * Succeeds with a one-line report; fails (status 1) naming the channel and the reason.
 */
export const sendTestNotification = (options: NotifyTestOptions) =>
  Effect.gen(function*() {
    const config = yield* loadReceiverConfig(options.configPath)
    const notifier = config.notifier === "stdout"
      ? layerStdout
      : layerNotifyDevilry({ command: config.notifyDevilryCmd, forceSend: options.forceSend, timeoutMs: config.notifyDevilryTimeoutMs })
    const channels = layerChannels(config, { forceSend: options.forceSend, notifierOnly: false }).pipe(
      Layer.provide(notifier),
      Layer.provide(layerChannelRuntime)
    )
    return yield* Effect.gen(function*() {
      const { all } = yield* Channels
      const names = all.map((channel) => channel.name)
      const channel = options.channel === undefined && all.length === 1
        ? all[0]!
        : all.find((candidate) => candidate.name === options.channel)
      if (channel === undefined) {
        return yield* Effect.fail(
          new Error(
            options.channel === undefined
              ? `several channels are configured; choose one with --channel (${names.join(", ")})`
              : `no channel named ${options.channel} in ${options.configPath} (channels: ${names.join(", ")})`
          )
        )
      }
      const notification = receiverNotification(Events.activityOk, config.receiver, {
        severity: "informational",
        value: "test",
        text: `Test notification from heartbeat-mesh notify-test on receiver ${config.receiver.name} ` +
          `through channel ${channel.name} (${channel.type}); nothing is wrong`
      })
      const id = `notify-test-${(yield* Clock.currentTimeMillis).toString(36)}`
      const started = yield* Clock.currentTimeMillis
      let attempts = 0
      yield* Effect.suspend(() => {
        attempts++
        return channel.transport.send(notification, { id })
      }).pipe(
        Effect.timeoutOrElse({
          duration: channel.settings.attemptTimeoutMs,
          orElse: () => Effect.fail(new NotifierError({ reason: `no answer within ${channel.settings.attemptTimeoutMs} ms` }))
        }),
        Effect.retry({ schedule: retrySchedule(channel.settings.retry), times: channel.settings.retry.retries }),
        Effect.mapError((error) =>
          new Error(`test notification not delivered through channel ${channel.name} (${channel.type}) after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${error.reason}`)
        )
      )
      const tookMs = (yield* Clock.currentTimeMillis) - started
      return `test notification ${id} delivered through channel ${channel.name} (${channel.type}) in ${tookMs} ms, ${attempts} attempt${attempts === 1 ? "" : "s"}`
    }).pipe(Effect.provide(channels), Effect.scoped)
  })
