// A secret shown once (a new bearer token): only its hash is kept, so it cannot be shown again.
import type { ReactNode } from 'react'
import { useState } from 'react'

export function OneTimeToken({ token, what }: { token: string; what: ReactNode }) {
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token)
      setCopied(true)
    } catch {
      setCopied(false)
    }
  }
  return (
    <div className="token-once" role="status" data-testid="one-time-token">
      <p>{what}, shown only this once (only its hash is kept):</p>
      <p><code data-testid="token-value">{token}</code></p>
      <button type="button" className="secondary" onClick={() => void copy()}>{copied ? 'Copied' : 'Copy'}</button>
    </div>
  )
}
