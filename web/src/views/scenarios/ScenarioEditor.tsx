// Edit a version into a new one: POST /scenarios/{id}/versions with If-Match: the ETag of the
// version edited. Someone else's newer version makes the API refuse (412): the page says so,
// keeps the draft, and offers the latest version to reapply the edit on.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { type FormEvent, useMemo, useState } from 'react'

import { data } from '../../api/client'
import { ApiError } from '../../api/errors'
import { keys, versionQuery, versionsQuery } from '../../api/queries'
import { addVersion } from '../../client/sdk.gen'
import type { VersionDetail } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { ActionError, isNotFound, Loaded, NotFound } from '../../components/States'
import { type Change, diffContent, showValue } from '../../lib/diff'
import { QuickEdits } from './QuickEdits'
import { parseId, useScenarioName } from './ScenarioView'

export function ScenarioEditor() {
  const { scenarioId: raw } = useParams({ from: '/authed/scenarios/$scenarioId/edit' })
  const scenarioId = parseId(raw)
  const { from } = useSearch({ from: '/authed/scenarios/$scenarioId/edit' })
  const versions = useQuery({ ...versionsQuery(scenarioId ?? 0), enabled: scenarioId !== null })
  if (scenarioId === null) return <NotFound what={`scenario ${raw}`} />
  if (isNotFound(versions)) return <NotFound detail={versions.error.detail} />
  const base = from ?? versions.data?.[versions.data.length - 1]?.version
  return (
    <Loaded query={versions} label="Loading versions">
      {() => base === undefined ? <NotFound what="version" /> : <EditorLoader scenarioId={scenarioId} base={base} />}
    </Loaded>
  )
}

function EditorLoader({ scenarioId, base }: { scenarioId: number; base: number }) {
  const version = useQuery(versionQuery(scenarioId, base))
  return <Loaded query={version} label={`Loading version ${base}`}>{(v) => <Editor key={v.etag} scenarioId={scenarioId} base={v} />}</Loaded>
}

const changeColumns: Column<Change>[] = [
  { id: 'path', header: 'Field', value: (c) => c.path, cell: (c) => <code>{c.path}</code> },
  { id: 'op', header: 'Change', value: (c) => c.op, cell: (c) => <span className={`op op-${c.op}`}>{c.op}</span> },
  { id: 'old', header: 'Before', value: (c) => showValue(c.old), cell: (c) => <code className="val">{showValue(c.old)}</code>, sortable: false },
  { id: 'new', header: 'After', value: (c) => showValue(c.new), cell: (c) => <code className="val">{showValue(c.new)}</code>, sortable: false },
]

function parse(text: string): { value: unknown; error: string | null } {
  try {
    const value: unknown = JSON.parse(text)
    if (!value || typeof value !== 'object' || Array.isArray(value)) return { value: null, error: 'A scenario is a JSON object ({ ... }).' }
    return { value, error: null }
  } catch (e) {
    return { value: null, error: e instanceof Error ? e.message : String(e) }
  }
}

function Editor({ scenarioId, base }: { scenarioId: number; base: VersionDetail }) {
  const name = useScenarioName(scenarioId)
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const original = useMemo(() => JSON.stringify(base.content, null, 2), [base.content])
  const [text, setText] = useState(original)
  const [comment, setComment] = useState('')
  const parsed = useMemo(() => parse(text), [text])
  const changes = useMemo(() => (parsed.error ? [] : diffContent(base.content, parsed.value)), [parsed, base.content])
  const save = useMutation({
    mutationFn: () => data(addVersion({
      path: { scenario_id: scenarioId },
      headers: { 'If-Match': base.etag },
      body: { content: parsed.value as Record<string, unknown>, comment: comment.trim() },
    })),
    onSuccess: async (created) => {
      queryClient.setQueryData(keys.version(scenarioId, created.version), created)
      await queryClient.invalidateQueries({ queryKey: keys.scenarios })
      await navigate({ to: '/scenarios/$scenarioId', params: { scenarioId: String(scenarioId) }, search: { version: created.version } })
    },
  })
  const stale = save.error instanceof ApiError && save.error.status === 412
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (!parsed.error && changes.length > 0) save.mutate()
  }
  const title = name ?? `Scenario ${scenarioId}`
  return (
    <>
      <PageHeader title={`Edit ${title}`} subtitle={`A new version from v${base.version}; the versions before it stay as they are.`}
        crumbs={[{ label: 'Scenarios', to: '/scenarios' }, { label: title, to: '/scenarios/$scenarioId', params: { scenarioId: String(scenarioId) } }, { label: 'Edit' }]} />
      <form onSubmit={submit} className="editor" data-testid="scenario-editor" data-base-etag={base.etag}>
        {!parsed.error && (
          <Section title="Quick edits" id="quick">
            <QuickEdits content={parsed.value as Record<string, unknown>} onChange={(c) => setText(JSON.stringify(c, null, 2))} />
          </Section>
        )}
        <Section title={`Content of v${base.version}, edited (JSON)`} id="content">
          <label htmlFor="content-editor" className="visually-hidden">Scenario content (JSON)</label>
          <textarea id="content-editor" className="code-editor" spellCheck={false} value={text} rows={28}
            onChange={(e) => setText(e.target.value)} aria-invalid={parsed.error ? true : undefined}
            aria-describedby="content-status" />
          <p id="content-status" className={parsed.error ? 'action-error' : 'hint'} role={parsed.error ? 'alert' : undefined}>
            {parsed.error ? `Not valid JSON: ${parsed.error}` : `${changes.length} change${changes.length === 1 ? '' : 's'} from v${base.version}. The service checks the scenario when you save; every problem is listed by field.`}
          </p>
          {text !== original && <button type="button" className="secondary" onClick={() => setText(original)}>Discard edits</button>}
        </Section>
        <Section title="Review and save" id="review">
          <DataTable caption={`Changes from v${base.version}`} columns={changeColumns} rows={changes} rowKey={(c) => c.path}
            empty="No changes yet." testId="draft-changes" />
          <div className="field">
            <label htmlFor="comment">What changed (the version's comment)</label>
            <input id="comment" value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} placeholder="e.g. demand +5% in Q2" />
          </div>
          {stale ? (
            <div className="action-error stale" role="alert" data-testid="stale-edit">
              <strong>Someone saved a newer version of this scenario while you were editing v{base.version}.</strong>
              <p>Your edit was not saved, so nothing was overwritten. Open the latest version, then reapply your changes (they are listed above; your text stays here until you leave the page).</p>
              <p className="muted">{(save.error as ApiError).detail}</p>
              <Link to="/scenarios/$scenarioId" params={{ scenarioId: String(scenarioId) }} search={{}} target="_blank">Open the latest version in a new tab</Link>
            </div>
          ) : <ActionError error={save.error} />}
          <div className="actions">
            <button type="submit" className="primary" disabled={save.isPending || !!parsed.error || changes.length === 0}>
              {save.isPending ? "Saving…" : "Save as a new version"}
            </button>
            <Link to="/scenarios/$scenarioId" params={{ scenarioId: String(scenarioId) }} search={{ version: base.version }}>Cancel</Link>
          </div>
        </Section>
      </form>
    </>
  )
}
