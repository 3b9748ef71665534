// npm run generate-client: the OpenAPI schema from the project's Python (web/openapi.json), then
// the typed client from it (web/src/client/, by @hey-api/openapi-ts with openapi-ts.config.ts).
// Both outputs are committed, so building the app needs no Python.
// The Python is $JOINTPLAN_PYTHON, else the repository's .venv, else python3.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const repo = resolve(web, '..')
const venv = join(repo, '.venv', 'bin', 'python')
const python = process.env.JOINTPLAN_PYTHON || (existsSync(venv) ? venv : 'python3')

execFileSync(python, [join(web, 'scripts', 'export_openapi.py'), join(web, 'openapi.json')], {
  cwd: repo,
  env: { ...process.env, PYTHONPATH: [repo, process.env.PYTHONPATH].filter(Boolean).join(':') },
  stdio: 'inherit',
})
execFileSync(join(web, 'node_modules', '.bin', 'openapi-ts'), [], { cwd: web, stdio: 'inherit' })
