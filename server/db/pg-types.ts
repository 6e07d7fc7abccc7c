/**
 * Both drivers must hand back the same JavaScript values. Our ids (bigint) stay far below 2^53 and numeric
 * columns are areas/shares, so parse int8 and numeric to numbers instead of strings.
 */
export const INT8_OID = 20;
export const NUMERIC_OID = 1700;
export const toNumber = (v: string) => Number(v);
