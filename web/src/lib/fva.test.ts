import { describe, expect, it } from 'vitest'

import { fvaChart } from './fva'

describe('fvaChart', () => {
  it('puts each partner\'s WAPE next to the statistical one and says who improved on it', () => {
    const c = fvaChart([
      { partner: 'wholesale', wape_statistical: 0.25, wape_partner: 0.3, fva_wape: -0.05 },
      { partner: 'shops', wape_statistical: 0.25, wape_partner: 0.1, fva_wape: 0.15 },
    ])
    expect(c.partners).toEqual(['shops', 'wholesale'])
    expect(c.series).toEqual([['Statistical forecast', [0.25, 0.25]], ['Partner forecast', [0.1, 0.3]]])
    expect(c.summary).toBe('shops improved on the statistical forecast by 15.0% WAPE; wholesale was worse than the statistical forecast by 5.0% WAPE.')
  })
  it('says so when nobody was scored', () => {
    expect(fvaChart([]).summary).toBe('No partner scored.')
  })
})
