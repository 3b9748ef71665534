// A plan being solved: its job's progress, polled every second (GET /plans/{id}), and a cancel
// button (POST /plans/{id}/cancel).
import { useMutation, useQueryClient } from '@tanstack/react-query'

import { data } from '../../api/client'
import { keys } from '../../api/queries'
import { cancelPlan } from '../../client/sdk.gen'
import type { PlanPublic } from '../../client/types.gen'
import { JobProgress } from '../../components/JobProgress'

export function PlanProgress({ plan }: { plan: PlanPublic }) {
  const queryClient = useQueryClient()
  const cancel = useMutation({
    mutationFn: () => data(cancelPlan({ path: { plan_id: plan.id } })),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.plan(plan.id), updated)
      void queryClient.invalidateQueries({ queryKey: keys.plans })
    },
  })
  return (
    <JobProgress job={plan.job} status={plan.status} createdAt={plan.created_at} working="Solving" what="solve"
      onCancel={() => cancel.mutate()} cancelPending={cancel.isPending} cancelError={cancel.error} testId="plan-progress" />
  )
}
