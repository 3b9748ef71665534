// A form field's problems, as the API named them (a 422 entry per field) or the form found them:
// shown under the input, which points to them (aria-describedby) and is marked invalid.

/** The input's attributes for its problems (none: nothing set). */
export function invalidProps(id: string, problems: string[] | undefined): { 'aria-invalid'?: true; 'aria-describedby'?: string } {
  return problems?.length ? { 'aria-invalid': true, 'aria-describedby': `${id}-problem` } : {}
}

export function FieldError({ id, problems }: { id: string; problems: string[] | undefined }) {
  if (!problems?.length) return null
  return <p id={`${id}-problem`} className="field-error" data-testid={`${id}-problem`}>{problems.join('; ')}</p>
}
