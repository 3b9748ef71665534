// Field-by-field differences between two scenario contents, as the API computes them
// (api/routes/scenarios.py `diff`): objects by key, lists of items with unique ids by id
// (`partners[shops].min_cash`), other equal-length lists holding objects item by item, anything
// else compared whole. Used to review an edit before it is saved as a new version.

export interface Change { path: string; op: 'added' | 'removed' | 'changed'; old: unknown; new: unknown }

type Obj = Record<string, unknown>
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x)

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a === 'number' && typeof b === 'number') return a === b
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]))
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length && ka.every((k) => k in b && equal(a[k], b[k]))
  }
  return false
}

function byId(items: unknown[]): Map<string, unknown> | null {
  if (!items.length || !items.every((i) => isObj(i) && 'id' in i)) return null
  const m = new Map<string, unknown>()
  for (const i of items) m.set(String((i as Obj).id), i)
  return m.size === items.length ? m : null
}

// Python's sorted(..., key=str) on the keys: code-point order
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

export function diffContent(oldV: unknown, newV: unknown, path = ''): Change[] {
  if (isObj(oldV) && isObj(newV)) {
    const out: Change[] = []
    for (const k of [...new Set([...Object.keys(oldV), ...Object.keys(newV)])].sort(cmp)) {
      const p = path ? `${path}.${k}` : k
      if (!(k in newV)) out.push({ path: p, op: 'removed', old: oldV[k], new: null })
      else if (!(k in oldV)) out.push({ path: p, op: 'added', old: null, new: newV[k] })
      else out.push(...diffContent(oldV[k], newV[k], p))
    }
    return out
  }
  if (Array.isArray(oldV) && Array.isArray(newV)) {
    const a = byId(oldV)
    const b = byId(newV)
    if (a && b) {
      const out: Change[] = []
      for (const k of [...a.keys(), ...[...b.keys()].filter((k) => !a.has(k))]) {
        const p = `${path}[${k}]`
        if (!b.has(k)) out.push({ path: p, op: 'removed', old: a.get(k), new: null })
        else if (!a.has(k)) out.push({ path: p, op: 'added', old: null, new: b.get(k) })
        else out.push(...diffContent(a.get(k), b.get(k), p))
      }
      return out
    }
    const scalarOnly = [...oldV, ...newV].every((x) => !isObj(x) && !Array.isArray(x))
    if (oldV.length === newV.length && !scalarOnly) {
      return oldV.flatMap((x, i) => diffContent(x, newV[i], `${path}[${i}]`))
    }
  }
  return equal(oldV, newV) ? [] : [{ path: path || '(scenario)', op: 'changed', old: oldV, new: newV }]
}

/** A value in a diff cell: short JSON, long values cut with an ellipsis. */
export function showValue(x: unknown, max = 120): string {
  if (x === null || x === undefined) return '—'
  const s = typeof x === 'string' ? x : JSON.stringify(x)
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}
