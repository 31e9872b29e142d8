// report.html in a real headless Chromium: no console or page errors, every chart drawn on a
// canvas of non-zero size, and a full-page screenshot (kept in $RELAYBENCH_SCREENSHOT_DIR when
// set, else a temp folder; its path is printed). Needs Chromium: see test/helpers/tools.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeRunFolder } from '../../src/results/store.js';
import { syntheticRun } from '../synthetic-run.js';
import { CHROMIUM_PATH as CHROMIUM, describeWithTools } from '../../../test/helpers/tools.js';

const cases = [
  { name: 'smoke', run: () => syntheticRun({ intervals: 30 }), charts: ['distribution', 'throughput', 'latencyTime', 'hops'] },
  {
    name: 'smoke-with-reference',
    run: () => syntheticRun({ intervals: 30, reference: true }),
    charts: ['distribution', 'throughput', 'latencyTime', 'hops', 'segments'],
  },
  {
    name: 'scale-out-phases',
    run: () => syntheticRun({ scenario: 'scale-out', intervals: 10, ratePerSec: 300 }),
    charts: ['distribution', 'throughput', 'latencyTime', 'hops', 'segments'],
  },
];

describeWithTools('report.html in headless Chromium', ['chromium'], () => {
  for (const c of cases) {
    test(`report.html renders in headless Chromium: ${c.name}`, { timeout: 90_000 }, async () => {
      const { chromium } = await import('playwright-core');
      const dir = await mkdtemp(join(tmpdir(), 'rb-report-'));
      const shots = process.env.RELAYBENCH_SCREENSHOT_DIR ?? join(tmpdir(), 'relaybench-screenshots');
      await mkdir(shots, { recursive: true });
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
        ],
      });
      try {
        const { summary, segments } = c.run();
        await writeRunFolder(dir, summary, segments);
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
        page.on('request', (r) => {
          if (!r.url().startsWith('file:')) requests.push(r.url());
        });
        await page.goto(pathToFileURL(join(dir, 'report.html')).href, { waitUntil: 'load' });
        // Browser-side code is passed as strings: this project compiles without the DOM lib.
        await page.waitForFunction('Array.isArray(window.__relaybenchCharts)');
        const drawn = (await page.evaluate('window.__relaybenchCharts')) as string[];
        assert.deepEqual([...drawn].sort(), [...c.charts].sort());
        const canvases = (await page.evaluate(
          '[...document.querySelectorAll("canvas")].map((e) => ({ id: e.id, w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height, pw: e.width }))',
        )) as { id: string; w: number; h: number; pw: number }[];
        assert.equal(canvases.length, c.charts.length);
        for (const cv of canvases) assert.ok(cv.w > 100 && cv.h > 100 && cv.pw > 0, `${cv.id} has size ${cv.w}×${cv.h}`);
        // Something was painted: the distribution canvas is not blank.
        const painted = (await page.evaluate(`(() => {
          const cv = document.getElementById('chart-distribution');
          const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          return n;
        })()`)) as number;
        assert.ok(painted > 1000, `painted pixels: ${painted}`);
        assert.match((await page.textContent('header')) ?? '', /PASS/);
        const shot = join(shots, `report-${c.name}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        assert.ok((await stat(shot)).size > 10_000);
        process.stdout.write(`# screenshot: ${shot}\n`);
        assert.deepEqual(problems, []);
        assert.deepEqual(requests, [], 'the page fetched nothing from the network');
      } finally {
        await browser.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
