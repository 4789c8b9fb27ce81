/**
 * The data commands: each loads rows from a file into one API operation. A manifest holds what the command line,
 * completion and docs need (command, API, batch limits, its own flags, examples); the operation itself
 * (src/operations/) is loaded by src/operations/index.ts only when the command runs.
 */
import { int, text, type FlagSet, type Values } from '../flags.js';
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

/** The data commands, in help order. */
export const operationManifests: readonly OperationManifest[] = [createInst, updateInst, updateProcess, associate, apaasUpdate, apaasCreate, apaasDelete];

/** The operations' own options, as one bag (any operation may read any of them; each declares its own). */
export type OperationFlagValues = Partial<
  Values<typeof createInst.own> &
    Values<typeof updateInst.own> &
    Values<typeof updateProcess.own> &
    Values<typeof associate.own> &
    Values<typeof apaasUpdate.own> &
    Values<typeof apaasCreate.own> &
    Values<typeof apaasDelete.own>
>;

/** A data command's options: the shared groups' and the operations' own. */
export type RowsOptions = Values<typeof inputFlags.flags> &
  Values<typeof outputFlags.flags> &
  Values<ReturnType<typeof runFlags>['flags']> &
  ConnectOptions &
  OperationFlagValues;
