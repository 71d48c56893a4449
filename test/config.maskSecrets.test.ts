import { describe, expect, it } from "vitest"
import { masked, maskSecrets, maskUrl } from "../src/config/maskSecrets.ts"

describe("maskUrl", () => {
  it.each([
    ["https://alerta.example.com/api", false, "https://alerta.example.com/api"],
    ["https://user:hunter2@alerta.example.com/api", false, `https://user:${masked}@alerta.example.com/api`],
    ["https://hooks.example.com/hb?token=abc&channel=ops", false, `https://hooks.example.com/hb?token=${masked}&channel=ops`],
    ["https://x.example.com/a?sig=1&api_key=2&page=3", false, `https://x.example.com/a?sig=${masked}&api_key=${masked}&page=3`],
    ["https://hooks.slack.com/services/T0/B0/XYZ?x=1", true, `https://hooks.slack.com/${masked}`],
    ["https://user:pw@hooks.example.com:8443/hb", true, `https://hooks.example.com:8443/${masked}`],
    ["smtp.example.com", false, "smtp.example.com"],
    ["not a url", true, "not a url"],
    ["mailto:ops@example.com", false, "mailto:ops@example.com"]
  ])("%s (whole path: %s)", (input, wholePath, shown) => {
    expect(maskUrl(input, wholePath)).toBe(shown)
  })
})

describe("maskSecrets", () => {
  it.each<[string, unknown, unknown]>([
    ["a token", { token: "abc" }, { token: masked }],
    ["a map by name (a client's resources), names never taken for keys", { resources: new Map([["token", { severity: "minor", password: "x" }]]) }, { resources: { token: { severity: "minor", password: masked } } }],
    ["camelCase keys", { adminToken: "a", apiKey: "b", botToken: "c", secretKey: "d", privateKey: "e" }, { adminToken: masked, apiKey: masked, botToken: masked, secretKey: masked, privateKey: masked }],
    ["snake_case keys", { api_key: "a", smtp_password: "b", passphrase: "c" }, { api_key: masked, smtp_password: masked, passphrase: masked }],
    ["a list under a secret key", { tokens: ["a", "b"] }, { tokens: masked }],
    ["an object under a secret key", { secrets: { a: "x" } }, { secrets: masked }],
    ["where a secret is read from stays", { secretKeyFile: "/etc/k", password_env: "PW" }, { secretKeyFile: "/etc/k", password_env: "PW" }],
    ["an inline secret", { apiKey: { from: "inline", value: "abc" } }, { apiKey: { from: "inline", value: masked } }],
    ["an inline webhook URL keeps its host", { url: { from: "inline", value: "https://hooks.slack.com/services/T/B/X" } }, { url: { from: "inline", value: `https://hooks.slack.com/${masked}` } }],
    ["a secret from a file", { password: { from: "file", path: "/etc/p" } }, { password: { from: "file", path: "/etc/p" } }],
    ["a secret from the environment", { token: { from: "env", name: "T" } }, { token: { from: "env", name: "T" } }],
    ["header values", { headers: [["X-Key", { from: "inline", value: "k" }]] }, { headers: [["X-Key", { from: "inline", value: masked }]] }],
    ["a plain URL with a password", { url: "https://u:p@h.example.com/" }, { url: `https://u:${masked}@h.example.com/` }],
    ["an e-mail channel's from is not a secret reference", { from: "hb@example.com", to: ["a@b.c"] }, { from: "hb@example.com", to: ["a@b.c"] }],
    ["everything else as loaded", { port: 587, enabled: true, name: "x", nothing: null }, { port: 587, enabled: true, name: "x", nothing: null }]
  ])("%s", (_, input, shown) => {
    expect(maskSecrets(input)).toEqual(shown)
  })
})
