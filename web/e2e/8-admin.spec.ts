// An admin registers a partner and a user of it, resets the user's password and token, disables
// it, and disables and enables a partner; each change is checked against what the API then
// accepts (sign-in, bearer tokens).
import { request } from '@playwright/test'

import { adminApi } from './api'
import { expect, expectAccessible, screenshot, signIn, test } from './fixtures'
import { readState } from './stack'

/** The status of GET /users/me with a bearer token. */
async function tokenStatus(token: string): Promise<number> {
  const ctx = await request.newContext({ baseURL: readState().baseURL })
  const r = await ctx.get('/users/me', { headers: { Authorization: `Bearer ${token}` } })
  await ctx.dispose()
  return r.status()
}

/** The status of a sign-in with a name and password. */
async function signInStatus(name: string, password: string): Promise<number> {
  const ctx = await request.newContext({ baseURL: readState().baseURL })
  const r = await ctx.post('/auth/login', { data: { name, password } })
  await ctx.dispose()
  return r.status()
}

test('an admin manages partners and users: create, reset password and token, disable', async ({ page }) => {
  const stamp = String(Date.now()).slice(-7)
  const partnerId = `co-${stamp}`
  const name = `newbie-${stamp}`
  await signIn(page, 'admin')
  await expect(page).toHaveURL(/\/app\/users$/)
  await expect(page.getByRole('heading', { level: 1, name: 'Users' })).toBeVisible()

  // a partner
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Partners' }).click()
  await page.getByLabel('Id (as in the scenarios)').fill(partnerId)
  await page.getByLabel('Company name').fill('Newco Retail')
  await page.getByLabel('Role in the chain').selectOption('retailer')
  await page.getByRole('button', { name: 'Register partner' }).click()
  await expect(page.getByTestId('partner-list')).toContainText(partnerId)
  await expectAccessible(page, 'the partners page')

  // a user of it, with a password; its first token is shown once
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click()
  await page.getByLabel('Name').fill(name)
  await page.getByLabel('Role').selectOption('partner')
  await page.getByLabel('Partner', { exact: true }).selectOption(partnerId)
  await page.getByLabel('Password (optional)').fill('first password 123')
  await page.getByRole('button', { name: 'Create user' }).click()
  const first = (await page.getByTestId('token-value').textContent())!
  expect(await tokenStatus(first)).toBe(200)
  expect(await signInStatus(name, 'first password 123')).toBe(200)
  const row = page.getByTestId('user-list').getByRole('row').filter({ hasText: name })
  await expect(row).toContainText('password set')
  await expectAccessible(page, 'the users page')
  await page.reload() // the token is shown once: not in the screenshot
  await expect(page.getByTestId('user-list')).toContainText(name)
  await screenshot(page, 'workbench-admin.png')

  // its page: reset the password
  await row.getByRole('link', { name }).click()
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible()
  await page.getByLabel('New password').fill('second password 456')
  await page.getByLabel('Repeat it').fill('second password 456')
  await page.getByRole('button', { name: 'Reset password' }).click()
  await expect(page.getByTestId('password-set')).toBeVisible()
  expect(await signInStatus(name, 'first password 123')).toBe(401)
  expect(await signInStatus(name, 'second password 456')).toBe(200)

  // reset its token: a new one, the first revoked
  await page.getByRole('button', { name: 'Issue a new token' }).click()
  const second = (await page.getByTestId('token-value').textContent())!
  expect(second).not.toBe(first)
  const tokens = page.getByTestId('tokens')
  await expect(tokens.locator('tbody tr')).toHaveCount(2)
  const firstId = (await tokens.locator('tbody tr').first().locator('td').first().textContent())!.trim()
  await page.getByRole('button', { name: `Revoke token ${firstId}` }).click()
  await expect(tokens.locator('tbody tr').first()).toContainText('revoked')
  expect(await tokenStatus(first)).toBe(401)
  expect(await tokenStatus(second)).toBe(200)
  await expectAccessible(page, 'a user page')

  // disable its partner: its users are refused; enable: accepted again
  await page.goto('/app/partners')
  await page.getByRole('button', { name: `Disable ${partnerId}` }).click()
  await expect(page.getByTestId('partner-list').getByRole('row').filter({ hasText: partnerId })).toContainText('Disabled')
  expect(await tokenStatus(second)).toBe(403) // api/deps.py: a disabled partner's users get 403
  await page.getByRole('button', { name: `Enable ${partnerId}` }).click()
  await expect(page.getByTestId('partner-list').getByRole('row').filter({ hasText: partnerId })).toContainText('Active')
  expect(await tokenStatus(second)).toBe(200)

  // disable the user: tokens revoked, sign-in refused
  const admin = await adminApi()
  const users = await admin.call<{ items: { id: number; name: string }[] }>('GET', '/users?limit=200')
  const id = users.items.find((u) => u.name === name)!.id
  await page.goto(`/app/users/${id}`)
  await page.getByRole('button', { name: 'Disable…' }).click()
  await page.getByRole('button', { name: `Disable ${name}` }).click()
  await expect(page.getByTestId('user-state')).toHaveText('Disabled')
  expect(await tokenStatus(second)).toBe(401)
  expect(await signInStatus(name, 'second password 456')).toBe(401)
  expect((await admin.call<{ disabled: boolean }>('GET', `/users/${id}`)).disabled).toBe(true)
  await admin.dispose()
})
