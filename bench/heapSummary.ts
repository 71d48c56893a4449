// What a V8 heap snapshot holds, by constructor: count and self size, largest first. Reads the file
// as bytes (a daemon's snapshot is too large for one JSON string), so it works on any size.
//   node bench/heapSummary.ts FILE.heapsnapshot [--top N]
import { readFileSync } from "node:fs"
import { flag } from "./ingestSetup.ts"

const file = process.argv[2]
if (file === undefined) throw new Error("usage: node bench/heapSummary.ts FILE.heapsnapshot [--top N]")
const top = Number(flag("--top") ?? 40)
const bytes = readFileSync(file)

const sectionStart = (name: string) => {
  const at = bytes.indexOf(`"${name}":[`)
  if (at < 0) throw new Error(`no ${name} in ${file}`)
  return at + name.length + 4
}
/** The integers of a numeric array section, parsed from the bytes. */
const numbers = (name: string): Array<number> => {
  const values: Array<number> = []
  let value = 0
  let inNumber = false
  for (let i = sectionStart(name); i < bytes.length; i++) {
    const c = bytes[i]!
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48)
      inNumber = true
    } else {
      if (inNumber) values.push(value)
      value = 0
      inNumber = false
      if (c === 93) break
    }
  }
  return values
}

const metaAt = bytes.indexOf("{\"node_fields\"")
const meta = JSON.parse(bytes.subarray(metaAt, bytes.indexOf("}", bytes.indexOf("\"location_fields\"", metaAt)) + 1).toString("utf8"))
const fields: Array<string> = meta.node_fields
const types: Array<string> = meta.node_types[0]
const nodes = numbers("nodes")
const stringsAt = sectionStart("strings") - 1
const strings: Array<string> = JSON.parse(bytes.subarray(stringsAt, bytes.lastIndexOf("]") + 1).toString("utf8"))
const [typeAt, nameAt, sizeAt] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")]

const byKind = new Map<string, { count: number; bytes: number }>()
let total = 0
for (let i = 0; i < nodes.length; i += fields.length) {
  const type = types[nodes[i + typeAt]!]!
  const name = type === "object" || type === "closure" || type === "native" ? strings[nodes[i + nameAt]!]! : ""
  const key = `${type}${name === "" ? "" : ` ${name.slice(0, 60)}`}`
  const size = nodes[i + sizeAt]!
  total += size
  const entry = byKind.get(key)
  if (entry === undefined) byKind.set(key, { count: 1, bytes: size })
  else {
    entry.count++
    entry.bytes += size
  }
}
// The first retainer of each node (its parent's kind and the edge's name): where the bytes hang.
const edges = numbers("edges")
const edgeFields: Array<string> = meta.edge_fields
const edgeTypes: Array<string> = meta.edge_types[0]
const [edgeTypeAt, edgeNameAt, edgeToAt] = [edgeFields.indexOf("type"), edgeFields.indexOf("name_or_index"), edgeFields.indexOf("to_node")]
const edgeCountAt = fields.indexOf("edge_count")
const kindOf = (i: number) => {
  const type = types[nodes[i + typeAt]!]!
  const name = type === "object" || type === "closure" || type === "native" ? strings[nodes[i + nameAt]!]! : ""
  return `${type}${name === "" ? "" : ` ${name.slice(0, 60)}`}`
}
const parentOf = new Map<number, string>()
let edgeIndex = 0
for (let i = 0; i < nodes.length; i += fields.length) {
  const count = nodes[i + edgeCountAt]!
  for (let e = 0; e < count; e++, edgeIndex += edgeFields.length) {
    const edgeType = edgeTypes[edges[edgeIndex + edgeTypeAt]!]!
    if (edgeType === "weak" || edgeType === "shortcut") continue
    const to = edges[edgeIndex + edgeToAt]!
    if (parentOf.has(to)) continue
    const rawName = edges[edgeIndex + edgeNameAt]!
    const edgeName = edgeType === "element" || edgeType === "hidden" ? `[${edgeType}]` : strings[rawName]
    parentOf.set(to, `${kindOf(i)}.${edgeName}`)
  }
}
const byRetainer = new Map<string, { count: number; bytes: number }>()
for (let i = 0; i < nodes.length; i += fields.length) {
  const key = `${kindOf(i)}  <-  ${parentOf.get(i) ?? "(root)"}`
  const size = nodes[i + sizeAt]!
  const entry = byRetainer.get(key)
  if (entry === undefined) byRetainer.set(key, { count: 1, bytes: size })
  else {
    entry.count++
    entry.bytes += size
  }
}

const rows = [...byKind.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)
console.log(`${file}: ${(total / 1024 / 1024).toFixed(1)} MB in ${nodes.length / fields.length} nodes`)
for (const [key, { count, bytes: size }] of rows) {
  console.log(`${(size / 1024 / 1024).toFixed(1).padStart(8)} MB ${String(count).padStart(9)}  ${(size / count).toFixed(0).padStart(6)} B  ${key}`)
}
console.log("\nby first retainer")
for (const [key, { count, bytes: size }] of [...byRetainer.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
  console.log(`${(size / 1024 / 1024).toFixed(1).padStart(8)} MB ${String(count).padStart(9)}  ${(size / count).toFixed(0).padStart(6)} B  ${key}`)
}
