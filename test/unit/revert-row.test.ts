import { describe, expect, it } from 'vitest';
import { readReportRow, sameValue } from '../../src/operations/revert-row.js';

describe('readReportRow', () => {
  it('reads a CSV report row: text id, before as JSON text, the input columns (input.-prefixed on a clash)', () => {
    const x = readReportRow({ row: '2', status: 'ok', id: '1003', error_code: '', error: '', detail: '', action: 'update', before: '{"port_count":48}', fingerprint: '3f1c0a9e', target: 'bk_switch', port_count: '24', 'input.status': 'live', 'input.target': 'edge' });
    expect(x).toEqual({ status: 'ok', action: 'update', target: 'bk_switch', id: 1003, before: { port_count: 48 }, written: { port_count: '24', status: 'live', target: 'edge' } });
  });

  it('reads an NDJSON report row: values as they are, the input under "input"', () => {
    const x = readReportRow({ row: 1, status: 'ok', id: 7, action: 'delete', before: { bk_inst_name: 'a' }, target: 'bk_switch', input: { bk_inst_id: 7 } });
    expect(x).toEqual({ status: 'ok', action: 'delete', target: 'bk_switch', id: 7, before: { bk_inst_name: 'a' }, written: { bk_inst_id: 7 } });
  });

  it('a report written before the target column: the target is empty', () => {
    expect(readReportRow({ row: '1', status: 'ok', id: '5', action: 'create', port_count: '8' })).toMatchObject({ target: '', written: { port_count: '8' } });
  });

  it('says what is wrong with a row it cannot use', () => {
    expect(readReportRow({ status: 'ok', before: '{port' }).problem).toBe('the before column is not valid JSON');
    expect(readReportRow({ status: 'ok', before: '[1]' }).problem).toBe('the before column is not a JSON object');
    expect(readReportRow({ bk_inst_id: 1 }).problem).toContain('no status column');
  });
});

describe('sameValue', () => {
  it('a CSV cell equals the server value it spells', () => {
    expect(sameValue(24, '24')).toBe(true);
    expect(sameValue(true, 'true')).toBe(true);
    expect(sameValue(['a'], ['a'])).toBe(true);
    expect(sameValue(null, '')).toBe(true);
  });
  it('different values, or a value against none, differ', () => {
    expect(sameValue(99, '8')).toBe(false);
    expect(sameValue(null, '8')).toBe(false);
    expect(sameValue('x', undefined)).toBe(false);
  });
});
