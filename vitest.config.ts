import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // End-to-end suites start real daemons and child processes: give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most suites wait on real processes, sockets and timers rather than compute: on a 2-core machine
    // vitest's default (cores - 1 = one file at a time) left the CPU idle half the run.
    maxWorkers: 2,
    sequence: { concurrent: false }
  }
})
