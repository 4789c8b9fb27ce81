/**
 * CMDB error codes and their messages in both languages. CMDB answers in
 * Chinese unless the request asks for English (X-Bkcmdb-Language: en).
 * Templates use {0}, {1}... for parameters.
 */
export type Lang = 'zh' | 'en';

const MESSAGES: Record<number, { zh: string; en: string }> = {
  0: { zh: 'success', en: 'success' },
  1101030: { zh: '模型 [{0}] 不存在', en: 'model [{0}] not found' },
  1101038: { zh: '关联关系已存在', en: 'the association already exists' },
  1101046: { zh: '模型关联 [{0}] 不存在', en: 'model association [{0}] not found' },
  1101052: { zh: '该关联关系为一对一关联，源实例或目标实例已存在关联', en: 'the association mapping is 1:1, the source or target instance is already associated' },
  1101061: { zh: '该关联关系为一对多关联，目标实例已关联其他源实例', en: 'the association mapping is 1:n, the target instance is already associated with another source instance' },
  1101073: { zh: '源实例不存在', en: 'the source instance does not exist' },
  1101074: { zh: '关联实例不存在', en: 'the target (associated) instance does not exist' },
  1101075: { zh: '实例存在关联关系，不能删除', en: 'the instance still has associations and cannot be deleted' },
  1199000: { zh: '参数 [{0}] 类型错误: {1}', en: "parameter '{0}' has a wrong JSON type: {1}" },
  1199001: { zh: 'JSON 解析失败', en: 'failed to unmarshal the JSON body' },
  1199006: { zh: '参数 [{0}] 无效', en: "parameter '{0}' is invalid" },
  1199009: { zh: '参数 [{0}] 必须为数字类型: {1}', en: "parameter '{0}' must be a number of the right kind: {1}" },
  1199010: { zh: '参数 [{0}] 未赋值', en: "'{0}' unassigned: the field is required" },
  1199011: { zh: "'{0}' 参数不合法或不存在", en: "'{0}' the parameter is invalid or does not exist" },
  1199014: { zh: '数据唯一性校验失败， [{0}] 重复', en: 'Data uniqueness check failed, [{0}] duplicated' },
  1199019: { zh: '实例不存在', en: 'instance not found' },
  1199025: { zh: '参数 [{0}] 必须为布尔类型', en: "parameter '{0}' must be a boolean" },
  1199035: { zh: '数据个数超过最大限制 {0}', en: 'the data count exceed max limit {0}' },
  1199038: { zh: '参数 [{0}] 不能为空', en: "parameter '{0}' is empty" },
  1199045: { zh: '参数 [{0}] 的 id 必须大于 0', en: "ids in '{0}' must be greater than 0" },
  1199084: { zh: '内置模型 [{0}] 不允许此操作', en: 'built-in model [{0}] is not allowed for this operation' },
  1199999: { zh: '服务内部错误', en: 'internal server error' },
  9900403: { zh: '没有权限', en: 'you have no permission to do this operation' },
};

export function cmdbMessage(code: number, lang: Lang, ...params: (string | number)[]): string {
  const m = MESSAGES[code];
  if (!m) return `error ${code}`;
  return m[lang].replace(/\{(\d+)\}/g, (_, i: string) => String(params[Number(i)] ?? ''));
}

/**
 * A per-row error as it appears in `error_msg` maps. The real server puts only a
 * message there; the simulator prefixes the code in brackets so a client (and a
 * test) can recover it: "[1199014] Data uniqueness check failed, [bk_asset_id: X] duplicated".
 */
export function rowError(code: number, message: string): string {
  return `[${code}] ${message}`;
}
