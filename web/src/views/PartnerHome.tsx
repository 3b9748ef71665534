// A partner user's start page: where its collaboration stands (its uploads, its forecast
// versions, the open exceptions of its items, the latest consensus of its items and its
// forecast value added), each read from the API as the partner sees it, with links to act.
import { useQuery } from '@tanstack/react-query'
import { Link } from '@tanstack/react-router'
import { useMemo } from 'react'

import { consensusListQuery, exceptionFacetsQuery, exceptionListQuery, fvaQuery, submissionListQuery, uploadListQuery } from '../api/cpfr'
import { MAX_PAGE } from '../api/queries'
import type { ExceptionPublic, SubmissionPublic } from '../client/types.gen'
import { type Column, DataTable } from '../components/DataTable'
import { KpiGrid, type KpiItem } from '../components/Kpi'
import { PageHeader, Section } from '../components/Page'
import { Loaded } from '../components/States'
import { formatDate, formatDateTime, formatNumber, formatPercent } from '../lib/format'
import { useSession } from '../session'
import { SeverityBadge } from './exceptions/ExceptionList'

const openColumns: Column<ExceptionPublic>[] = [
  { id: 'id', header: 'Exception', value: (e) => e.id, cell: (e) => <Link to="/exceptions/$exceptionId" params={{ exceptionId: e.id }}>{e.id}</Link> },
  { id: 'severity', header: 'Severity', value: (e) => e.severity, cell: (e) => <SeverityBadge severity={e.severity} /> },
  { id: 'series', header: 'Series', value: (e) => e.unique_id },
  { id: 'period', header: 'Period', value: (e) => e.ds ?? '', cell: (e) => (e.ds ? formatDate(e.ds) : 'every period') },
  { id: 'values', header: 'Values', value: (e) => e.values },
  { id: 'message', header: 'What is wrong', value: (e) => e.message },
]

export function PartnerHome() {
  const session = useSession()
  const uploads = useQuery(uploadListQuery(1, 0))
  const subs = useQuery(submissionListQuery(MAX_PAGE, 0))
  const exceptions = useQuery(exceptionListQuery({ state: 'open' }, 8, 0)) // the API orders them most severe first
  const facets = useQuery(exceptionFacetsQuery)
  const consensus = useQuery(consensusListQuery(1, 0))
  const fva = useQuery(fvaQuery('M', null))
  const latestSub = useMemo(() => (subs.data?.items ?? []).reduce<SubmissionPublic | null>(
    (a, s) => (!a || s.version > a.version ? s : a), null), [subs.data])
  const own = fva.data?.by_partner.find((r) => r.partner === session.user.partner_id)
  const cv = consensus.data?.items[0]
  const tiles: KpiItem[] = [
    { id: 'uploads', label: 'History uploads', value: uploads.data?.total, text: uploads.data ? formatNumber(uploads.data.total) : '…',
      note: uploads.data?.items[0] ? `latest ${formatDateTime(uploads.data.items[0].created_at)}` : 'none yet' },
    { id: 'forecast', label: 'Forecast versions', value: subs.data?.total, text: subs.data ? formatNumber(subs.data.total) : '…',
      note: latestSub ? `latest v${latestSub.version}, ${formatDate(latestSub.created_at)}` : 'none submitted' },
    { id: 'open_exceptions', label: 'Open exceptions', value: facets.data?.open,
      text: facets.data ? formatNumber(facets.data.open) : '…', tone: facets.data?.open ? 'bad' : 'good',
      note: facets.data ? `of ${formatNumber(facets.data.total)} on your items` : undefined },
    { id: 'consensus', label: 'Consensus', value: cv?.version, text: cv ? `v${cv.version}` : consensus.data ? 'none yet' : '…',
      note: cv ? `${formatNumber(cv.rows)} series-periods of your items` : undefined },
    { id: 'fva', label: 'Forecast value added', value: own?.fva_wape, text: own?.fva_wape != null ? `${own.fva_wape > 0 ? '+' : ''}${formatPercent(own.fva_wape)}` : '—',
      note: own ? 'WAPE points over the statistical forecast' : 'not scored yet', tone: own?.fva_wape != null ? (own.fva_wape >= 0 ? 'good' : 'bad') : undefined },
  ]
  return (
    <>
      <PageHeader title={`Welcome, ${session.user.name}`} subtitle={`Partner ${session.user.partner_id ?? ''}: your part of the chain's collaboration.`}
        actions={<>
          <Link className="button primary" to="/uploads" search={{}}>Share sales history</Link>
          <Link className="button secondary" to="/submissions" search={{}}>Submit a forecast</Link>
        </>} />
      <Section title="Where you stand" id="overview">
        <KpiGrid label="Your collaboration" items={tiles} />
      </Section>
      <Section title="Open exceptions on your items" id="open" actions={<Link to="/exceptions" search={{ state: 'open' }}>All exceptions</Link>}>
        <Loaded query={exceptions} label="Loading exceptions">
          {() => <DataTable caption="Open exceptions, most severe first" hideCaption columns={openColumns} rows={exceptions.data?.items ?? []}
            rowKey={(e) => e.id} empty="Nothing to resolve." testId="open-exceptions" />}
        </Loaded>
      </Section>
    </>
  )
}
