import { defineConfig } from '@playwright/test';

// Started by `npm run e2e` (e2e/run.mjs), which starts the server and sets BACKLINE_URL.
// The voice spec needs a loopback-only network namespace and fake media devices: it runs only with
// `npm run e2e:voice` (BACKLINE_E2E_VOICE=1, `unshare --net`).
const voice = !!process.env.BACKLINE_E2E_VOICE;

export default defineConfig({
  testDir: './e2e',
  testMatch: /.*\.spec\.ts/,
  testIgnore: voice ? [] : [/voice\.spec\.ts/],
  timeout: 90_000,
  expect: { timeout: 10_000 },
  workers: 1,
  fullyParallel: false,
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    baseURL: process.env.BACKLINE_URL ?? 'http://127.0.0.1:8080',
    viewport: { width: 1280, height: 720 },
    actionTimeout: 10_000,
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
        ...(voice ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection'] : []),
      ],
    },
  },
});
