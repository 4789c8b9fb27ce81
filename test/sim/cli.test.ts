import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { runSimCommand, describeSimulator } from '../../src/sim/cli.js';
import { startSimulator, DEMO_CREDENTIALS } from '../../src/sim/index.js';
import { call } from './helpers.js';

describe('sim command', () => {
  it('prints the URLs, the demo credentials and export lines, serves, and stops cleanly', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => (text += String(c)));
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const saved = { ...process.env };
    for (const k of ['BK_APP_CODE', 'BK_APP_SECRET', 'FEISHU_APP_ID', 'FEISHU_APP_SECRET']) delete process.env[k];
    try {
      const running = runSimCommand({ port: 0, errorRate: 0 }, out, until);
      while (!text.includes('Ctrl-C')) await new Promise((r) => setTimeout(r, 5));
      const url = /export CMDB_URL='([^']+)'/.exec(text)![1]!;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/bk-cmdb\/prod$/);
      expect(text).toContain(`export BK_APP_SECRET='${DEMO_CREDENTIALS.bkAppSecret}'`);
      expect(text).toContain(`export FEISHU_APP_SECRET='${DEMO_CREDENTIALS.feishuAppSecret}'`);
      const control = url.replace('/api/bk-cmdb/prod', '/__sim/counters');
      expect((await call(control, 'GET')).status).toBe(200);
      stop();
      await running;
      expect(text).toContain('simulator stopped');
      await expect(call(control, 'GET')).rejects.toThrow();
    } finally {
      Object.assign(process.env, saved);
    }
  });

  it('never prints secrets that are not the demo ones', async () => {
    const sim = await startSimulator({ credentials: { bkAppCode: 'my-app', bkAppSecret: 'real-secret-1', feishuAppId: 'cli_real', feishuAppSecret: 'real-secret-2' } });
    try {
      const text = describeSimulator(sim);
      expect(text).toContain("export BK_APP_CODE='my-app'");
      expect(text).toContain("export FEISHU_APP_ID='cli_real'");
      expect(text).not.toContain('real-secret-1');
      expect(text).not.toContain('real-secret-2');
    } finally {
      await sim.close();
    }
  });
});

describe('resolveCredentials', () => {
  it('takes options over environment over demo, field by field', async () => {
    const { resolveCredentials } = await import('../../src/sim/index.js');
    const c = resolveCredentials({ feishuAppId: 'cli_opt' }, { BK_APP_CODE: 'env-app', FEISHU_APP_ID: 'cli_env' });
    expect(c).toEqual({ bkAppCode: 'env-app', bkAppSecret: DEMO_CREDENTIALS.bkAppSecret, feishuAppId: 'cli_opt', feishuAppSecret: DEMO_CREDENTIALS.feishuAppSecret });
  });
});

describe('sim command input checks', () => {
  it('refuses a share outside 0..1 and a busy port with a usage error (exit 2)', async () => {
    const out = new PassThrough();
    await expect(runSimCommand({ errorRate: 1.5 }, out)).rejects.toMatchObject({ exitCode: 2 });
    const busy = await startSimulator();
    try {
      await expect(runSimCommand({ port: busy.port }, out)).rejects.toMatchObject({ exitCode: 2 });
    } finally {
      await busy.close();
    }
  });
});
