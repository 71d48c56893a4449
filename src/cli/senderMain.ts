// The sender on its own, for the bundle (npm run dist: heartbeat-mesh-sender.mjs, and the
// heartbeat-mesh-sender command of the .deb): `heartbeat-mesh-sender [flags]` takes the flags of
// `heartbeat-mesh sender`, with the same usage errors, variables and logs, and nothing else.
// The plain cron run (`[--config FILE]`, see plainSenderRun.ts) skips effect's command-line parser;
// everything else loads it. Each side is imported only when taken, so the bundle evaluates one.
import { plainSenderRun } from "./plainSenderRun.ts"

const plain = plainSenderRun(process.argv.slice(2), process.env)
if (plain !== undefined) {
  const { runPlainSender } = await import("./runPlainSender.ts")
  runPlainSender(plain)
} else {
  const [Command, { LogFormatSetting, LogLevelSetting }, { runCli }, { makeSenderCommand }] = await Promise.all([
    import("effect/cli/Command"),
    import("./flagHelp.ts"),
    import("./runCli.ts"),
    import("./senderCommand.ts")
  ])
  const command = makeSenderCommand("heartbeat-mesh-sender", "heartbeat-mesh-sender")
  runCli(Command.withGlobalFlags(command, [LogLevelSetting, LogFormatSetting]))
}
