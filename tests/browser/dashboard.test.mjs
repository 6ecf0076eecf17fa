#!/usr/bin/env node
// Browser test of the segue dashboard: headless Debian Chromium driven by playwright-core.
//
//   SEGUE_URL=http://127.0.0.1:8080 SEGUE_ARTIFACTS=out/ node tests/browser/dashboard.test.mjs
//
// env: SEGUE_URL (required) base URL of a running `segue serve`
//      SEGUE_ARTIFACTS  where screenshots go (default: $TMPDIR/segue-browser)
//      SEGUE_QUERY      search text for the seed (default "synthetic")
//      SEGUE_CHROMIUM   browser binary (default /usr/bin/chromium)
// Prints TAP: "ok N - name" / "not ok N - name" with "# reason" lines, then "1..N".
// Exits 1 on any failure, 2 on bad usage; prints "1..0 # SKIP why" and exits 0 when
// Chromium or playwright-core is not available.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BASE = (process.env.SEGUE_URL || '').replace(/\/+$/, '');
const ARTIFACTS = process.env.SEGUE_ARTIFACTS || path.join(os.tmpdir(), 'segue-browser');
const QUERY = process.env.SEGUE_QUERY || 'synthetic';
const CHROMIUM = process.env.SEGUE_CHROMIUM || '/usr/bin/chromium';
const PAGES = ['discover', 'explore', 'map', 'models'];
const CASE_TIMEOUT_MS = 120_000;
const STEP_TIMEOUT_MS = 20_000;

function skip(why) {
  console.log(`1..0 # SKIP ${why.replace(/\s+/g, ' ').trim()}`);
  process.exit(0);
}

if (!BASE || !/^https?:\/\//.test(BASE)) {
  console.log('Bail out! SEGUE_URL must be the base URL of a running segue server, e.g. http://127.0.0.1:8080');
  process.exit(2);
}

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  skip(`playwright-core is not installed (run npm install --no-audit --no-fund in tests/browser): ${e.message}`);
}
if (!fs.existsSync(CHROMIUM)) skip(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

fs.mkdirSync(ARTIFACTS, { recursive: true });

let browser;
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
    // playwright-core gives each launch a fresh temporary profile and removes it on close.
  });
} catch (e) {
  skip(`Chromium at ${CHROMIUM} did not start: ${e.message.split('\n')[0]}`);
}

// ---------------------------------------------------------------------------
// Helpers

/* A fresh context and page that records every console error, page error,
 * failed request and HTTP error response. */
async function openPage(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} (${r.failure()?.errorText || '?'})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  return { context, page, problems };
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function noProblems(problems, where) {
  if (problems.length) throw new Error(`${where}:\n${problems.join('\n')}`);
}

async function shot(page, name) {
  // Sticky parts would be drawn at the scrolled position in a full-page capture.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/* Opens #/<name> and waits until the page says it finished loading
 * (data-state ready or error on its section). */
async function visit(page, name, screenshot) {
  await page.goto(`${BASE}/#/${name}`, { waitUntil: 'load' });
  const sel = `#page-${name}`;
  await page.waitForSelector(`${sel}:not([hidden])`, { state: 'visible' });
  await page.waitForFunction((s) => {
    const st = document.querySelector(s)?.dataset.state;
    return st === 'ready' || st === 'error';
  }, sel, { timeout: 60_000 });
  if (screenshot) {
    await page.waitForTimeout(200); // let late console messages arrive
    await shot(page, screenshot);
  }
  const state = await page.getAttribute(sel, 'data-state');
  const errors = await page.$$eval(`${sel} .msg-error`, (ns) => ns.map((n) => n.firstElementChild.innerText.replace(/\s+/g, ' ').trim()));
  check(state === 'ready' && errors.length === 0,
    `#/${name} ended in state ${state}${errors.length ? `; messages: ${errors.join(' | ')}` : ''}`);
}

/* Horizontal overflow: the document must be no wider than the window. With a
 * mobile viewport Chromium widens innerWidth to fit wide content (it zooms out),
 * so the layout width (clientWidth) and the viewport's own width are checked too. */
async function overflow(page) {
  const vw = page.viewportSize().width;
  const m = await page.evaluate(() => {
    const W = document.documentElement.clientWidth;
    const culprits = [...document.querySelectorAll('body *')]
      .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > W + 0.5)
      .filter((e) => {
        for (let a = e.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return false;
        return true;
      })
      .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : ''}`);
    return { sw: document.scrollingElement.scrollWidth, iw: window.innerWidth, cw: W, culprits };
  });
  const limit = Math.min(m.iw, m.cw, vw);
  return { ok: m.sw <= limit,
    why: `scrollWidth ${m.sw} > ${limit} (innerWidth ${m.iw}, clientWidth ${m.cw}, viewport ${vw}); wide: ${m.culprits.join(', ') || '?'}` };
}

/* Search, add the first hit as a seed, recommend; returns the cards' data. */
async function searchAndRecommend(page) {
  await page.fill('#search', QUERY);
  const first = page.locator('#search-results li').first();
  try {
    await first.waitFor({ state: 'visible' });
  } catch (e) {
    const status = await page.textContent('#search-status');
    const msgs = await page.$$eval('#page-discover .msg-error', (ns) => ns.map((n) => n.firstElementChild.innerText.replace(/\s+/g, ' ').trim()));
    throw new Error(`no search result for "${QUERY}" (status: ${status || '-'}; messages: ${msgs.join(' | ') || '-'})`);
  }
  const seedName = (await first.locator('.sr-name').textContent()).trim();
  await first.getByRole('button', { name: /as seed/ }).click();
  await page.locator('#seeds li').first().waitFor();
  const chips = await page.$$eval('#seeds li span', (ns) => ns.map((n) => n.textContent));
  check(chips.includes(seedName), `seed chip "${seedName}" not shown (chips: ${chips.join(', ')})`);
  await page.click('#recommend');
  await page.waitForFunction(() => document.querySelector('#results li.card') ||
    document.querySelector('#page-discover .msg-error') ||
    (document.querySelector('#results-meta code') && !document.querySelector('#results li')));
  const errors = await page.$$eval('#page-discover .msg-error', (ns) => ns.map((n) => n.firstElementChild.innerText.replace(/\s+/g, ' ').trim()));
  check(errors.length === 0, `error shown: ${errors.join(' | ')}`);
  return page.$$eval('#results li.card', (cards) => cards.map((c) => {
    const a = c.querySelector('a.spotify');
    return {
      name: c.querySelector('.card-title')?.textContent || '',
      reasons: c.querySelector('.reasons')?.textContent.trim() || '',
      href: a?.getAttribute('href') || '', target: a?.getAttribute('target') || '', rel: a?.getAttribute('rel') || '',
    };
  }));
}

// ---------------------------------------------------------------------------
// Cases

const cases = [];
const test = (name, fn) => cases.push({ name, fn });

test('every page opens with no console errors and no failed requests', async () => {
  const { context, page, problems } = await openPage();
  try {
    for (const name of PAGES) {
      await visit(page, name, name);
      if (name === 'explore') {
        const charts = await page.$$eval('#charts .chart-box', (ns) => ns.map((n) => n.dataset.state));
        check(charts.every((s) => s === 'ok'), `charts not all drawn: ${charts.join(',')}`);
      }
      noProblems(problems, `#/${name}`);
    }
  } finally {
    await context.close();
  }
});

test(`search "${QUERY}", add a seed, recommend: cards with reasons and Spotify links`, async () => {
  const { context, page, problems } = await openPage();
  try {
    await visit(page, 'discover');
    const cards = await searchAndRecommend(page);
    await shot(page, 'discover-results');
    check(cards.length >= 1, 'no result card');
    check(cards.some((c) => c.reasons && c.reasons !== 'No reason given.'), 'no card has a reasons text');
    const re = /^https:\/\/open\.spotify\.com\/track\/[A-Za-z0-9]+$/;
    const bad = cards.filter((c) => !re.test(c.href) || c.target !== '_blank' || !/\bnoopener\b/.test(c.rel));
    check(bad.length === 0, `bad Spotify link(s): ${bad.map((c) => `${c.href} target=${c.target} rel=${c.rel}`).join('; ')}`);
    const rid = (await page.textContent('#results-meta code'))?.trim();
    check(rid, 'no request id shown');
    noProblems(problems, 'discover');
  } finally {
    await context.close();
  }
});

test('phone viewport (375x812) renders Discover without horizontal overflow', async () => {
  const { context, page, problems } = await openPage({
    viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  });
  try {
    await visit(page, 'discover');
    const cards = await searchAndRecommend(page);
    check(cards.length >= 1, 'no result card');
    await shot(page, 'phone-discover');
    const m = await overflow(page);
    check(m.ok, m.why);
    noProblems(problems, 'phone discover');
  } finally {
    await context.close();
  }
});

test('phone viewport renders Explore, Map and Models without horizontal overflow', async () => {
  const { context, page, problems } = await openPage({
    viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  });
  try {
    const over = [];
    for (const name of PAGES.slice(1)) {
      await visit(page, name, `phone-${name}`);
      const m = await overflow(page);
      if (!m.ok) over.push(`#/${name}: ${m.why}`);
    }
    check(over.length === 0, over.join('; '));
    noProblems(problems, 'phone pages');
  } finally {
    await context.close();
  }
});

/* Search with punctuation: each of " ' % _ * \ typed alone answers without a
 * banner and with at most one quiet line under the field. A 400 (as the server
 * gives for a search too broad for a big catalogue; faked here, since the
 * small test catalogue has none) shows the server's detail in that one line,
 * not "HTTP 400", the next failure replaces it, and a search that succeeds
 * clears it. */
const FORCED_DETAIL = 'the search is too broad; type more of the name';
async function searchPunctuation(opts, label) {
  const { context, page, problems } = await openPage(opts);
  try {
    await page.route(/\/api\/tracks\?q=zzforced/, (route) => route.fulfill({
      status: 400, contentType: 'application/json',
      body: JSON.stringify({ error: 'bad_request', detail: FORCED_DETAIL, request_id: 'forced' }),
    }));
    await visit(page, 'discover');
    const type = async (text) => {
      const answered = page.waitForResponse((r) => r.url().includes('/api/tracks?q='));
      await page.fill('#search', text);
      await answered;
      await page.waitForFunction(() => !document.querySelector('#search-status .spinner'));
    };
    const look = () => page.evaluate(() => ({
      banners: [...document.querySelectorAll('.msg')].map((n) => n.innerText.replace(/\s+/g, ' ').trim()),
      quiet: [...document.querySelectorAll('.search-error')].map((n) => n.textContent.trim()),
      status: document.querySelector('#search-status').textContent.trim(),
    }));
    const checkQuiet = (st, what) => {
      check(st.banners.length === 0, `${what}: banner(s) shown: ${st.banners.join(' | ')}`);
      check(st.quiet.length <= 1, `${what}: ${st.quiet.length} error lines: ${st.quiet.join(' | ')}`);
      check(!/HTTP \d/.test(st.status), `${what}: status line shows a status code: ${st.status}`);
    };
    for (const ch of ['"', "'", '%', '_', '*', '\\']) checkQuiet(await (type(ch).then(look)), `typing ${ch}`);
    await type('zzforced one');
    let st = await look();
    checkQuiet(st, 'a 400');
    check(st.quiet.length === 1 && st.quiet[0] === FORCED_DETAIL, `a 400: quiet line is "${st.quiet.join(' | ')}", not the detail`);
    await type('zzforced two');
    st = await look();
    checkQuiet(st, 'a second 400');
    check(st.quiet.length === 1, 'a second 400: no quiet line');
    await type(QUERY);
    await page.locator('#search-results li').first().waitFor();
    st = await look();
    checkQuiet(st, 'a search that succeeds');
    check(st.quiet.length === 0 && !st.status.includes(FORCED_DETAIL), `the error line stayed after a search that succeeded: ${st.status}`);
    await shot(page, `search-punctuation-${label}`);
    // The faked 400s (and any 400 of the search itself, which the line shows) are expected.
    noProblems(problems.filter((p) => !/api\/tracks\?q=/.test(p) && !/status of 400/.test(p)), `search ${label}`);
  } finally {
    await context.close();
  }
}

test('search with " \' % _ * \\ at desktop size: no banner, one quiet line, cleared by a good search', () =>
  searchPunctuation({}, 'desktop'));
test('search with punctuation at phone size (390x844): no banner, one quiet line, cleared', () =>
  searchPunctuation({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }, 'phone'));

test('map: clicking a point shows the track and its neighbours (HiDPI canvas)', async () => {
  const { context, page, problems } = await openPage({ deviceScaleFactor: 2 });
  try {
    await visit(page, 'map');
    const size = await page.$eval('#map-canvas', (c) => {
      const r = c.getBoundingClientRect();
      return { w: c.width, h: c.height, cw: r.width, ch: r.height };
    });
    check(size.cw > 0 && Math.abs(size.w - size.cw * 2) <= 1 && Math.abs(size.h - size.ch * 2) <= 1,
      `canvas backing store ${size.w}x${size.h} is not 2x its CSS size ${size.cw}x${size.ch}`);
    const legend = await page.$$eval('#legend li', (ns) => ns.length);
    check(legend >= 1, 'no legend entries');
    const box = await page.locator('#map-canvas').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('#side-body .side-track-title').waitFor();
    await page.waitForFunction(() => !document.querySelector('#side-body .spinner'));
    const title = (await page.textContent('#side-body .side-track-title')).trim();
    const neigh = await page.$$eval('#side-body .neigh li', (ns) => ns.length);
    check(title.length > 0, 'empty track title');
    check(neigh >= 1, 'no neighbours listed');
    await shot(page, 'map-selected');
    noProblems(problems, 'map');
  } finally {
    await context.close();
  }
});

// ---------------------------------------------------------------------------
// Run

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what} timed out after ${ms / 1000} s`)), ms); })])
    .finally(() => clearTimeout(t));
}

let failed = 0;
console.log(`# dashboard at ${BASE}, screenshots in ${ARTIFACTS}`);
for (let i = 0; i < cases.length; i++) {
  const c = cases[i];
  const t0 = Date.now();
  try {
    await withTimeout(c.fn(), CASE_TIMEOUT_MS, c.name);
    console.log(`ok ${i + 1} - ${c.name}`);
    console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    failed++;
    console.log(`not ok ${i + 1} - ${c.name}`);
    const text = String(e && e.message ? e.message : e).replace(/\x1b\[[0-9;]*m/g, '');
    for (const line of text.split('\n')) if (line.trim()) console.log(`# ${line}`);
  }
}
console.log(`1..${cases.length}`);
try {
  await withTimeout(browser.close(), 15_000, 'closing Chromium');
} catch (e) {
  console.log(`# ${e.message}`);
}
process.exit(failed ? 1 : 0);
