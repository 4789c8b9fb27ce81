/**
 * The table of commands, in help order. A command is a manifest (what it is called, what it takes) plus an
 * implementation loaded when it runs: adding one is a manifest in operations.ts or tools.ts and a line here.
 */
import type { CommandManifest } from './manifest.js';
import { operationManifests } from './operations.js';
import { completion, configCheck, sim } from './tools.js';

export const commands: readonly CommandManifest[] = [...operationManifests, sim, configCheck, completion];

/** Commands that only group others (`config check`): their help. */
export const groupsOfCommands: Readonly<Record<string, { summary: string; examples: readonly string[] }>> = {
  config: { summary: 'settings: where they come from, and whether they work', examples: ['cmdb-bulk config check'] },
};

export const program = {
  name: 'cmdb-bulk',
  summary:
    'Bulk-load CSV / JSON / NDJSON files into BlueKing CMDB and Feishu aPaaS: checks every row first, batches under the API limits, keeps rate limits, retries safely, and reports every row.',
  notes: `Exit codes: 0 all ok · 2 usage or input error, nothing sent · 3 some rows failed/invalid/unsent
            4 auth, permission or configuration · 5 server unreachable · 130 interrupted · 1 internal error
Environment: CMDB_URL CMDB_GATEWAY BK_APP_CODE BK_APP_SECRET BK_USERNAME BK_TOKEN
             FEISHU_URL FEISHU_APP_ID FEISHU_APP_SECRET CMDB_BULK_PROFILE NO_COLOR CI
Try it without a server:  cmdb-bulk create-inst fixtures/switches.csv --obj bk_switch --sandbox
Docs: docs/README.md`,
};
