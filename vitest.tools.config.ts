import { defineConfig } from "vitest/config"

// `npm run check:tools`: checks that need a system tool (systemd-analyze, promtool, libfaketime, lintian, BIND 9's named). .ci/run installs
// those tools with apt and runs this after `npm test`; `npm test` itself needs nothing but `npm ci`.
export default defineConfig({
  test: {
    include: ["test/tools/**/*.check.ts"],
    testTimeout: 60_000,
    pool: "forks"
  }
})
