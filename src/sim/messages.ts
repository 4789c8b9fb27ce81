/**
 * CMDB error codes and their messages in both languages, as bk-cmdb's resources/errors/common/default/common.json
 * (Chinese) and resources/errors/english/en/common.json (English) word them at master 111e7ac. CMDB answers in
 * Chinese unless the request asks for English (X-Bkcmdb-Language: en). Templates use {0}, {1}... for parameters.
 * 1101030 and 1199001 are the simulator's own words (their real texts mean something else): see docs/simulator.md.
 */
export type Lang = 'zh' | 'en';

const MESSAGES: Record<number, { zh: string; en: string }> = {
  0: { zh: 'success', en: 'success' },
  1101030: { zh: '模型 [{0}] 不存在', en: 'model [{0}] not found' },
  1101032: { zh: '管控区域不存在', en: 'bk-network area does not exist' },
  1101038: { zh: '关联关系 {0}->{1} 重复', en: 'the associations {0}->{1} already exist' },
  1101046: { zh: '模型的关联关系不存在', en: 'object association does not exist.' },
  1101052: { zh: '关联关系为1:1的，不能同时关联多个实例', en: 'can not create multiple instance association for a 1:1 association.' },
  1101061: { zh: '关联关系为1:n的，不能同时关联多个源模型实例', en: 'The relationship is 1:n, and multiple source model instances cannot be associated at the same time.' },
  1101073: { zh: '关联实例不存在', en: 'the association inst is not exist' },
  1101074: { zh: '被关联实例不存在', en: 'the  inst to asst  is not exist' },
  1101075: { zh: '实例下有关联关系', en: 'the inst has association' },
  1199000: { zh: '反序列化JSON数据失败', en: 'Deserializing JSON data failed' },
  1199001: { zh: 'JSON 解析失败', en: 'failed to unmarshal the JSON body' },
  1199006: { zh: "'{0}' 数据参数校验不通过", en: "'{0}' data parameter verification does not pass" },
  1199007: { zh: "'{0}' 必须为字符串类型", en: "'{0}' must be a string type" },
  1199009: { zh: "'{0}' 参数必须是整型", en: "'{0}' parameters must be integral" },
  1199010: { zh: "'{0}' 未赋值", en: "'{0}' unassigned" },
  1199011: { zh: "'{0}' 参数无效或不存在", en: "'{0}' the parameter is invalid or does not exist" },
  1199014: { zh: '数据唯一性校验失败， {0} 重复', en: 'duplicated instances exist, fields [{0}] duplicated' },
  1199015: { zh: "'{0}' 数据越界", en: 'Data out of bounds' },
  1199016: { zh: "'{0}' 字段正则校验失败", en: "'{0}' Field regular check failed" },
  1199019: { zh: '未找到相关数据', en: 'No relevant data found' },
  1199025: { zh: "'{0}' 必须为bool类型", en: "'{0}' must be boolean" },
  1199035: { zh: ' {0} 超过限制 {1}', en: ' {0} exceed the limit {1}' },
  1199038: { zh: '数据 {0} 不能为空', en: 'need data {0} is null' },
  1199045: { zh: '解析授权信息失败', en: 'Parse authorize attributes failed.' },
  1199084: { zh: '禁止使用通用实例接口操作内置模型实例', en: 'forbidden operate inner model instance with common instance API' },
  1199089: { zh: '{0}数组长度错误，数组长度必须在1~{1}之间', en: 'the length of array {0} is wrong, the length must be in range 1~{1}' },
  1199092: { zh: '当前字段类型状态为单选，请设置合理数据', en: 'current field type status is single choice, please set reasonable data' },
  1110004: { zh: '创建主机失败', en: 'Failed to create host' },
  1199999: { zh: "'{0}' 服务器内部错误", en: "'{0}' Internal Server Error" },
  9900403: { zh: '没有权限', en: 'you have no permission to do this operation' },
};

export function cmdbMessage(code: number, lang: Lang, ...params: (string | number)[]): string {
  const m = MESSAGES[code];
  if (!m) return `error ${code}`;
  return m[lang].replace(/\{(\d+)\}/g, (_, i: string) => String(params[Number(i)] ?? ''));
}
