#!/usr/bin/env node
// The demo: start the built-in simulator, load the sample files in fixtures/ into it with the built CLI, and show
// the reports. Nothing leaves this machine. Run with `npm run demo` (it builds first).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { startSimulator } = await import(join(root, 'dist/sim/index.js'));
const sim = await startSimulator({});
const out = mkdtempSync(join(tmpdir(), 'cmdb-bulk-demo-'));
const env = {
  ...process.env,
  CMDB_URL: sim.urls.apigw,
  BK_APP_CODE: sim.credentials.bkAppCode,
  BK_APP_SECRET: sim.credentials.bkAppSecret,
  BK_USERNAME: 'admin',
  FEISHU_URL: sim.urls.feishu,
  FEISHU_APP_ID: sim.credentials.feishuAppId,
  FEISHU_APP_SECRET: sim.credentials.feishuAppSecret,
};

const steps = [
  ['create-inst', 'switches.csv', ['--obj', 'bk_switch']],
  ['create-inst', 'switches.json', ['--obj', 'bk_switch']],
  ['update-inst', 'switch-updates.csv', ['--obj', 'bk_switch']],
  ['associate', 'links.csv', ['--asst-id', 'bk_switch_connect_host']],
  ['update-process', 'processes.csv', ['--biz', '2']],
  ['apaas-update', 'devices.ndjson', ['--namespace', 'package_demo__c', '--object', 'device']],
];

let failures = 0;
try {
  console.log(`Simulator: CMDB apigw ${sim.urls.apigw} · Feishu ${sim.urls.feishu}\n`);
  for (const [command, file, args] of steps) {
    const input = join(root, 'fixtures', file);
    if (!existsSync(input)) continue;
    const report = join(out, `${file}.${command}.report.csv`);
    const argv = [join(root, 'bin/cmdb-bulk.js'), command, input, ...args, '--report', report, '--no-progress'];
    console.log(`$ cmdb-bulk ${command} fixtures/${file} ${args.join(' ')}`);
    // Asynchronously: the simulator runs in this process and must keep answering while the CLI works.
    const status = await new Promise((done) => spawn(process.execPath, argv, { env, stdio: ['ignore', 'inherit', 'inherit'] }).on('close', done));
    if (status !== 0) failures++;
    if (!existsSync(report)) continue;
    const lines = readFileSync(report, 'utf8').split('\n');
    console.log(`  report ${report} (first lines):`);
    for (const l of lines.slice(0, 4)) console.log(`    ${l.length > 140 ? l.slice(0, 140) + '…' : l}`);
    console.log('');
  }
  const c = sim.counters();
  console.log(`The simulator now holds ${sim.store.instances('bk_switch').length} switches; it served ${c.writeRequests} write requests, ${c.http429} rate-limit answers.`);
  console.log(`Reports are in ${out}`);
} finally {
  await sim.close();
}
process.exit(failures ? 3 : 0);
