/** export and apaas-export: read everything into a file that loads back. Implementation: src/commands/export.ts. */
import { choice, int, on, text } from '../flags.js';
import type { CommandManifest } from './manifest.js';
import { cmdbFlags, outputFlags, sendingFlags, targetFlags, type FlagGroup } from './shared.js';

/** Where the file goes and what is in it; the terminal flags are the data commands' own. */
const fileFlags: FlagGroup = {
  title: 'File',
  flags: {
    out: text('--out <path>', { help: 'file to write ("-" for stdout)', defaultText: '<name>.<format> in the current folder' }),
    format: choice('--format <format>', ['csv', 'ndjson', 'json', 'xlsx', 'cmdb-xlsx'], { help: 'file format', defaultText: 'the --out extension, else csv' }),
    fields: text('--fields <a,b>', { help: 'only these fields (the id column always comes first)', defaultText: 'every field update-inst can load back' }),
    // 500: common.BKMaxInstanceLimit, the most search_object_instances and search_instance_associations return.
    pageSize: int('--page-size <n>', { help: 'rows per request', default: 500, min: 1, max: 500, maxReason: 'the 500 rows one search request may ask for' }),
    overwrite: on('--overwrite', { help: 'replace an existing --out file (only once the new one is complete)' }),
    json: outputFlags.flags.json,
    quiet: outputFlags.flags.quiet,
    progress: outputFlags.flags.progress,
    color: outputFlags.flags.color,
    verbose: outputFlags.flags.verbose,
  },
};

const exportOwn = {
  obj: text('--obj <bk_obj_id>', { help: 'model id, e.g. bk_switch (custom models and host)', conflicts: ['assoc'] }),
  assoc: text('--assoc <bk_obj_asst_id>', { help: 'write the associations of this kind instead, in the columns associate reads', conflicts: ['obj'] }),
  // Repeatable: commander collects the values of a variadic option over every --where given.
  where: text('--where <field=value...>', { help: 'only instances whose field has this value (repeatable; a field given twice matches either value)' }),
};

const apaasOwn = {
  namespace: text('--namespace <ns>', { help: 'application namespace, e.g. package_demo__c', required: true }),
  object: text('--object <api_name>', { help: 'object API name', required: true }),
};

export const exportCommand: CommandManifest<typeof exportOwn> = {
  name: 'export',
  summary: 'write every instance of a model (or every association of a kind) to a file that loads back unchanged, paged stably by id',
  args: [],
  groups: [fileFlags, targetFlags, cmdbFlags, sendingFlags],
  own: exportOwn,
  examples: [
    'cmdb-bulk export --obj bk_switch --out switches.csv',
    'cmdb-bulk export --obj bk_switch --where vendor=huawei --fields bk_asset_id,bk_sn',
    'cmdb-bulk export --assoc bk_switch_connect_host --out links.csv',
  ],
  run: async () => (await import('../../commands/export.js')).exportAction,
};

export const apaasExport: CommandManifest<typeof apaasOwn> = {
  name: 'apaas-export',
  summary: 'write every record of a Feishu aPaaS object to a file (records batch_query, paged by page token)',
  args: [],
  groups: [fileFlags, targetFlags, sendingFlags],
  own: apaasOwn,
  examples: ['cmdb-bulk apaas-export --namespace package_demo__c --object device --fields name,serial_no --out devices.ndjson'],
  run: async () => (await import('../../commands/export.js')).apaasExportAction,
};
