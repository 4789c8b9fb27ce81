/**
 * The data commands: each loads rows from a file into one API operation. A manifest holds what the command line,
 * completion and docs need (command, API, batch limits, its own flags, examples); the operation itself
 * (src/operations/) is loaded by src/operations/index.ts only when the command runs.
 */
import { int, on, text, type FlagSet, type Values } from '../flags.js';
import type { OperationManifest } from './manifest.js';
import { dataGroups, type ConnectOptions, type inputFlags, type outputFlags, type runFlags } from './shared.js';

const FILE = [{ spec: '<file>', help: 'input file, or - for stdin' }] as const;
type Described<Own extends FlagSet> = Omit<OperationManifest<Own>, 'service' | 'groups' | 'args' | 'run'>;

/** A data command: `<file>`, the shared groups (CMDB's too for CMDB), run by the pipeline (src/cli/run-command.ts). */
function rows<Own extends FlagSet>(service: 'cmdb' | 'feishu', m: Described<Own>): OperationManifest<Own> {
  const manifest: OperationManifest<Own> = {
    ...m,
    service,
    args: FILE,
    groups: dataGroups(m, service),
    run: async () => {
      const { runRows } = await import('../run-command.js');
      return (o: RowsOptions, args: string[]) => runRows(o, args, manifest);
    },
  };
  return manifest;
}
const cmdb = <Own extends FlagSet>(m: Described<Own>) => rows('cmdb', m);
const feishu = <Own extends FlagSet>(m: Described<Own>) => rows('feishu', m);

const obj = text('--obj <bk_obj_id>', { help: 'model id, e.g. bk_switch', required: true });
const apaasTarget = {
  namespace: text('--namespace <ns>', { help: 'application namespace, e.g. package_demo__c', required: true }),
  object: text('--object <api_name>', { help: 'object API name', required: true }),
};
const apaasNameBy = text('--key <field>', { help: 'name records by this field, unique per record, instead of _id (looked up with batch_query)' });

export const createInst = cmdb({
  name: 'create-inst',
  api: 'batch_create_inst',
  maxBatch: 200,
  defaultBatch: 200,
  summary: 'create instances of a model (batch_create_inst, up to 200 rows a request)',
  own: {
    obj,
    key: text('--key <field>', { help: 'unique field used to check which rows exist after an unclear answer', defaultText: "the model's first unique field" }),
  },
  examples: ['cmdb-bulk create-inst switches.csv --obj bk_switch', 'cat switches.ndjson | cmdb-bulk create-inst - --obj bk_switch --json'],
});

export const updateInst = cmdb({
  name: 'update-inst',
  api: 'batch_update_inst',
  maxBatch: null,
  defaultBatch: 100,
  summary: 'update instances of a model (batch_update_inst; rows carry bk_inst_id, or a unique field with --key)',
  own: {
    obj,
    key: text('--key <field>', { help: 'name instances by this unique field instead of bk_inst_id, e.g. bk_asset_id' }),
  },
  examples: ['cmdb-bulk update-inst changes.csv --obj bk_switch', 'cmdb-bulk update-inst changes.csv --obj bk_switch --key bk_asset_id'],
});

export const updateProcess = cmdb({
  name: 'update-process',
  api: 'update_process_instance',
  maxBatch: 100,
  defaultBatch: 100,
  summary: 'update process instances of a business (update_process_instance, up to 100 rows a request)',
  own: { biz: int('--biz <bk_biz_id>', { help: 'business id', required: true, min: 1 }) },
  examples: ['cmdb-bulk update-process processes.csv --biz 2'],
});

export const associate = cmdb({
  name: 'associate',
  api: 'batch_create_instance_association',
  maxBatch: 200,
  defaultBatch: 200,
  summary: 'create instance associations (batch_create_instance_association, up to 200 rows a request)',
  own: {
    asstId: text('--asst-id <bk_obj_asst_id>', { help: 'association kind, e.g. bk_switch_connect_host (or a bk_obj_asst_id column in the rows)' }),
    obj: text('--obj <bk_obj_id>', { help: 'source model', defaultText: 'found from the association kind' }),
    asstObj: text('--asst-obj <bk_obj_id>', { help: 'target model', defaultText: 'found from the association kind' }),
    key: text('--key <field>', { help: 'name source instances by this unique field instead of bk_inst_id' }),
    asstKey: text('--asst-key <field>', {
      help: 'name target instances by this unique field (column asst_<field>, or bk_asst_<field without bk_> such as bk_asst_host_innerip) instead of bk_asst_inst_id',
    }),
  },
  examples: [
    'cmdb-bulk associate links.csv --asst-id bk_switch_connect_host',
    'cmdb-bulk associate links.csv --asst-id bk_switch_connect_host --key bk_asset_id --asst-key bk_host_innerip',
  ],
});

export const deleteInst = cmdb({
  name: 'delete-inst',
  api: 'batch_delete_inst',
  maxBatch: null,
  defaultBatch: 200,
  summary: 'delete instances of a model (batch_delete_inst; rows carry bk_inst_id, or a unique field with --key); shows the totals and asks first',
  own: {
    obj,
    key: text('--key <field>', { help: 'name instances by this unique field instead of bk_inst_id, e.g. bk_asset_id' }),
    yes: on('--yes', { help: 'delete without asking (required when the input is not a terminal)' }),
    maxDelete: int('--max-delete <n>', { help: 'delete nothing when more than n instances would go', min: 0 }),
  },
  examples: ['cmdb-bulk delete-inst retire.csv --obj bk_switch --key bk_asset_id', 'cmdb-bulk delete-inst retire.csv --obj bk_switch --key bk_asset_id --yes --max-delete 50'],
});

const revertRows = cmdb({
  name: 'revert',
  api: 'batch_update_inst / batch_delete_inst / batch_create_inst',
  maxBatch: 200,
  defaultBatch: 100,
  summary: 'undo a finished run from its report: updates put back (unless changed since: conflict), creates deleted, deletes created again (docs/revert.md)',
  own: {
    obj: text('--obj <bk_obj_id>', { help: "the model the run wrote to, for a report that does not say it (no target column: an older cmdb-bulk's); must agree with the report's" }),
    yes: on('--yes', { help: 'delete the instances a create made without asking (required when the input is not a terminal)' }),
  },
  examples: ['cmdb-bulk revert switches.update-inst.latest.report.csv --dry-run', 'cmdb-bulk revert switches.create-inst.latest.report.csv --yes'],
});
/** revert reads a report, not an input file. */
export const revert: OperationManifest<typeof revertRows.own> = {
  ...revertRows,
  args: [{ spec: '<report>', help: 'the report of a finished update-inst, create-inst, delete-inst, sync or revert run' }],
};

export const apaasUpdate = feishu({
  name: 'apaas-update',
  api: 'records batch_update',
  maxBatch: 500,
  defaultBatch: 500,
  summary: 'update Feishu aPaaS object records (records batch_update, up to 500 a request; rows carry _id, or a unique field with --key)',
  own: { ...apaasTarget, key: apaasNameBy },
  examples: [
    'cmdb-bulk apaas-update devices.ndjson --namespace package_demo__c --object device',
    'cmdb-bulk apaas-update changes.csv --namespace package_demo__c --object device --key serial_no',
  ],
});

export const apaasCreate = feishu({
  name: 'apaas-create',
  api: 'records batch_create',
  maxBatch: 500,
  defaultBatch: 500,
  summary: 'create Feishu aPaaS object records (records batch_create, up to 500 a request)',
  own: {
    ...apaasTarget,
    key: text('--key <field>', { help: 'field unique per record: records whose value exists are not created (looked up first), nor two rows of one value' }),
  },
  examples: ['cmdb-bulk apaas-create new.csv --namespace package_demo__c --object device --key serial'],
});

export const apaasDelete = feishu({
  name: 'apaas-delete',
  api: 'records batch_delete',
  maxBatch: 500,
  defaultBatch: 500,
  summary: 'delete Feishu aPaaS object records (records batch_delete; rows carry _id, or a unique field with --key)',
  own: { ...apaasTarget, key: apaasNameBy },
  examples: [
    'cmdb-bulk apaas-delete old.csv --namespace package_demo__c --object device',
    'cmdb-bulk apaas-delete old.csv --namespace package_demo__c --object device --key serial_no',
  ],
});

const syncRows = cmdb({
  name: 'sync',
  api: 'batch_create_inst + batch_update_inst',
  maxBatch: 200,
  defaultBatch: 200,
  summary: 'make a model hold what the file says, by a unique field: creates what is missing, updates only the fields that differ, leaves equal rows alone (docs/sync.md)',
  own: {
    obj: text('--obj <bk_obj_id>', { help: 'model id, e.g. bk_switch (required unless --apply)' }),
    key: text('--key <field>', { help: "unique field that names each row's instance, e.g. bk_asset_id (required unless --apply)" }),
    planOnly: on('--plan-only', { help: 'compute the plan and write it (--plan), send nothing' }),
    plan: text('--plan <path>', { help: 'where the plan goes', defaultText: 'with --plan-only, <file>.sync.plan.ndjson next to the input' }),
    apply: text('--apply <plan>', { help: 'apply a plan written by --plan-only (no <file>); rows whose server values changed since are failed (conflict), never overwritten' }),
    prune: on('--prune', { help: "also delete the model's instances that the file does not name (batch_delete_inst; needs --yes, or a y in a terminal)" }),
    yes: on('--yes', { help: 'confirm the deletes of --prune without asking' }),
    maxDelete: int('--max-delete <n>', { help: 'with --prune: delete nothing when more than n instances would go', min: 0 }),
  },
  examples: [
    'cmdb-bulk sync switches.csv --obj bk_switch --key bk_asset_id',
    'cmdb-bulk sync switches.csv --obj bk_switch --key bk_asset_id --plan-only --plan plan.ndjson',
    'cmdb-bulk sync --apply plan.ndjson',
  ],
});
/** sync takes a file, or none with --apply <plan>. */
export const sync: OperationManifest<typeof syncRows.own> = { ...syncRows, args: [{ spec: '[file]', help: 'input file, or - for stdin (none with --apply)' }] };

export const apaasSync = feishu({
  name: 'apaas-sync',
  api: 'records batch_create + batch_update',
  maxBatch: 500,
  defaultBatch: 500,
  summary: 'make an aPaaS object hold what the file says, by a field unique per record: creates what is missing, updates only the fields that differ (docs/sync.md)',
  own: { ...apaasTarget, key: text('--key <field>', { help: "field unique per record that names each row's record, e.g. serial_no", required: true }) },
  examples: ['cmdb-bulk apaas-sync devices.csv --namespace package_demo__c --object device --key serial_no'],
});

/** The data commands, in help order. */
export const operationManifests: readonly OperationManifest[] = [createInst, updateInst, updateProcess, associate, deleteInst, revert, apaasUpdate, apaasCreate, apaasDelete, sync, apaasSync];

/** The operations' own options, as one bag (any operation may read any of them; each declares its own). */
export type OperationFlagValues = Partial<
  Values<typeof createInst.own> &
    Values<typeof updateInst.own> &
    Values<typeof updateProcess.own> &
    Values<typeof associate.own> &
    Values<typeof deleteInst.own> &
    Values<typeof revert.own> &
    Values<typeof apaasUpdate.own> &
    Values<typeof apaasCreate.own> &
    Values<typeof apaasDelete.own> &
    Values<typeof sync.own> &
    Values<typeof apaasSync.own>
>;

/** A data command's options: the shared groups' and the operations' own. */
export type RowsOptions = Values<typeof inputFlags.flags> &
  Values<typeof outputFlags.flags> &
  Values<ReturnType<typeof runFlags>['flags']> &
  ConnectOptions &
  OperationFlagValues;
