/** The part of lunar-javascript (MIT, no dependencies, no types of its own) that workdays.ts uses. */
declare module 'lunar-javascript' {
  export class Solar {
    static fromYmd(year: number, month: number, day: number): Solar;
    getYear(): number;
    getMonth(): number;
    getDay(): number;
    next(days: number): Solar;
    toYmd(): string;
    getLunar(): Lunar;
  }
  export class Lunar {
    static fromYmd(lunarYear: number, lunarMonth: number, lunarDay: number): Lunar;
    getSolar(): Solar;
    getJieQiTable(): Record<string, Solar>;
  }
}
