"""Durable jobs: forecast runs and plan solves recorded in the database, claimed by workers.

- :mod:`api.jobs.model`: the ``jobs`` table and the result tables written by jobs.
- :mod:`api.jobs.queue`: enqueue (with de-duplication), claim, lease heartbeat, requeue of expired
  leases, attempts, failure after ``job_max_attempts``, cancellation, idempotent completion.
- :mod:`api.jobs.runners`: what a job does (plan: ``plan_scenario`` + funding; forecast:
  ``forecast_panel``), as plain functions of plain data, so a child process or a Dask worker can run them.
- :mod:`api.jobs.worker`: the worker loop (``jointplan worker``).
"""
