// Forecast value added as a chart: per partner, the statistical forecast's WAPE and the
// partner's on the same series-periods (GET /fva by_partner), and a one-sentence summary.
import { formatPercent } from './format'

export interface PartnerFvaLike {
  partner: string
  wape_statistical: number | null
  wape_partner: number | null
  fva_wape: number | null
}

export interface FvaChart { partners: string[]; series: [string, (number | null)[]][]; summary: string }

export function fvaChart(rows: PartnerFvaLike[]): FvaChart {
  const sorted = [...rows].sort((a, b) => a.partner.localeCompare(b.partner))
  const partners = sorted.map((r) => r.partner)
  const series: [string, (number | null)[]][] = [
    ['Statistical forecast', sorted.map((r) => r.wape_statistical)],
    ['Partner forecast', sorted.map((r) => r.wape_partner)],
  ]
  const parts = sorted.map((r) => {
    if (r.fva_wape === null) return `${r.partner}: not scored`
    const verb = r.fva_wape > 0 ? 'improved on' : r.fva_wape < 0 ? 'was worse than' : 'matched'
    return `${r.partner} ${verb} the statistical forecast by ${formatPercent(Math.abs(r.fva_wape))} WAPE`
  })
  return { partners, series, summary: parts.length ? `${parts.join('; ')}.` : 'No partner scored.' }
}
