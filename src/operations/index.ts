/**
 * The table of operations, each loaded only when its command runs: adding an API operation is one module, one
 * line here, and its manifest (src/cli/manifests/operations.ts: command, flags, limits, examples).
 */
import type { Operation } from './types.js';

const table: Readonly<Record<string, () => Promise<Operation>>> = {
  'create-inst': async () => (await import('./cmdb/create-inst.js')).createInst,
  'update-inst': async () => (await import('./cmdb/update-inst.js')).updateInst,
  'update-process': async () => (await import('./cmdb/update-process.js')).updateProcess,
  associate: async () => (await import('./cmdb/associate.js')).associate,
  'delete-inst': async () => (await import('./cmdb/delete-inst.js')).deleteInst,
  revert: async () => (await import('./revert.js')).revert,
  'apaas-update': async () => (await import('./feishu/records.js')).apaasUpdate,
  'apaas-create': async () => (await import('./feishu/records.js')).apaasCreate,
  'apaas-delete': async () => (await import('./feishu/records.js')).apaasDelete,
  sync: async () => (await import('./sync.js')).sync,
  'apaas-sync': async () => (await import('./apaas-sync.js')).apaasSync,
};

/** The commands that have an operation. */
export const operationCommands = Object.keys(table);

/** The operation behind a data command, or undefined when the command has none. */
export async function loadOperation(command: string): Promise<Operation | undefined> {
  return Object.hasOwn(table, command) ? table[command]!() : undefined;
}
