// OHIF v3 (bundled with MONAI Label) in headless Debian chromium: open a study in the MONAI Label mode, load one
// block of an angled axial series (a virtual series served by the app's DICOMweb proxy), connect the MONAI Label
// panel, run the segmentation model and check that an overlay appears. Screenshots go to OUT_DIR.
//
//   APP_URL=http://127.0.0.1:8000 STUDY_UID=... SERIES_LABEL='[block 3/5]' EXPECT_IMAGE=<series>_block2 \
//   OUT_DIR=/tmp/shots node tests/browser/ohif_segmentation.mjs
//
// Run by tests/pacs/test_ohif_browser.py. Prints one JSON line (the summary) last; exits 1 with the reason on failure.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`environment variable ${name} is required`);
  return value;
};
const APP_URL = env('APP_URL').replace(/\/$/, '');
const STUDY_UID = env('STUDY_UID');
const SERIES_LABEL = env('SERIES_LABEL');
const EXPECT_IMAGE = env('EXPECT_IMAGE');
const OUT_DIR = env('OUT_DIR');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const STEP_MS = Number(env('STEP_TIMEOUT_MS', '60000'));
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--enable-unsafe-swiftshader', '--disable-dev-shm-usage'];

fs.mkdirSync(OUT_DIR, { recursive: true });
const summary = { steps: [], requests: [], errors: [] };
const step = (name, t0) => summary.steps.push({ name, ms: Date.now() - t0 });

// Pixels of the viewport canvas that are clearly coloured (a grey MR image has r = g = b): the segmentation overlay.
async function colouredPixels(page, canvas) {
  const png = await canvas.screenshot();
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 40) n++;
    }
    return { coloured: n, total: d.length / 4 };
  }, png.toString('base64'));
}

// An overlay: at least 0.2 % of the viewport (and 300 pixels) newly coloured.
const overlayShown = (before, after) => after.coloured - before.coloured > Math.max(300, 0.002 * after.total);

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: STEP_MS });
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const host = new URL(APP_URL).hostname;
  await context.addCookies([{ name: 'MONAILABEL_SERVER_URL', value: `${APP_URL}/`, domain: host, path: '/' }]);
  page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('pageerror', (e) => summary.errors.push(String(e).slice(0, 300)));
  page.on('response', (r) => {
    const u = r.url();
    if (u.includes('/infer/') || u.includes('/info/') || (u.includes('/proxy/dicom/') && !u.includes('/frames/'))) {
      summary.requests.push({ status: r.status(), url: u.replace(APP_URL, '').slice(0, 240) });
    }
  });

  let t0 = Date.now();
  await page.goto(`${APP_URL}/ohif/monai-label?StudyInstanceUIDs=${STUDY_UID}`, { waitUntil: 'domcontentloaded' });
  const thumbnail = page.getByText(SERIES_LABEL, { exact: false }).first();
  await thumbnail.waitFor({ state: 'visible' });
  step('study opened, series list shown', t0);
  const hide = page.getByRole('button', { name: 'Confirm and Hide' });
  if (await hide.isVisible().catch(() => false)) await hide.click();

  t0 = Date.now();
  await thumbnail.dblclick();
  const viewport = page.locator('canvas.cornerstone-canvas').first();
  await viewport.waitFor({ state: 'visible' });
  await page.waitForFunction((label) => [...document.querySelectorAll('*')]
    .some((e) => e.childElementCount === 0 && e.textContent.includes(label) && e.closest('.viewport-wrapper, [data-viewportid]')),
  SERIES_LABEL.slice(0, 12), { timeout: STEP_MS }).catch(() => {});
  await page.waitForTimeout(2000);
  await page.screenshot({ path: path.join(OUT_DIR, '01_block_loaded.png') });
  step('block series loaded in the viewport', t0);
  const before = await colouredPixels(page, viewport);

  t0 = Date.now();
  const info = page.waitForResponse((r) => r.url().includes('/info/') && r.request().method() === 'GET');
  await page.locator('#monailabelServerURL').fill(`${APP_URL}/`);
  await page.locator('#monailabelServerURL').locator('xpath=ancestor::tr[1]').locator('button.actionButton').click();
  const infoResponse = await info;
  if (infoResponse.status() !== 200) throw new Error(`GET /info/ answered ${infoResponse.status()}`);
  await page.getByText('Auto-Segmentation', { exact: true }).first().waitFor({ state: 'visible' });
  step('MONAI Label panel connected', t0);

  t0 = Date.now();
  await page.getByText('Auto-Segmentation', { exact: true }).first().click();
  const runButton = page.locator('button[title="Run Segmentation"]').first();
  await runButton.waitFor({ state: 'visible' });
  await page.screenshot({ path: path.join(OUT_DIR, '02_panel_connected.png') });
  const inferDone = page.waitForResponse((r) => r.url().includes('/infer/segmentation'), { timeout: STEP_MS * 3 });
  await runButton.click();
  const infer = await inferDone;
  const inferUrl = new URL(infer.url());
  summary.infer = { status: infer.status(), image: inferUrl.searchParams.get('image'),
    output: inferUrl.searchParams.get('output') };
  if (infer.status() !== 200) throw new Error(`/infer/segmentation answered ${infer.status()}`);
  if (summary.infer.image !== EXPECT_IMAGE) {
    throw new Error(`the panel sent image=${summary.infer.image}, expected the block id ${EXPECT_IMAGE}`);
  }
  step('segmentation run from the panel', t0);

  t0 = Date.now();
  let after = before;
  const deadline = Date.now() + STEP_MS;
  while (Date.now() < deadline) {
    await page.waitForTimeout(1000);
    after = await colouredPixels(page, viewport);
    if (overlayShown(before, after)) break;
  }
  summary.overlay = { before: before.coloured, after: after.coloured, total: after.total };
  await page.screenshot({ path: path.join(OUT_DIR, '03_segmentation_overlay.png') });
  await viewport.screenshot({ path: path.join(OUT_DIR, '04_viewport_overlay.png') });
  if (!overlayShown(before, after)) {
    throw new Error(`no segmentation overlay appeared (coloured pixels ${before.coloured} -> ${after.coloured})`);
  }
  step('overlay shown', t0);
  summary.ok = true;
} catch (e) {
  summary.ok = false;
  summary.failure = String(e && e.message ? e.message : e).slice(0, 1000);
  if (page) await page.screenshot({ path: path.join(OUT_DIR, '99_failure.png') }).catch(() => {});
} finally {
  await browser.close().catch(() => {});
}
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
