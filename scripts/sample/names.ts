/**
 * Name lists for the synthetic town. Everything here is invented for the sample (合成数据): any
 * resemblance of a person, company, compound or school to a real one is accidental.
 */
import type { Rng } from './prng';

/** Common surnames, weighted roughly as in south-west China. */
const SURNAMES: readonly (readonly [string, number])[] = [
  ['王', 70], ['李', 75], ['张', 70], ['刘', 60], ['陈', 55], ['杨', 45], ['黄', 30], ['赵', 25], ['吴', 25],
  ['周', 30], ['徐', 15], ['孙', 12], ['马', 12], ['朱', 12], ['胡', 18], ['郭', 12], ['何', 25], ['高', 12],
  ['林', 8], ['罗', 28], ['郑', 10], ['梁', 10], ['谢', 15], ['宋', 10], ['唐', 22], ['许', 8], ['韩', 6],
  ['冯', 10], ['邓', 20], ['曹', 8], ['彭', 15], ['曾', 15], ['肖', 15], ['田', 10], ['董', 6], ['袁', 10],
  ['潘', 6], ['蒋', 12], ['蔡', 6], ['余', 15], ['杜', 10], ['叶', 6], ['程', 6], ['魏', 6], ['吕', 5],
  ['丁', 5], ['任', 8], ['沈', 4], ['姚', 5], ['卢', 6], ['钟', 8], ['谭', 12], ['陆', 4], ['范', 5],
  ['石', 6], ['廖', 12], ['贾', 3], ['付', 8], ['方', 4], ['邹', 6], ['熊', 8], ['秦', 5], ['江', 6],
  ['雷', 6], ['龙', 6], ['黎', 5], ['贺', 5], ['龚', 5], ['向', 8], ['汤', 4], ['况', 3], ['母', 2],
  ['冉', 4], ['代', 4], ['税', 1], ['敖', 2], ['游', 4], ['舒', 3], ['文', 5], ['蒲', 3],
];

const GIVEN_1 = '建国华明平军伟芳英秀兰玉红丽强勇刚德福成洪文志国家永春桂珍琼淑凤云雪梅光荣远福禄寿安泽林杰涛波斌'.split('');
const GIVEN_2 = '华明平军伟芳英兰玉红丽强勇刚德成富贵清元辉云霞燕萍敏静超鹏宇浩然琴洁东西南北川渝兵才忠孝全秀'.split('');

export function personName(rng: Rng): string {
  const s = rng.weighted(SURNAMES);
  return rng.chance(0.72) ? s + rng.pick(GIVEN_1) + rng.pick(GIVEN_2) : s + rng.pick(GIVEN_2);
}

const COMPANY_WORDS = '鑫源 恒达 永盛 吉祥 宏发 兴旺 瑞丰 金鼎 天成 华宇 川渝 汇通 德润 顺达 福瑞 长江 巴渝 金穗 众诚 博远'.split(' ');
const COMPANY_KINDS = ['实业有限公司', '建材有限公司', '机械制造有限公司', '农业开发有限公司', '食品有限公司', '商贸有限公司', '房地产开发有限公司', '陶瓷有限公司'];

export function companyName(rng: Rng, district = '重庆'): string {
  return `${district}${rng.pick(COMPANY_WORDS)}${rng.pick(COMPANY_KINDS)}`;
}

/** Village-name stems; '村' or '社区' is appended. The first ones are the town-scale Ji'an villages. */
export const VILLAGE_STEMS = [
  '大土', '五星', '双竹', '石龙', '龙凤', '金龙', '黄桷', '青杠', '新华', '红旗', '永兴', '白鹤', '三元', '太平',
  '高峰', '松林', '团结', '光明', '长岭', '桂花', '楠木', '柏林', '石桥', '响水', '凤凰', '观音', '莲花', '板桥',
  '茶店', '大河', '双河', '三合', '四方', '六合', '九龙', '白云', '天星', '马鞍', '狮子', '老鹰', '铁山', '黄泥',
  '沙坝', '水井', '竹林', '枇杷', '杨家', '何家', '陈家', '张家', '谭家', '罗家', '青龙', '玉屏', '万寿', '石梯',
  '碑坝', '花果', '朝阳', '兴隆', '复兴', '和平', '黄瓜山', '大石', '田坝', '新店', '关口', '桥湾', '塘湾', '坪上',
];
export const COMMUNITY_STEMS = ['吉安', '吉兴', '兴安', '安康', '新城', '南街', '北街', '河滨', '广场', '正街'];

export const COMPOUND_NAMES = [
  '吉安花园', '吉祥苑', '安居小区', '龙凤佳园', '锦绣家园', '阳光花园', '翠湖名居', '滨河小区', '兴隆嘉苑', '和谐家园',
  '吉安新城', '康居小区', '枫林雅苑', '怡景苑', '金桂苑', '书香名邸', '丽景华庭', '御景湾', '望江苑', '福星小区',
];

export const SCHOOLS: readonly (readonly [string, string])[] = [
  ['吉安镇中心小学', '小学'],
  ['永川区吉安中学', '初级中学'],
  ['吉安镇中心幼儿园', '幼儿园'],
  ['吉安镇大土小学', '小学'],
  ['吉安镇五星幼儿园', '幼儿园'],
  ['吉安镇成人文化技术学校', '职业学校'],
  ['吉安镇双竹小学', '小学'],
  ['吉安镇龙凤幼儿园', '幼儿园'],
];

export const PARK_NAMES = ['吉安广场', '滨河公园', '吉安大道街头绿地', '文化公园', '健身广场', '龙凤湖公园', '游园', '口袋公园'];

/** Towns of the synthetic district (Yongchuan-like). 吉安镇 is first; codes are invented. */
export const TOWNS: readonly (readonly [string, string, string])[] = [
  // name, 9-digit town code, avenue name
  ['吉安镇', '500118109', '吉安大道'],
  ['仙龙镇', '500118101', '仙龙大道'],
  ['来苏镇', '500118102', '来苏大道'],
  ['宝峰镇', '500118103', '宝峰大道'],
  ['双石镇', '500118104', '双石大道'],
  ['临江镇', '500118105', '临江大道'],
  ['何埂镇', '500118106', '何埂大道'],
  ['板桥镇', '500118107', '板桥大道'],
  ['三教镇', '500118108', '三教大道'],
  ['金龙镇', '500118110', '金龙大道'],
  ['朱沱镇', '500118111', '朱沱大道'],
  ['松溉镇', '500118112', '松溉大道'],
  ['五间镇', '500118113', '五间大道'],
  ['青峰镇', '500118114', '青峰大道'],
  ['红炉镇', '500118115', '红炉大道'],
  ['大安街道', '500118116', '大安大道'],
];

/**
 * The town at a position of the synthetic area: the 16 named towns of the district first, then, for the
 * large scale (16 × 10 towns, the scale curve), invented towns named from the village stems with
 * invented codes 500118200… so that every town and village code stays unique.
 */
export function townAt(index: number): readonly [string, string, string] {
  if (index < TOWNS.length) return TOWNS[index];
  const k = index - TOWNS.length;
  const stem = VILLAGE_STEMS[k % VILLAGE_STEMS.length];
  const round = ['', '东', '西', '南', '北', '中'][Math.floor(k / VILLAGE_STEMS.length)] ?? String(Math.floor(k / VILLAGE_STEMS.length));
  return [`${stem}${round}镇`, `500118${String(200 + k).padStart(3, '0')}`, `${stem}${round}大道`];
}

/** Remarks of the survey layer (备注), mostly empty. */
export const SURVEY_REMARKS = ['', '', '', '', '', '', '', '疑似加层', '新建彩钢棚', '已动工', '影像模糊', '与2019年影像对比新增', '疑似农业设施'];
