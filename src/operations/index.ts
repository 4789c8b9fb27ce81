/** The table of operations: adding an API operation is one module and one line here. */
import type { Operation } from './types.js';
import { createInst } from './cmdb/create-inst.js';
import { updateInst } from './cmdb/update-inst.js';
import { updateProcess } from './cmdb/update-process.js';
import { associate } from './cmdb/associate.js';
import { deleteInst } from './cmdb/delete-inst.js';
import { revert } from './revert.js';
import { apaasCreate, apaasDelete, apaasUpdate } from './feishu/records.js';
import { sync } from './sync.js';

export const operations: Record<string, Operation> = Object.fromEntries(
  [createInst, updateInst, updateProcess, associate, deleteInst, revert, apaasUpdate, apaasCreate, apaasDelete, sync].map((op) => [op.command, op]),
);
