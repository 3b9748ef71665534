import { describe, expect, it } from 'vitest'

import { selectionText } from './ForecastRunView'

describe('selectionText', () => {
  it('says how many series kept the last run’s choice and why the others competed', () => {
    expect(selectionText({ reused: 140, new: 6, drift: 4 })).toBe(
      'kept from the last run for 140 of 150 series; 6 new series, 4 forecast drifted',
    )
    expect(selectionText({ reused: 3 })).toBe('kept from the last run for 3 of 3 series')
    expect(selectionText({ options: 2 })).toBe('kept from the last run for 0 of 2 series; 2 other options than the last run')
  })
  it('says nothing for a first competition or the fast mode', () => {
    expect(selectionText({ competition: 4 })).toBe('')
    expect(selectionText({ none: 4 })).toBe('')
    expect(selectionText(undefined)).toBe('')
  })
})
