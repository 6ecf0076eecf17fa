// bench/map's browser part (see bench/map): SEGUE_URL is a running server;
// prints the figures and writes them to $MAP_OUT/map-$MAP_LABEL.json.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');

const BASE = process.env.SEGUE_URL.replace(/\/+$/, '');
const OUT = process.env.MAP_OUT || '.';
const LABEL = process.env.MAP_LABEL || 'map';
const [VW, VH] = (process.env.MAP_VIEWPORT || '1280x900').split('x').map(Number);
const DPR = Number(process.env.MAP_DPR || 1);

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
};
const ms = (x) => x.toFixed(x < 10 ? 2 : 1);

// The answer itself: its size, how long the server takes, and revalidation.
let t = performance.now();
let res = await fetch(`${BASE}/api/map`);
const body = Buffer.from(await res.arrayBuffer());
const fetchMs = performance.now() - t;
const etag = res.headers.get('etag');
const points = JSON.parse(body.toString()).count;
t = performance.now();
res = await fetch(`${BASE}/api/map`, { headers: { 'If-None-Match': etag } });
const revalidateMs = performance.now() - t;
const revalidated = res.status;
await res.arrayBuffer();

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: VW, height: VH }, deviceScaleFactor: DPR });
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

const load = async (again) => {
  const t0 = Date.now();
  if (again) await page.reload({ waitUntil: 'commit' });
  else await page.goto(`${BASE}/#/map`, { waitUntil: 'commit' });
  await page.waitForFunction(() => document.querySelector('#page-map')?.dataset.state === 'ready', null, { timeout: 120_000 });
  return Date.now() - t0;
};
const loadMs = await load();
const mapStatus = [];
page.on('response', (r) => { if (r.url().endsWith('/api/map')) mapStatus.push(r.status()); });
const reloadMs = await load(true); // the answer is revalidated, not fetched again
const drawn = await page.evaluate(() => window.segueMap.n);

// Redraws: 100 zoom steps in (x1.05 each, about the middle), 100 pan steps.
const frames = await page.evaluate(() => {
  const m = window.segueMap;
  const time = (f) => { const t0 = performance.now(); f(); m.draw(); return performance.now() - t0; };
  m.resetView();
  m.draw();
  const zoom = [], pan = [], fit = [];
  for (let i = 0; i < 20; i++) fit.push(time(() => {}));
  for (let i = 0; i < 100; i++) zoom.push(time(() => m.zoomAt(1.05, m.w * 0.45, m.h * 0.55)));
  for (let i = 0; i < 100; i++) pan.push(time(() => m.panBy(i % 20 < 10 ? 9 : -9, i % 40 < 20 ? 5 : -5)));
  // The grid lookup under the pointer, at the whole-map zoom.
  m.resetView();
  m.draw();
  let s = 0x12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  const N = 5000;
  const t0 = performance.now();
  let hits = 0;
  for (let i = 0; i < N; i++) hits += m.nearest(rnd() * m.w, rnd() * m.h, 12) >= 0;
  const lookupUs = ((performance.now() - t0) * 1000) / N;
  return { zoom, pan, fit, lookupUs, hits: hits / N, canvas: [m.canvas().width, m.canvas().height] };
});

// Frames while dragging with the mouse for about 2 s: rAF intervals.
const box = await page.locator('#map-canvas').boundingBox();
await page.evaluate(() => {
  window.__frames = [];
  const tick = (t) => { window.__frames.push(t); if (window.__frames.length < 100000) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
});
await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
await page.mouse.wheel(0, -600);
const t0 = Date.now();
let dir = 1;
while (Date.now() - t0 < 2000) {
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + dir * 120, box.y + box.height / 2 + dir * 60, { steps: 20 });
  await page.mouse.up();
  dir = -dir;
}
const dragFrames = await page.evaluate(() => window.__frames.slice(1).map((t, i) => t - window.__frames[i]));
await page.screenshot({ path: path.join(OUT, `map-${LABEL}.png`) });
await browser.close();

const all = [...frames.zoom, ...frames.pan];
const fig = {
  catalogue: LABEL, points, drawn, bytes: body.length, etag,
  fetch_ms: Math.round(fetchMs), revalidate_status: revalidated, revalidate_ms: Math.round(revalidateMs),
  load_ms: loadMs, reload_ms: reloadMs, reload_map_status: mapStatus,
  viewport: `${VW}x${VH}@${DPR}x`, canvas: frames.canvas.join('x'),
  redraw_ms: { median: q(all, 0.5), p95: q(all, 0.95), max: Math.max(...all) },
  zoom_ms: { median: q(frames.zoom, 0.5), p95: q(frames.zoom, 0.95) },
  pan_ms: { median: q(frames.pan, 0.5), p95: q(frames.pan, 0.95) },
  whole_map_ms: { median: q(frames.fit, 0.5) },
  drag_frame_interval_ms: { median: q(dragFrames, 0.5), p95: q(dragFrames, 0.95), frames: dragFrames.length },
  hover_lookup_us: frames.lookupUs, hover_hit_rate: frames.hits,
  errors,
};
fs.writeFileSync(path.join(OUT, `map-${LABEL}.json`), JSON.stringify(fig, null, 1) + '\n');
console.log(`points on the map          ${drawn} of ${points} in /api/map`);
console.log(`GET /api/map               ${(body.length / 1e6).toFixed(2)} MB (${(body.length / points).toFixed(1)} B/point), ${Math.round(fetchMs)} ms; with its ETag: ${revalidated} in ${Math.round(revalidateMs)} ms`);
console.log(`load (navigation to drawn) ${loadMs} ms; reload (map revalidated) ${reloadMs} ms`);
console.log(`redraw, pan or zoom        median ${ms(fig.redraw_ms.median)} ms, p95 ${ms(fig.redraw_ms.p95)} ms (zoom ${ms(fig.zoom_ms.median)}/${ms(fig.zoom_ms.p95)}, pan ${ms(fig.pan_ms.median)}/${ms(fig.pan_ms.p95)}; canvas ${fig.canvas} px)`);
console.log(`whole map redraw           median ${ms(fig.whole_map_ms.median)} ms`);
console.log(`frames while dragging      interval median ${ms(fig.drag_frame_interval_ms.median)} ms, p95 ${ms(fig.drag_frame_interval_ms.p95)} ms (${dragFrames.length} frames)`);
console.log(`point under the pointer    ${frames.lookupUs.toFixed(1)} µs per lookup (grid), ${(100 * frames.hits).toFixed(0)}% of random spots near a point`);
if (errors.length) {
  console.log(`page errors: ${errors.join(' | ')}`);
  process.exit(1);
}
