// One version of a partner's forecast (GET /submissions/{id}): its rows, as a chart per series
// and a table. Another partner's version is "Not found", as the API answers.
import { useQuery } from '@tanstack/react-query'
import { useParams } from '@tanstack/react-router'
import { useMemo } from 'react'

import { submissionQuery } from '../../api/cpfr'
import type { SubmissionDetail } from '../../client/types.gen'
import { Chart } from '../../components/Chart'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { isNotFound, Loaded, NotFound } from '../../components/States'
import { linesOption } from '../../lib/chartOptions'
import { formatDate, formatDateTime, formatNumber, formatPeriod } from '../../lib/format'
import { pivot } from '../../lib/series'
import { parseId } from '../scenarios/ScenarioView'

type Row = Record<string, unknown>

export function SubmissionView() {
  const { submissionId: raw } = useParams({ from: '/authed/submissions/$submissionId' })
  const id = parseId(raw)
  if (id === null) return <NotFound what={`forecast ${raw}`} />
  return <SubmissionPage id={id} />
}

function SubmissionPage({ id }: { id: number }) {
  const sub = useQuery(submissionQuery(id))
  if (isNotFound(sub)) return <NotFound detail={sub.error.detail} />
  const title = sub.data ? `Forecast of ${sub.data.partner_id}, version ${sub.data.version}` : `Forecast ${id}`
  return (
    <>
      <PageHeader title={title} crumbs={[{ label: 'Forecasts', to: '/submissions' }, { label: title }]}
        subtitle={sub.data ? `${formatNumber(sub.data.row_count)} series-periods · by ${sub.data.author}, ${formatDateTime(sub.data.created_at)}${sub.data.note ? ` · ${sub.data.note}` : ''}` : undefined} />
      <Loaded query={sub} label="Loading the forecast">{(s) => <SubmissionBody sub={s} />}</Loaded>
    </>
  )
}

function SubmissionBody({ sub }: { sub: SubmissionDetail }) {
  const rows = sub.rows as Row[]
  const aligned = useMemo(() => pivot(rows, (r) => String(r.unique_id), (r) => String(r.ds), (r) => r.value), [rows])
  const labels = aligned.dates.map((d) => formatPeriod(d))
  const columns = useMemo((): Column<Row>[] => [
    { id: 'unique_id', header: 'Series', value: (r) => String(r.unique_id) },
    { id: 'ds', header: 'Period', value: (r) => String(r.ds), cell: (r) => formatDate(String(r.ds)) },
    { id: 'value', header: 'Forecast [units]', value: (r) => Number(r.value), numeric: true, cell: (r) => formatNumber(Number(r.value)) },
  ], [])
  return (
    <>
      <Section title="Forecast per series" id="chart">
        <Chart title="Forecast per series" testId="chart-submission"
          summary={`${aligned.series.size} series over ${aligned.dates.length} periods, in units per period.`}
          option={linesOption(labels, [...aligned.series.entries()], 'Forecast [units]', (v) => `${formatNumber(v)} units`)} />
      </Section>
      <Section title="Rows" id="rows">
        <DataTable caption={`${formatNumber(rows.length)} series-periods`} columns={columns} rows={rows} testId="submission-rows" />
      </Section>
    </>
  )
}
