/** Reading add_host_to_resource_pool's answer (src/operations/cmdb/host-create.ts): every row by its index. */
import { describe, expect, it } from 'vitest';
import { readHostsAdded } from '../../src/operations/cmdb/host-create.js';

describe('readHostsAdded', () => {
  it('ok with the new id; failed with the server\'s words; created-then-failed is ok; a row in neither list is unknown, never ok', () => {
    const results = readHostsAdded({
      success: [{ index: 0, bk_host_id: 501 }],
      error: [
        { index: 1, error_message: 'duplicated instances exist, fields [bk_host_innerip] duplicated' },
        { index: 2, bk_host_id: 502, error_message: 'save audit log failed' },
      ],
    }, 4);
    expect(results[0]).toEqual({ ok: true, id: 501 });
    expect(results[1]).toEqual({ ok: false, code: 'duplicate', error: 'duplicated instances exist, fields [bk_host_innerip] duplicated' });
    expect(results[2]).toMatchObject({ ok: true, id: 502, detail: expect.stringContaining('save audit log failed') });
    expect(results[3]).toMatchObject({ ok: false, code: 'protocol' });
  });
});
