// The sender's plain cron run (plainSenderRun.ts recognised it): the same program as the
// `sender` command's handler runs for it (runSender with the command's logging, the same exit
// statuses and lines), without effect's command-line parser.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { defaultSendTimeoutSeconds } from "../support/zmqEndpoint.ts"
import { runSender } from "../sender/runSender.ts"
import { layerLazyNodeSpawner } from "../sender/lazySpawner.ts"
import { failWithError, runMainOptions } from "./exitStatus.ts"
import { layerCliLogging } from "./logging.ts"
import type { PlainSenderRun } from "./plainSenderRun.ts"

export const runPlainSender = (plain: PlainSenderRun) =>
  runSender({ run: { kind: "config", path: plain.config }, dryRun: false, sendTimeoutSeconds: defaultSendTimeoutSeconds }).pipe(
    Effect.provide([layerCliLogging({ format: plain.logFormat, level: plain.logLevel }), layerLazyNodeSpawner]),
    Effect.catch(failWithError),
    NodeRuntime.runMain(runMainOptions)
  )
