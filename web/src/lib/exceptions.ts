// The exceptions inbox: filters (rule, severity, partner, open or resolved) and their choices,
// as pure functions of the list the API returns (GET /exceptions: a partner gets only those
// that involve it).

import { formatNumber, formatPercent } from './format'

export interface ExceptionLike {
  id: string
  rule: string
  severity: string
  partners: string[]
  resolved: boolean
  sources: string
  unique_id: string
  ds: string | null
}

export interface ExceptionFilter { rule?: string; severity?: string; partner?: string; state?: 'open' | 'resolved' }

export const SEVERITIES = ['high', 'medium', 'low'] as const
const RANK: Record<string, number> = { high: 0, medium: 1, low: 2 }

export function filterExceptions<T extends ExceptionLike>(items: T[], f: ExceptionFilter): T[] {
  return items.filter((e) => (!f.rule || e.rule === f.rule)
    && (!f.severity || e.severity === f.severity)
    && (!f.partner || e.partners.includes(f.partner))
    && (!f.state || (f.state === 'resolved') === e.resolved))
}

/** Most severe first, then open before resolved, then by series and period. */
export function sortExceptions<T extends ExceptionLike>(items: T[]): T[] {
  return [...items].sort((a, b) => (RANK[a.severity] ?? 3) - (RANK[b.severity] ?? 3)
    || Number(a.resolved) - Number(b.resolved)
    || a.unique_id.localeCompare(b.unique_id) || (a.ds ?? '').localeCompare(b.ds ?? '') || a.id.localeCompare(b.id))
}

export interface Facets { rules: [string, number][]; partners: [string, number][]; severities: [string, number][]; open: number; resolved: number }

/** Each filter's choices with how many exceptions have it. */
export function exceptionFacets(items: ExceptionLike[]): Facets {
  const count = (keys: string[][]) => {
    const m = new Map<string, number>()
    for (const ks of keys) for (const k of ks) m.set(k, (m.get(k) ?? 0) + 1)
    return m
  }
  const rules = count(items.map((e) => [e.rule]))
  const partners = count(items.map((e) => e.partners))
  const sev = count(items.map((e) => [e.severity]))
  return {
    rules: [...rules.entries()].sort((a, b) => a[0].localeCompare(b[0])),
    partners: [...partners.entries()].sort((a, b) => a[0].localeCompare(b[0])),
    severities: [...sev.entries()].sort((a, b) => (RANK[a[0]] ?? 3) - (RANK[b[0]] ?? 3)),
    open: items.filter((e) => !e.resolved).length,
    resolved: items.filter((e) => e.resolved).length,
  }
}

/** The sources an exception compares ("shops vs statistical" → ["shops", "statistical"]). */
export function sourcesOf(sources: string): string[] {
  return sources.split(' vs ').map((s) => s.trim()).filter(Boolean)
}

/** The sources a resolution may accept: the exception's own (a forecast source, not a measure
 *  such as fill_rate), and the statistical forecast. */
export function acceptableSources(sources: string): string[] {
  const own = sourcesOf(sources).filter((s) => !['in_stock', 'fill_rate'].includes(s))
  return [...new Set([...own, 'statistical'])]
}

/** What an exception measured against its rule's limit, in the rule's units: error and service
 *  rules measure a share (WAPE, in-stock, fill rate) → percent; tolerance rules the difference in
 *  units, against the rule's absolute limit (units) or, when the rule has only a relative one, that
 *  share (a limit below 1 is read as the relative tolerance). */
export function measureText(kind: string, measure: number | null, limit: number | null): string {
  const share = kind === 'error' || kind === 'service'
  const m = measure === null ? '—' : share ? formatPercent(measure) : kind === 'tolerance' ? `${formatNumber(measure)} units` : formatNumber(measure, 3)
  const l = limit === null ? '—' : share ? formatPercent(limit)
    : kind === 'tolerance' ? (limit > 0 && limit < 1 ? formatPercent(limit, 0) : `${formatNumber(limit)} units`) : formatNumber(limit, 3)
  return `${m} (limit ${l})`
}
