// Differential test of DCQL evaluation (OpenID4VP 1.0 §6, §7): every case of corpus.json (a
// query and decoded candidate credentials) is evaluated by vdc (`vdc dcql match`, the
// verifier's own parse and match functions, vdc_verifier::dcql::match_input) and by npm
// `dcql` 3.0.0 (openwallet-foundation-labs/dcql-ts: DcqlQuery.parse + validate, then
// DcqlQuery.query). Compared per case: whether the query is valid; when both accept it, per
// credential query the set of matching candidate indices, and can_be_satisfied.
//
// Every disagreement must be listed in known-differences.json (case, aspect, both answers and
// the spec section saying who is right); the run fails on an unlisted disagreement and on a
// listed one that no longer occurs (or whose answers changed).
//
//   VDC_BIN=/path/to/vdc node conformance/dcql/differential.mjs
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DcqlQuery } from 'dcql'

const bin = process.env.VDC_BIN
if (!bin) {
  console.error('differential.mjs: VDC_BIN (the vdc binary) is not set')
  process.exit(2)
}
const read = (name) => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8'))
const corpus = read('./corpus.json')
const known = read('./known-differences.json').differences

const sorted = (a) => [...a].sort((x, y) => x - y)

function byDcql(query, credentials) {
  let parsed
  try {
    parsed = DcqlQuery.parse(query)
    DcqlQuery.validate(parsed)
  } catch (e) {
    return { valid: false, error: String(e.message).slice(0, 300) }
  }
  let result
  try {
    result = DcqlQuery.query(parsed, credentials)
  } catch (e) {
    // A valid query the library then fails to run: its own outcome, compared as such.
    return { valid: true, threw: String(e.message).slice(0, 300) }
  }
  const matches = Object.fromEntries(
    Object.entries(result.credential_matches).map(([id, r]) => [
      id,
      sorted((r.valid_credentials ?? []).map((c) => c.input_credential_index)),
    ])
  )
  return { valid: true, matches, can_be_satisfied: result.can_be_satisfied }
}

const dir = mkdtempSync(join(tmpdir(), 'vdc-dcql-'))
function byVdc(query, credentials) {
  const file = join(dir, 'input.json')
  writeFileSync(file, JSON.stringify({ query, credentials }))
  const r = spawnSync(bin, ['dcql', 'match', '--input', file], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`vdc dcql match exited ${r.status}: ${r.stderr}`)
  const out = JSON.parse(r.stdout)
  for (const id of Object.keys(out.matches)) out.matches[id] = sorted(out.matches[id])
  return out
}

// The aspects on which the two answers differ: {aspect, vdc, dcql}.
function compare(v, d) {
  if (v.valid !== d.valid) return [{ aspect: 'valid', vdc: v.valid, dcql: d.valid }]
  if (!v.valid) return []
  if (d.threw) return [{ aspect: 'dcql-threw', vdc: v.matches, dcql: d.threw }]
  const out = []
  for (const id of new Set([...Object.keys(v.matches), ...Object.keys(d.matches)])) {
    const a = JSON.stringify(v.matches[id] ?? null)
    const b = JSON.stringify(d.matches[id] ?? null)
    if (a !== b) out.push({ aspect: `matches.${id}`, vdc: v.matches[id] ?? null, dcql: d.matches[id] ?? null })
  }
  if (v.can_be_satisfied !== d.can_be_satisfied) {
    out.push({ aspect: 'can_be_satisfied', vdc: v.can_be_satisfied, dcql: d.can_be_satisfied })
  }
  return out
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
const names = new Set()
let failures = 0
let agreedValid = 0
let agreedInvalid = 0
let matched = 0
const seen = new Set()
const fail = (msg) => {
  failures++
  console.log(`FAIL ${msg}`)
}
try {
  for (const c of corpus.cases) {
    if (names.has(c.name)) fail(`${c.name}: duplicate case name`)
    names.add(c.name)
    const v = byVdc(c.query, c.credentials)
    const d = byDcql(c.query, c.credentials)
    const diffs = compare(v, d)
    if (diffs.length === 0) {
      if (v.valid) {
        agreedValid++
        if (Object.values(v.matches).some((m) => m.length > 0)) matched++
      } else agreedInvalid++
      const what = v.valid
        ? `matches ${JSON.stringify(v.matches)}, can_be_satisfied ${v.can_be_satisfied}`
        : `both refuse (vdc: ${v.error}; dcql: ${d.error})`
      console.log(`PASS ${c.name}: ${what}`)
      continue
    }
    for (const diff of diffs) {
      const k = known.find((x) => x.case === c.name && x.aspect === diff.aspect)
      const key = `${c.name}/${diff.aspect}`
      const detail = `vdc ${JSON.stringify(diff.vdc)}, dcql ${JSON.stringify(diff.dcql)}` +
        (diff.aspect === 'valid' ? ` (vdc: ${v.error ?? 'accepted'}; dcql: ${d.error ?? 'accepted'})` : '')
      if (!k) {
        fail(`${key}: unlisted disagreement: ${detail}`)
      } else if (!same(k.vdc, diff.vdc) || !same(k.dcql, diff.dcql)) {
        fail(`${key}: listed with vdc ${JSON.stringify(k.vdc)}, dcql ${JSON.stringify(k.dcql)}; now ${detail}`)
      } else {
        seen.add(key)
        console.log(`KNOWN ${key}: ${detail} [${k.spec}; ${k.right} is right]`)
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
for (const k of known) {
  if (!names.has(k.case)) fail(`${k.case}/${k.aspect}: listed in known-differences.json but no such case`)
  else if (!seen.has(`${k.case}/${k.aspect}`)) fail(`${k.case}/${k.aspect}: listed in known-differences.json but no longer occurs`)
}
// Not vacuous: enough cases, both refusals and matches among the agreements.
if (corpus.cases.length < 40) fail(`only ${corpus.cases.length} cases`)
if (agreedInvalid < 10 || matched < 20) fail(`too few agreements with content (${agreedInvalid} refused, ${matched} with matches)`)
console.log(
  `\n${corpus.cases.length} cases: ${agreedValid} agree on a valid query (${matched} with matches), ` +
    `${agreedInvalid} agree on a refusal, ${seen.size} known differences, ${failures} failure(s)`
)
process.exit(failures === 0 ? 0 : 1)
