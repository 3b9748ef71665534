// POST /plans: solve a scenario version; the plan's page then shows its progress live. The same
// version with the same options is solved once: the API answers with the stored plan.
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useNavigate } from '@tanstack/react-router'
import { type FormEvent, useState } from 'react'

import { data } from '../../api/client'
import { keys } from '../../api/queries'
import { createPlan } from '../../client/sdk.gen'
import type { PlanOptions } from '../../client/types.gen'
import { ActionError } from '../../components/States'

export function StartPlan({ scenarioId, version, hasFinance }: { scenarioId: number; version: number; hasFinance: boolean }) {
  // as the API's default options: a scenario with finance instruments gets its funding sized
  const [mode, setMode] = useState<'operations' | 'size' | 'joint'>(hasFinance ? 'size' : 'operations')
  const [timeLimit, setTimeLimit] = useState('')
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const start = useMutation({
    mutationFn: () => {
      const options: PlanOptions = { finance: mode === 'joint', size_funding: mode === 'size' }
      const limit = Number(timeLimit)
      if (timeLimit.trim() && Number.isFinite(limit) && limit > 0) options.time_limit = limit
      return data(createPlan({ body: { scenario_id: scenarioId, version, options } }))
    },
    onSuccess: async (plan) => {
      queryClient.setQueryData(keys.plan(plan.id), plan)
      await queryClient.invalidateQueries({ queryKey: keys.plans })
      await navigate({ to: '/plans/$planId', params: { planId: String(plan.id) } })
    },
  })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    start.mutate()
  }
  return (
    <form className="form-row" onSubmit={submit}>
      <fieldset>
        <legend>Plan version v{version}</legend>
        <label className="radio"><input type="radio" name="mode" checked={mode === 'operations'} onChange={() => setMode('operations')} /> Operations only</label>
        <label className="radio"><input type="radio" name="mode" checked={mode === 'size'} disabled={!hasFinance} onChange={() => setMode('size')} /> Then size each partner's funding</label>
        <label className="radio"><input type="radio" name="mode" checked={mode === 'joint'} disabled={!hasFinance} onChange={() => setMode('joint')} /> Operations and funding together</label>
        {!hasFinance && <p className="hint">This version has no finance section, so funding cannot be planned.</p>}
      </fieldset>
      <div className="field">
        <label htmlFor="time-limit">Time limit [s]</label>
        <input id="time-limit" inputMode="decimal" value={timeLimit} placeholder="service default" onChange={(e) => setTimeLimit(e.target.value)} size={12} />
      </div>
      <button type="submit" className="primary" disabled={start.isPending}>{start.isPending ? 'Starting…' : 'Run plan'}</button>
      <ActionError error={start.error} />
    </form>
  )
}
