import { Clock, Effect } from "effect"
const N = 100_000
const gc = () => { (globalThis as any).gc(); (globalThis as any).gc() }
const fibers: any[] = []
const measure = async (label: string, make: () => void) => {
  gc(); const before = process.memoryUsage()
  make()
  await new Promise((r) => setTimeout(r, 200))
  gc(); const after = process.memoryUsage()
  console.log(label, "heap/fiber", Math.round((after.heapUsed - before.heapUsed) / N))
  for (const f of fibers) f.interruptUnsafe(); fibers.length = 0
  await new Promise((r) => setTimeout(r, 100))
}
// Parallel-array min-heap of (due, actor); the timer fiber itself is not part of this measurement.
const dues: number[] = []; const owners: any[] = []
const push = (due: number, owner: any) => { dues.push(due); owners.push(owner); let i = dues.length - 1; while (i > 0) { const p = (i - 1) >> 1; if (dues[p]! <= dues[i]!) break; [dues[p], dues[i]] = [dues[i]!, dues[p]!]; [owners[p], owners[i]] = [owners[i], owners[p]]; i = p } }
type Actor = { resume: ((e: Effect.Effect<void>) => void) | undefined; wakeAt: number }
const wait = (actor: Actor) => Effect.callback<void>((resume) => { actor.resume = resume })
const loop = (actor: Actor): Effect.Effect<void> => Effect.flatMap(Clock.currentTimeMillis, (now) => {
  actor.wakeAt = now + 3_600_000
  push(actor.wakeAt, actor)
  return Effect.flatMap(wait(actor), () => loop(actor))
})
const supervised = (actor: Actor): Effect.Effect<void> => loop(actor).pipe(Effect.catchDefect(() => supervised(actor)))
await measure("runFork heap-timer loop + catchDefect", () => { for (let i = 0; i < N; i++) fibers.push(Effect.runFork(supervised({ resume: undefined, wakeAt: 0 }))) })
process.exit(0)
